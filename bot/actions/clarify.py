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
        return [SlotSet("clarify_options", names)]


class ActionFallback(KefuAction):
    """Could not answer: say so, and count it (the handoff rules watch the count)."""

    action_name = "action_fallback"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        intent = say.brain.library.intent("fallback")
        if intent is not None:
            say.utter(intent.replies, intent.quick_replies)
        else:
            say.system("fallback")
        return [SlotSet("unanswered", int(tracker.get_slot("unanswered") or 0) + 1),
                SlotSet("clarify_options", None)]
