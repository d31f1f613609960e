"""Refund and logistics: both need the order, so both ask for it until they have it."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.actions.base import Events, KefuAction, Say


class _NeedsOrder(KefuAction):
    """Answer the topic first (the replies invite the order number); ask for the order when
    the shopper goes on without one; acknowledge it when it comes."""

    dialog = ""

    async def act(self, say: Say, tracker: Tracker) -> Events:
        found = say.found()
        order_id = found.get("order_id") or tracker.get_slot("order_id")
        events: Events = [SlotSet("unanswered", 0)]
        if order_id:
            if "order_id" in found:
                events.append(SlotSet("order_id", str(order_id)))
            say.prompt("with_order", order_id=str(order_id))
            return [*events, SlotSet("active_dialog", None)]
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
