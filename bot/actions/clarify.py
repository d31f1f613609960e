"""When the bot is unsure: ask one short question, or admit it did not understand."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.actions.base import Events, KefuAction, Say

#: Intents never offered as a clarify option: choosing them teaches the shopper nothing.
NOT_AN_OPTION = frozenset({"fallback", "thanks", "goodbye", "greeting"})


class ActionClarify(KefuAction):
    """Offer the two or three likeliest intents as quick replies; the engine uses the answer."""

    action_name = "action_clarify"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        ranking = tracker.latest_message.get("intent_ranking") or []
        names = [r["name"] for r in ranking if r.get("name") not in NOT_AN_OPTION][:3]
        library = say.brain.library
        names = [n for n in names if library.intent(n)]
        if len(names) < 2:
            return await ActionFallback(self.brains).act(say, tracker)
        titles = [library.title(n) for n in names]
        say.system("clarify", titles, options=titles)
        # Counted as unanswered until the shopper picks: a second unplaceable line in a
        # row is offered a person (KEFU_UNANSWERED_HANDOFF).
        return [SlotSet("clarify_options", names), _one_more_unanswered(tracker)]


class ActionSuggest(KefuAction):
    """猜你想问: two or three near topics' standard questions as quick replies."""

    action_name = "action_suggest"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        metadata = tracker.latest_message.get("metadata") or {}
        library = say.brain.library
        offered = [t for t in metadata.get("suggested") or [] if library.topic(t)]
        if len(offered) < 2:
            return await ActionClarify(self.brains).act(say, tracker)
        questions = [library.topics[t][1].question for t in offered]
        say.system("suggest", questions, options=questions)
        return [SlotSet("suggested", offered), _one_more_unanswered(tracker)]


def _one_more_unanswered(tracker: Tracker) -> dict[str, object]:
    return SlotSet("unanswered", int(tracker.get_slot("unanswered") or 0) + 1)


class ActionFallback(KefuAction):
    """Could not answer: say so, and count it (the handoff rules watch the count)."""

    action_name = "action_fallback"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        intent = say.brain.library.intent("fallback")
        if intent is not None:
            say.utter(intent.replies, intent.quick_replies)
        else:
            say.system("fallback")
        return [_one_more_unanswered(tracker), SlotSet("clarify_options", None),
                SlotSet("topic", None)]
