"""The sizing dialogue: collect height, weight and fit over several turns, then advise.

Slots remember what the shopper already said, so a height one turn and a weight the next
works; measurements outside the chart hand the chat to a human instead of guessing.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet

from bot.actions.base import Events, KefuAction, Say
from intents.preferences import bare_number, detect_fit
from scripts_zh.size_charts import SizeChart, advise, alt_fit, pick_chart, settle

HEIGHT_CM = (120.0, 220.0)
#: A bare weight under this is kilograms (65 means 130 jin); at or over it, jin.
KG_LIMIT = 90.0
JIN_LIMIT = 400.0
JIN_PER_KG = 2.0


class ActionSizing(KefuAction):
    action_name = "action_sizing"
    owner = "sizing"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        text = say.normalized
        found = say.found()
        if not {"height", "weight"} & found.keys():
            # A sizing question of its own ("偏大还是偏小"): its answer, and the advisor
            # stays open for the measurements it invites.
            answered = say.answer_topic()
            if answered is not None:
                return [*answered, SlotSet("active_dialog", "sizing")]
        events: Events = [SlotSet("unanswered", 0), SlotSet("clarify_options", None)]
        self._answer_to_question(found, text, tracker)
        values: dict[str, Any] = {}
        for slot in ("height", "weight"):
            value = found.get(slot, tracker.get_slot(slot))
            if slot in found:
                events.append(SlotSet(slot, found[slot]))
            values[slot] = value
        fit = detect_fit(text) or tracker.get_slot("fit")
        if fit and fit != tracker.get_slot("fit"):
            events.append(SlotSet("fit", fit))
        chart = self._chart(say, tracker, text)
        if chart is None:
            say.utter(say.intent.replies if say.intent else [])
            return events
        if chart.name != tracker.get_slot("size_chart"):
            events.append(SlotSet("size_chart", chart.name))

        height, weight = values["height"], values["weight"]
        if height is None or weight is None:
            key = "ask_both" if height is None and weight is None else (
                "ask_height" if height is None else "ask_weight")
            say.prompt(key, chart_title=chart.title)
            return [*events, SlotSet("active_dialog", "sizing")]
        if fit is None and not tracker.get_slot("fit_asked"):
            say.prompt("ask_fit", buttons=self._fit_buttons(say), height=height, weight=weight)
            return [*events, SlotSet("fit_asked", True), SlotSet("active_dialog", "sizing")]

        advice = settle(chart, advise(chart, height_cm=float(height), weight_jin=float(weight),
                                      fit=fit), fit)
        size, alt_size, status = advice.size, advice.alt_size, advice.status
        reason = self._reason(say, advice.reason_key)
        common = {"height": _num(height), "weight": _num(weight), "size": size,
                  "alt_size": alt_size, "fit": fit, "alt_fit": alt_fit(chart, advice),
                  "reason": reason, "chart_title": chart.title}
        events += [SlotSet("active_dialog", None), SlotSet("fit_asked", None)]
        if status == "out_of_chart":
            say.prompt("out_of_chart", **common)
            return [*events, SlotSet("handoff_reason", "sizing_out_of_chart"),
                    ConversationPaused()]
        say.prompt("borderline" if status == "borderline" else "advice", **common)
        return [*events, SlotSet("size", size)]

    @staticmethod
    def _answer_to_question(found: dict[str, Any], text: str, tracker: Tracker) -> None:
        """Read a bare number ("I'm 170", "65") as the measurement the bot asked for."""
        if "height" in found or "weight" in found:
            return
        number = bare_number(text)
        if number is None:
            return
        if tracker.get_slot("height") is None and HEIGHT_CM[0] <= number <= HEIGHT_CM[1]:
            found["height"] = _num(number)
        elif tracker.get_slot("weight") is None and number < KG_LIMIT:
            found["weight"] = _num(number * JIN_PER_KG)
        elif tracker.get_slot("weight") is None and number <= JIN_LIMIT:
            found["weight"] = _num(number)

    @staticmethod
    def _chart(say: Say, tracker: Tracker, text: str) -> SizeChart | None:
        charts = say.brain.library.size_charts
        if not charts:
            return None
        current = tracker.get_slot("size_chart")
        picked = pick_chart(charts, text, default=current if current in charts else "men_tops")
        if current in charts and picked.name != current and not _mentions_product(picked, text):
            return charts[current]
        return picked

    @staticmethod
    def _reason(say: Say, key: str) -> str:
        intent = say.intent
        variants = intent.prompts.get(f"reason_{key}") if intent else None
        return say.text(variants) if variants else ""

    @staticmethod
    def _fit_buttons(say: Say) -> list[str]:
        intent = say.intent
        return list(intent.prompts.get("fit_options", [])) if intent else []


def _mentions_product(chart: SizeChart, text: str) -> bool:
    return any(word in text for word in chart.product_words())


def _num(value: Any) -> Any:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 1)
