"""The conversation engine: message in → normalise → classify → run an action → replies out.

Actions are rasa-sdk Actions run in-process through rasa_sdk's ActionExecutor with the same
JSON a Rasa server would post to an action server; the engine applies the events they return
(SlotSet, ConversationPaused, ConversationResumed) to the conversation's state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rasa_sdk

from bot.actions import build_executor
from bot.brain import Brain, BrainHolder
from bot.editor import hits
from bot.storage import (
    ConversationState,
    ConversationStore,
    Held,
    StoreUnavailable,
    TranscriptEntry,
)
from bot.turn import Incoming, Reply, Turn
from config import Settings
from config.hours import HoursStatus, status_at
from intents.classifier import Prediction
from intents.entities import Entity, extract, mask_pii
from intents.normalize import normalize
from intents.preferences import bare_number, detect_fit
from intents.sentiment import ANGRY, score
from scripts_zh.renderer import pick, render

log = logging.getLogger(__name__)

#: Slots each multi-turn dialogue can use from a line that is not itself about the topic.
DIALOG_SLOTS: dict[str, frozenset[str]] = {
    "sizing": frozenset({"height", "weight", "fit"}),
    "refund": frozenset({"order_id"}),
    "logistics": frozenset({"order_id"}),
}
DIALOG_ACTIONS = {"sizing": "action_sizing", "refund": "action_refund",
                  "logistics": "action_logistics"}
#: Entities that only a sizing question carries; they route a line to sizing.
MEASUREMENTS = frozenset({"height", "weight", "shoe_size", "foot_length"})
#: Intents where a measurement is context, not a sizing question (trousers too short, return).
AFTER_SALE = frozenset({"refund", "complaint", "logistics", "human"})
#: Slots that are the engine's bookkeeping rather than facts about the shopper.
INTERNAL_SLOTS = frozenset({"turn", "traditional", "anger", "handoff_on_anger"})
#: Recent transcript lines read with the state; the shopper's among them feed the anger score.
HISTORY = 20

PauseHook = Callable[[str, ConversationState, "Turn"], Awaitable[list[Reply]]]
RelayHook = Callable[[str, ConversationState, Incoming], Awaitable[list[Reply]]]
ClosedHook = Callable[[str, ConversationState, str], Awaitable[list[Reply] | None]]


@dataclass(frozen=True)
class Route:
    """Which action answers a message, and the intent it answers."""

    action: str
    intent: str | None
    confidence: float | None


class Engine:
    """Channel-independent; channels call :meth:`handle` and deliver the replies."""

    def __init__(self, settings: Settings, brains: BrainHolder, store: ConversationStore,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.brains = brains
        self.store = store
        self.clock = clock
        self.executor = build_executor(brains)
        self.on_pause: PauseHook | None = None
        self.on_paused_message: RelayHook | None = None
        self.on_closed_message: ClosedHook | None = None
        self.is_busy: Callable[[], Awaitable[bool]] | None = None
        #: Business hours change at most once a minute; computing them costs more than that.
        self._hours_cache: tuple[int, HoursStatus] | None = None

    # -- public API ------------------------------------------------------------------------

    async def welcome(self, channel: str, chat_id: str, display_name: str = "") -> list[Reply]:
        """The welcome for a newly opened chat (web page load, Telegram /start)."""
        msg = Incoming(channel=channel, chat_id=chat_id, display_name=display_name)
        brain = self.brains.current
        try:
            async with self.store.lock(msg.key):
                state = await self._state(msg)
                replies = [self._system(brain, "welcome", state)]
                state.welcomed = True
                await self.store.save(msg.key, state)
                await self._log(msg.key, [TranscriptEntry("bot", mask_pii(r.text), self.clock())
                                          for r in replies])
                return replies
        except StoreUnavailable:
            log.warning("store unavailable while welcoming %s", msg.key)
            return [self._system(brain, "welcome", ConversationState())]

    async def handle(self, msg: Incoming) -> Turn:
        """Answer one shopper message. Never raises: failures become the library's error text."""
        brain = self.brains.current
        try:
            async with self.store.hold(msg.key, last=HISTORY) as held:
                return await self._handle(brain, msg, held)
        except StoreUnavailable as exc:
            log.error("store unavailable for %s: %s", msg.key, exc)
        except Exception:
            log.exception("failed to handle a message in %s", msg.key)
        reply = self._system(brain, "error", ConversationState())
        return Turn(text=msg.text[:200], replies=[reply], status="bot", action="error")

    # -- one message ---------------------------------------------------------------------

    async def _handle(self, brain: Brain, msg: Incoming, held: Held) -> Turn:
        now = self.clock()
        recent = held.history
        state = self._state_of(held.state, msg)
        guard = self._guard(msg)
        if state.status in ("waiting", "agent"):
            await self._log(msg.key, [TranscriptEntry("shopper", mask_pii(msg.text[:2000]) or
                                                      f"[{msg.kind}]", now)])
            replies = (await self.on_paused_message(msg.key, state, msg)
                       if self.on_paused_message else [])
            state.updated_at = now
            await self.store.save(msg.key, state)
            return Turn(text=msg.text, replies=replies, status=state.status, action="relay")
        if guard is not None:
            turn = Turn(text=msg.text[:200], replies=[self._system(brain, guard, state)],
                        status=state.status, action=guard)
            shown = f"[{msg.kind}]" if msg.kind != "text" else mask_pii(msg.text[:200])
            await self._log(msg.key, [TranscriptEntry("shopper", shown, now),
                                      *[TranscriptEntry("bot", mask_pii(r.text), now)
                                        for r in turn.replies]])
            return turn
        if state.status == "closed":
            answered = (await self.on_closed_message(msg.key, state, msg.text)
                        if self.on_closed_message else None)
            if answered is not None:
                state.updated_at = now
                await self.store.save(msg.key, state)
                await self._log(msg.key, [TranscriptEntry("shopper", mask_pii(msg.text[:200]), now),
                                          *[TranscriptEntry("bot", mask_pii(r.text), now)
                                            for r in answered]])
                return Turn(text=msg.text, replies=answered, status=state.status,
                            action="rating")
            state = self._reopen(state)

        norm = normalize(msg.text)
        if norm.traditional or any("\u4e00" <= ch <= "\u9fff" for ch in norm.text):
            state.traditional = norm.traditional
        prediction = brain.classifier.predict(norm.text)
        entities = extract(norm.text)
        history = [e.text for e in recent if e.role == "shopper"]
        anger = score(msg.text, history).anger
        route = self._route(brain, state, norm.text, prediction, entities, anger)
        hits.route_chosen(self, route.intent, route.action)
        state.turn += 1
        state.updated_at = now
        tracker = self._tracker(msg, state, norm.text, route, prediction, entities, anger)
        with self.brains.pinned(brain):
            result = await self.executor.run({
                "next_action": route.action, "sender_id": msg.key, "tracker": tracker,
                "domain": self._domain(brain), "version": rasa_sdk.__version__,
            })
        events = result.events if result else []
        replies = [Reply(str(r["text"]), tuple(b["title"] for b in r.get("buttons") or []))
                   for r in (result.responses if result else []) if r.get("text")]
        paused = self._apply(state, events)
        state.slots["anger"] = round(anger, 3)
        notice = self._hours_notice(brain, state, now)
        if notice is not None:
            replies.insert(0, notice[1])
        turn = Turn(text=msg.text, intent=route.intent, confidence=route.confidence,
                    ranking=[{"intent": s.intent, "confidence": round(s.confidence, 4)}
                             for s in prediction.ranking[:3]],
                    replies=replies, status=state.status, action=route.action,
                    anger=round(anger, 3), auto_reply=notice[0] if notice else None)
        entries = [
            TranscriptEntry("shopper", mask_pii(msg.text), now, route.intent,
                            None if route.confidence is None else round(route.confidence, 3)),
            *[TranscriptEntry("bot", mask_pii(r.text), now) for r in replies],
        ]
        if paused:
            # The handoff logs its own lines after these: write them first.
            await self._log(msg.key, entries)
            state.status = "waiting"
            if self.on_pause:
                turn.replies += await self.on_pause(msg.key, state, turn)
        turn.status = state.status
        turn.slots = {k: v for k, v in state.slots.items()
                      if v is not None and k not in INTERNAL_SLOTS}
        if paused:
            await self.store.save(msg.key, state)
        else:
            await held.commit(state, entries, cap=self.settings.transcript_cap)
        return turn

    def _hours_notice(self, brain: Brain, state: ConversationState,
                      now: float) -> tuple[str, Reply] | None:
        """The off-hours or break text, once per closed period (episode) per conversation."""
        minute = int(now // 60)
        if self._hours_cache is None or self._hours_cache[0] != minute:
            when = datetime.fromtimestamp(minute * 60, UTC)
            self._hours_cache = (minute, status_at(self.settings.hours, when, self.settings.tz))
        status = self._hours_cache[1]
        if status.state == "open" or status.episode is None or status.text_key is None:
            if state.auto_reply_episode and not state.auto_reply_episode.startswith("busy"):
                state.auto_reply_episode = None
            return None
        if state.auto_reply_episode == status.episode:
            return None
        state.auto_reply_episode = status.episode
        opens = status.opens_at.strftime("%H:%M") if status.opens_at else ""
        return status.state, self._system(brain, status.text_key, state, opens_at=opens)

    def _guard(self, msg: Incoming) -> str | None:
        """Input the classifier should never see: non-text, empty, or too long."""
        if msg.kind != "text":
            return "input_unsupported"
        if not msg.text or not msg.text.strip():
            return "input_empty"
        if len(msg.text) > self.settings.max_message_chars:
            return "input_too_long"
        return None

    def _route(self, brain: Brain, state: ConversationState, text: str,
               prediction: Prediction, entities: list[Entity], anger: float) -> Route:
        library = brain.library
        threshold = self.settings.classifier_threshold
        top = prediction.ranking[0]
        chosen = self._clarify_answer(brain, state, text, entities)
        if chosen:
            state.slots.pop("clarify_options", None)
            return Route(library.intents[chosen].action, chosen, 1.0)
        state.slots.pop("clarify_options", None)

        dialog = state.slots.get("active_dialog")
        if dialog in DIALOG_SLOTS:
            gives = {e.kind for e in entities} | ({"fit"} if detect_fit(text) else set())
            if dialog == "sizing" and bare_number(text) is not None:
                gives.add("height")
            if (gives & DIALOG_SLOTS[dialog]) or top.intent == dialog:
                return Route(DIALOG_ACTIONS[dialog], dialog, top.confidence)
            state.slots.pop("active_dialog", None)

        kinds = {e.kind for e in entities}
        if kinds & MEASUREMENTS and top.intent not in AFTER_SALE and "sizing" in library.intents:
            return Route("action_sizing", "sizing", top.confidence)
        limit = self.settings.unanswered_handoff
        if limit and int(state.slots.get("unanswered") or 0) >= limit:
            state.slots["handoff_reason"] = "unanswered"
            return Route("action_handoff", top.intent, top.confidence)
        angry_complaint = top.intent == "complaint" and anger >= ANGRY
        # A confident, angry complaint goes to the complaint action, whose own rules hand
        # off with the reason "anger"; otherwise a manager's handoff keyword decides.
        if not (angry_complaint and top.confidence >= threshold) and any(
                word and word in text for word in library.system.get("handoff_keywords", ())):
            state.slots["handoff_reason"] = "keyword"
            return Route("action_handoff", top.intent, top.confidence)
        if angry_complaint:
            # The anger score backs a hesitant classifier up: an angry shopper gets the
            # complaint path, never a "which of these did you mean" question.
            return Route(library.intents["complaint"].action, "complaint", top.confidence)
        if top.confidence < threshold:
            return Route("action_clarify", top.intent, top.confidence)
        second = prediction.ranking[1] if len(prediction.ranking) > 1 else None
        if (second is not None and top.confidence - second.confidence < self.settings.clarify_margin
                and top.intent in library.intents and second.intent in library.intents
                and "fallback" not in (top.intent, second.intent)):
            return Route("action_clarify", top.intent, top.confidence)
        found = library.intent(top.intent)
        return Route(found.action if found else "action_fallback", top.intent, top.confidence)

    @staticmethod
    def _clarify_answer(brain: Brain, state: ConversationState, text: str,
                        entities: list[Entity]) -> str | None:
        """The option the shopper picked after a clarifying question (by title or number)."""
        options = state.slots.get("clarify_options") or []
        if not options:
            return None
        if "sizing" in options and ({e.kind for e in entities} & MEASUREMENTS
                                    or bare_number(text) is not None):
            return "sizing"
        stripped = text.strip(" .。!！")
        if stripped.isdigit() and 1 <= int(stripped) <= len(options):
            return str(options[int(stripped) - 1])
        for name in options:
            intent = brain.library.intent(name)
            if intent and (stripped == intent.title or intent.title in text):
                return str(name)
        return None

    def _tracker(self, msg: Incoming, state: ConversationState, text: str, route: Route,
                 prediction: Prediction, entities: list[Entity], anger: float) -> dict[str, Any]:
        slots = {**state.slots, "turn": state.turn, "traditional": state.traditional,
                 "anger": anger, "handoff_on_anger": self.settings.handoff_on_anger}
        intent = {"name": route.intent, "confidence": route.confidence}
        return {
            "sender_id": msg.key,
            "slots": slots,
            "latest_message": {
                "text": msg.text,
                "intent": intent,
                "intent_ranking": [{"name": s.intent, "confidence": s.confidence}
                                   for s in prediction.ranking[:5]],
                "entities": [{"entity": e.kind, "value": e.value, "start": e.start, "end": e.end}
                             for e in entities],
                "metadata": {"display_name": msg.display_name, "channel": msg.channel,
                             "normalized": text},
            },
            "events": [],
            "paused": state.status != "bot",
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": msg.channel,
        }

    @staticmethod
    def _domain(brain: Brain) -> dict[str, Any]:
        return {"intents": sorted(brain.library.intents), "entities": [], "slots": {},
                "responses": {}, "actions": []}

    @staticmethod
    def _apply(state: ConversationState, events: list[dict[str, Any]]) -> bool:
        """Apply Rasa events to the state; True when the conversation was paused."""
        paused = False
        for event in events:
            kind = event.get("event")
            if kind == "slot":
                name = str(event.get("name"))
                if event.get("value") is None:
                    state.slots.pop(name, None)
                else:
                    state.slots[name] = event["value"]
            elif kind == "pause":
                paused = True
            elif kind == "resume":
                paused = False
                state.status = "bot"
        return paused

    # -- helpers -------------------------------------------------------------------------

    async def _state(self, msg: Incoming) -> ConversationState:
        return self._state_of(await self.store.load(msg.key), msg)

    def _state_of(self, state: ConversationState | None, msg: Incoming) -> ConversationState:
        """The saved state, or a new one for a conversation never seen."""
        if state is None:
            now = self.clock()
            state = ConversationState(channel=msg.channel, chat_id=msg.chat_id,
                                      display_name=msg.display_name, started_at=now,
                                      updated_at=now)
        elif msg.display_name:
            state.display_name = msg.display_name
        return state

    @staticmethod
    def _reopen(state: ConversationState) -> ConversationState:
        """A shopper who writes after close starts a new bot conversation."""
        return ConversationState(channel=state.channel, chat_id=state.chat_id,
                                 display_name=state.display_name, traditional=state.traditional,
                                 welcomed=True, started_at=state.updated_at,
                                 updated_at=state.updated_at)

    async def _log(self, key: str, entries: list[TranscriptEntry]) -> None:
        await self.store.append(key, entries, cap=self.settings.transcript_cap)

    def _system(self, brain: Brain, key: str, state: ConversationState, **extra: Any) -> Reply:
        return system_reply(brain, key, state, **extra)


def system_reply(brain: Brain, key: str, state: ConversationState, **extra: Any) -> Reply:
    """Render one system text for a conversation (its script, its turn's variant)."""
    variants = brain.library.system.get(key) or brain.library.system.get("error") or [""]
    context = {"shop_name": brain.shop_name, "customer_name": state.display_name,
               "slots": state.slots, **extra}
    try:
        text = render(pick(variants, state.turn), context, traditional=state.traditional)
    except Exception:
        log.exception("system text %s failed to render", key)
        text = render(variants[0], {"shop_name": brain.shop_name})
    return Reply(text)
