"""Refund and logistics: the question asked is answered; what needs the order is asked for,
and an order number goes to a person (the bot cannot look orders up yet, and never says it
did)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet

from bot.actions.base import Events, KefuAction, Say


class _NeedsOrder(KefuAction):
    """Answer the question asked (a topic) or the intent's reply, which invites the order
    number; ask for the order when the shopper goes on without one; when it comes, say so
    and hand the chat with it to a person."""

    dialog = ""

    async def act(self, say: Say, tracker: Tracker) -> Events:
        found = say.found()
        events: Events = [SlotSet("unanswered", 0)]
        order_id = found.get("order_id")
        if order_id is None and say.topic is None:
            order_id = tracker.get_slot("order_id")
        if order_id:
            if "order_id" in found:
                events.append(SlotSet("order_id", str(order_id)))
            say.prompt("with_order", order_id=str(order_id))
            return [*events, SlotSet("active_dialog", None),
                    SlotSet("handoff_reason", "order_followup"), ConversationPaused()]
        answered = say.answer_topic()
        if answered is not None:
            return [*answered, SlotSet("active_dialog", self.dialog)]
        if tracker.get_slot("active_dialog") != self.dialog and say.intent:
            say.utter(say.intent.replies, say.intent.quick_replies)
        else:
            say.prompt("ask_order")
        return [*events, SlotSet("active_dialog", self.dialog)]


class ActionRefund(_NeedsOrder):
    action_name = "action_refund"
    owner = "refund"
    dialog = "refund"


class ActionLogistics(_NeedsOrder):
    action_name = "action_logistics"
    owner = "logistics"
    dialog = "logistics"
