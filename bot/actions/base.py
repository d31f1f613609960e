"""What every kefu action shares: the current library, rendering and script choice."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.brain import Brain, BrainHolder
from intents.entities import extract, slots_from
from intents.normalize import is_traditional, normalize
from scripts_zh.models import Intent, Topic
from scripts_zh.renderer import pick, render

log = logging.getLogger(__name__)

DomainDict = dict[str, Any]
Events = list[dict[str, Any]]


class KefuAction(Action):
    """Base class: subclasses set ``action_name`` and implement ``act``."""

    action_name = ""
    #: The library intent whose prompts this action uses (None: the classified intent).
    owner: str | None = None

    def __init__(self, brains: BrainHolder) -> None:
        self.brains = brains

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Events:
        return await self.act(Say(self.brains.current, dispatcher, tracker, self.owner), tracker)

    async def act(self, say: Say, tracker: Tracker) -> Events:
        raise NotImplementedError


class Say:
    """Renders library texts for one action run, in the shopper's script (Simplified or
    Traditional)."""

    def __init__(self, brain: Brain, dispatcher: CollectingDispatcher, tracker: Tracker,
                 owner: str | None = None) -> None:
        self.brain = brain
        self.owner = owner
        self.dispatcher = dispatcher
        self.tracker = tracker
        slot_trad = tracker.get_slot("traditional")
        text = tracker.latest_message.get("text") or ""
        self.traditional = bool(slot_trad) if slot_trad is not None else is_traditional(text)
        turn = tracker.get_slot("turn")
        self.seed = int(turn) if isinstance(turn, int) else len(tracker.events)
        metadata = tracker.latest_message.get("metadata") or {}
        self.customer_name = str(metadata.get("display_name") or "")

    @property
    def intent_name(self) -> str:
        return str((self.tracker.latest_message.get("intent") or {}).get("name") or "")

    @property
    def intent(self) -> Intent | None:
        return self.brain.library.intent(self.owner or self.intent_name)

    @property
    def topic(self) -> Topic | None:
        """The library topic (问题) the engine matched this line to, if any."""
        metadata = self.tracker.latest_message.get("metadata") or {}
        return self.brain.library.topic(metadata.get("topic"))

    def answer_topic(self) -> Events | None:
        """Say the matched topic's answer; the events that follow it (None: no topic).

        A topic flagged for a person (notify_agent) is answered and then handed over, so
        an agent sees it with its context.
        """
        topic = self.topic
        if topic is None:
            return None
        holder = self.brain.library.topics[topic.id][0]
        # A topic without quick replies of its own offers its intent's.
        self.utter(topic.answers, topic.quick_replies or holder.quick_replies)
        events: Events = [SlotSet("topic", topic.id), SlotSet("unanswered", 0)]
        if topic.notify_agent:
            events += [SlotSet("handoff_reason", "topic_notify"), ConversationPaused()]
        return events

    @property
    def normalized(self) -> str:
        """The line as the engine read it (normalised here when another NLU sent it)."""
        metadata = self.tracker.latest_message.get("metadata") or {}
        given = metadata.get("normalized")
        if isinstance(given, str):
            return given
        return normalize(self.tracker.latest_message.get("text") or "").text

    def found(self) -> dict[str, Any]:
        """Entity values of this message (from our NLU or Rasa's); extracted here if none came."""
        given = self.tracker.latest_message.get("entities") or []
        if given:
            return {e["entity"]: e["value"] for e in given if "entity" in e and "value" in e}
        return dict(slots_from(extract(self.normalized)))

    def context(self, extra: dict[str, Any]) -> dict[str, Any]:
        slots = {k: v for k, v in self.tracker.slots.items() if v is not None}
        return {"shop_name": self.brain.shop_name, "customer_name": self.customer_name,
                "slots": slots, **extra}

    def text(self, variants: Sequence[str], **extra: Any) -> str:
        """Render one variant; a broken template falls back to the system error text."""
        try:
            return render(pick(variants, self.seed), self.context(extra),
                          traditional=self.traditional)
        except Exception:
            log.exception("template failed to render; sending the error text instead")
            fallback = self.brain.library.system.get("error") or ["..."]
            return render(pick(fallback, 0), self.context({}), traditional=self.traditional)

    def utter(self, variants: Sequence[str], buttons: Sequence[str] = (), **extra: Any) -> None:
        """Send one reply; ``buttons`` are quick replies that work like typing their text."""
        text = self.text(variants, **extra)
        if not text:
            return
        shown = [render(b, self.context(extra), traditional=self.traditional) for b in buttons]
        self.dispatcher.utter_message(
            text=text, buttons=[{"title": b, "payload": b} for b in shown]
        )

    def system(self, key: str, buttons: Sequence[str] = (), **extra: Any) -> None:
        self.utter(self.brain.library.system.get(key) or self.brain.library.system["error"],
                   buttons, **extra)

    def prompt(self, key: str, buttons: Sequence[str] = (), **extra: Any) -> None:
        intent = self.intent
        variants = intent.prompts.get(key) if intent else None
        if not variants:
            self.system("error")
            return
        self.utter(variants, buttons, **extra)
