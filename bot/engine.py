"""The conversation engine: message in → normalise → classify → run an action → replies out.

Actions are rasa-sdk Actions run in-process through rasa_sdk's ActionExecutor with the same
JSON a Rasa server would post to an action server; the engine applies the events they return
(SlotSet, ConversationPaused, ConversationResumed) to the conversation's state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import rasa_sdk

from bot.actions import build_executor
from bot.brain import Brain, BrainHolder
from bot.storage import (
    CONTROL_FIELDS,
    ConversationKey,
    ConversationState,
    ConversationStore,
    Held,
    StoreUnavailable,
    TranscriptEntry,
)
from bot.turn import Incoming, Reply, Turn
from config import Settings
from config.hours import HoursStatus, status_at
from intents.entities import mask_pii
from intents.sentiment import ANGRY
from intents.topics import NEAR_DUPLICATE, TopicScore
from intents.understand import Understanding
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
#: Slots the engine gives actions each turn and never stores.
ENGINE_SLOTS = frozenset({"turn", "traditional", "handoff_on_anger"})
#: Recent transcript lines read with the state; the shopper's among them feed the anger score.
HISTORY = 20
#: Social lines: answered in kind, never with a "which topic do you mean" question.
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye"})
#: Below this a small-talk guess is not trusted either.
SMALL_TALK_FLOOR = 0.4
#: The topic classifier's probability that makes a topic the answer (on phrasings held out
#: of training: 38% of lines answered, 77% of them with the right topic, together with the
#: next rule). A line that nearly repeats a phrasing is answered whatever the probability.
TOPIC_SURE = 0.3
#: When the intent classifier is confident, a topic with this share of its intent's
#: probability is the answer.
TOPIC_AGREES = 0.5
#: Topics at least this likely are offered (猜你想问) when none is sure: two or three of
#: them held the right one 78% of the time.
SUGGEST_FLOOR = 0.08
SUGGEST_MAX = 3
#: Follow-ups ("那运费呢", "都一个星期了") are short; longer lines stand on their own.
FOLLOW_UP_CHARS = 10
#: A follow-up's topic needs this share among the last topic's intent's topics.
FOLLOW_UP_SHARE = 0.3
#: Routes that answer no question of the library: the line is an unanswered one.
UNANSWERED_ACTIONS = frozenset({"action_fallback", "action_clarify", "action_suggest"})


class HandoffPort(Protocol):
    """What the engine needs of the handoff (HandoffBridge implements it)."""

    async def on_pause(self, key: ConversationKey, state: ConversationState,
                       turn: Turn) -> list[Reply]:
        """A conversation was paused: open the ticket; the shopper's next texts."""

    async def on_paused_message(self, key: ConversationKey, state: ConversationState,
                                msg: Incoming) -> list[Reply]:
        """A line while waiting or with an agent: it goes to the ticket."""

    async def on_closed_message(self, key: ConversationKey, state: ConversationState,
                                text: str) -> list[Reply] | None:
        """A line after close: the rating, or None to start a new bot conversation."""


class RouteObserver(Protocol):
    """Told of every routed message (the library's hit counts and unanswered lines)."""

    def route_chosen(self, intent: str | None, action: str) -> None: ...

    def unanswered(self, text: str, intent: str | None, action: str, best_topic: str | None,
                   score: float) -> None:
        """A line no topic answered; ``text`` is masked (no personal data)."""


@dataclass(frozen=True)
class Route:
    """Which action answers a message, the intent it answers and the topic, if one."""

    action: str
    intent: str | None
    confidence: float | None
    topic: TopicScore | None = None
    suggested: tuple[TopicScore, ...] = ()


class Engine:
    """Channel-independent; channels call :meth:`handle` and deliver the replies."""

    def __init__(self, settings: Settings, brains: BrainHolder, store: ConversationStore,
                 *, handoff: HandoffPort | None = None, observer: RouteObserver | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.brains = brains
        self.store = store
        self.handoff = handoff
        self.observer = observer
        self.clock = clock
        self.executor = build_executor(brains)
        #: Business hours change at most once a minute; computing them costs more than that.
        self._hours_cache: tuple[int, HoursStatus] | None = None

    # -- public API ------------------------------------------------------------------------

    async def welcome(self, channel: str, chat_id: str, display_name: str = "") -> list[Reply]:
        """The welcome for a newly opened chat (web page load, Telegram /start)."""
        msg = Incoming(channel=channel, chat_id=chat_id, display_name=display_name)
        brain = self.brains.current
        key = str(msg.key)
        try:
            async with self.store.lock(key):
                state = self._state_of(await self.store.load(key), msg)
                replies = [self._system(brain, "welcome", state)]
                state.welcomed = True
                await self.store.save(key, state)
                await self._log(key, [TranscriptEntry("bot", mask_pii(r.text), self.clock())
                                      for r in replies])
                return replies
        except StoreUnavailable:
            log.warning("store unavailable while welcoming %s", mask_pii(key))
            return [self._system(brain, "welcome", ConversationState())]

    async def handle(self, msg: Incoming) -> Turn:
        """Answer one shopper message. Never raises: failures become the library's error text."""
        brain = self.brains.current
        key = str(msg.key)
        try:
            async with self.store.hold(key, last=HISTORY) as held:
                return await self._handle(brain, msg, held)
        except StoreUnavailable as exc:
            log.error("store unavailable for %s: %s", mask_pii(key), exc)
        except Exception:
            log.exception("failed to handle a message in %s", mask_pii(key))
        reply = self._system(brain, "error", ConversationState())
        return Turn(text=msg.text[:200], replies=[reply], status="bot", action="error")

    # -- one message ---------------------------------------------------------------------

    async def _handle(self, brain: Brain, msg: Incoming, held: Held) -> Turn:
        now = self.clock()
        key = held.key
        state = self._state_of(held.state, msg)
        guard = self._guard(msg)
        if state.status in ("waiting", "agent") and guard != "input_too_long":
            await self._log(key, [TranscriptEntry("shopper", mask_pii(msg.text[:2000]) or
                                                  f"[{msg.kind}]", now)])
            replies = (await self.handoff.on_paused_message(msg.key, state, msg)
                       if self.handoff else [])
            state.updated_at = now
            await self.store.save(key, state)
            return Turn(text=msg.text, replies=replies, status=state.status, action="relay")
        if guard is not None:
            turn = Turn(text=msg.text[:200], replies=[self._system(brain, guard, state)],
                        status=state.status, action=guard)
            shown = f"[{msg.kind}]" if msg.kind != "text" else mask_pii(msg.text[:200])
            await self._log(key, [TranscriptEntry("shopper", shown, now),
                                  *[TranscriptEntry("bot", mask_pii(r.text), now)
                                    for r in turn.replies]])
            return turn
        if state.status == "closed":
            answered = (await self.handoff.on_closed_message(msg.key, state, msg.text)
                        if self.handoff else None)
            if answered is not None:
                state.updated_at = now
                await self.store.save(key, state)
                await self._log(key, [TranscriptEntry("shopper", mask_pii(msg.text[:200]), now),
                                      *[TranscriptEntry("bot", mask_pii(r.text), now)
                                        for r in answered]])
                return Turn(text=msg.text, replies=answered, status=state.status,
                            action="rating")
            state = self._reopen(state)

        u = brain.reader.understand(msg.text, [e.text for e in held.history
                                               if e.role == "shopper"])
        if u.chinese:
            state.traditional = u.traditional
        picking = bool(state.control.clarify_options or state.control.suggested)
        route = self._route(brain, state, u)
        if self.observer is not None:
            self.observer.route_chosen(route.intent, route.action)
            if unanswered(route, u, picking):
                best = u.topics[0] if u.topics else None
                self.observer.unanswered(u.masked, route.intent, route.action,
                                         best.topic if best else None,
                                         best.score if best else 0.0)
        state.turn += 1
        state.updated_at = now
        tracker = self._tracker(msg, state, u, route)
        with self.brains.pinned(brain):
            result = await self.executor.run({
                "next_action": route.action, "sender_id": key, "tracker": tracker,
                "domain": self._domain(brain), "version": rasa_sdk.__version__,
            })
        events = result.events if result else []
        replies = [Reply(str(r["text"]), tuple(b["title"] for b in r.get("buttons") or []))
                   for r in (result.responses if result else []) if r.get("text")]
        paused = self._apply(state, events)
        state.control.anger = round(u.anger, 3)
        notice = self._hours_notice(brain, state, now)
        if notice is not None:
            replies.insert(0, notice[1])
        ranking = u.prediction.ranking
        turn = Turn(text=msg.text, intent=route.intent, confidence=route.confidence,
                    ranking=[{"intent": s.intent, "confidence": round(s.confidence, 4)}
                             for s in ranking[:3]],
                    replies=replies, status=state.status, action=route.action,
                    anger=round(u.anger, 3), auto_reply=notice[0] if notice else None,
                    topic=route.topic.topic if route.topic else None,
                    topic_score=route.topic.score if route.topic else None,
                    suggested=[t.topic for t in route.suggested])
        entries = [
            TranscriptEntry("shopper", u.masked, now, route.intent,
                            None if route.confidence is None else round(route.confidence, 3)),
            *[TranscriptEntry("bot", mask_pii(r.text), now) for r in replies],
        ]
        if paused:
            # The handoff logs its own lines after these: write them first.
            await self._log(key, entries)
            state.status = "waiting"
            if self.handoff:
                turn.replies += await self.handoff.on_pause(msg.key, state, turn)
        turn.status = state.status
        turn.slots = {k: v for k, v in state.slots.items() if v is not None}
        turn.dialog = state.control.active_dialog
        if paused:
            await self.store.save(key, state)
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

    def _route(self, brain: Brain, state: ConversationState, u: Understanding) -> Route:
        library = brain.library
        control = state.control
        threshold = self.settings.classifier_threshold
        top = u.prediction.ranking[0]
        text = u.normalized
        chosen = self._clarify_answer(brain, state, u)
        control.clarify_options = []
        if chosen:
            return Route(library.intents[chosen].action, chosen, 1.0)
        picked = self._suggestion_answer(brain, state, u)
        control.suggested = []
        if picked is not None:
            return self._topic_route(brain, picked, 1.0)

        dialog = control.active_dialog
        if dialog in DIALOG_SLOTS:
            gives = set(u.kinds) | ({"fit"} if u.fit else set())
            if dialog == "sizing" and u.number is not None:
                gives.add("height")
            topic = self._topic_of(brain, u, top.intent) or self._follow_up(brain, state, u)
            # A short line that is about nothing else ("都一个星期了") goes on with the
            # dialogue, which asks for what it still needs.
            goes_on = (len(u.normalized) <= FOLLOW_UP_CHARS and topic is None
                       and (top.intent == "fallback" or top.confidence < threshold))
            if (gives & DIALOG_SLOTS[dialog]) or top.intent == dialog or goes_on or (
                    topic is not None and topic.intent == dialog):
                # What the dialogue asked for (a height, an order number) is its answer.
                answers_it = bool(gives & DIALOG_SLOTS[dialog])
                return Route(DIALOG_ACTIONS[dialog], dialog, top.confidence,
                             topic if topic and topic.intent == dialog and not answers_it
                             else None)
            control.active_dialog = None

        if u.kinds & MEASUREMENTS and top.intent not in AFTER_SALE and "sizing" in library.intents:
            return Route("action_sizing", "sizing", top.confidence)
        limit = self.settings.unanswered_handoff
        if limit and control.unanswered >= limit:
            control.handoff_reason = "unanswered"
            return Route("action_handoff", top.intent, top.confidence)
        angry_complaint = top.intent == "complaint" and u.anger >= ANGRY
        # A confident, angry complaint goes to the complaint action, whose own rules hand
        # off with the reason "anger"; otherwise a manager's handoff keyword decides.
        if not (angry_complaint and top.confidence >= threshold) and any(
                word and word in text for word in library.system.get("handoff_keywords", ())):
            control.handoff_reason = "keyword"
            return Route("action_handoff", top.intent, top.confidence)
        if angry_complaint:
            # The anger score backs a hesitant classifier up: an angry shopper gets the
            # complaint path, never a "which of these did you mean" question.
            topic = self._topic_of(brain, u, "complaint")
            return Route(library.intents["complaint"].action, "complaint", top.confidence,
                         topic if topic and topic.intent == "complaint" else None)
        if top.intent == "human" and top.confidence >= threshold:
            return Route(library.intents["human"].action, "human", top.confidence)

        topic = self._topic_of(brain, u, top.intent if top.confidence >= threshold else None)
        if topic is None:
            topic = self._follow_up(brain, state, u)
        if topic is not None:
            return self._topic_route(brain, topic, top.confidence
                                     if top.intent == topic.intent else topic.score)
        if top.intent in SMALL_TALK and top.confidence >= SMALL_TALK_FLOOR:
            found = library.intent(top.intent)
            if found is not None:
                return Route(found.action, top.intent, top.confidence)
        near = self._near_topics(brain, u)
        if len(near) >= 2:
            return Route("action_suggest", top.intent, top.confidence, suggested=near)
        if top.confidence < threshold:
            return Route("action_clarify", top.intent, top.confidence)
        ranking = u.prediction.ranking
        second = ranking[1] if len(ranking) > 1 else None
        if (second is not None and top.confidence - second.confidence < self.settings.clarify_margin
                and top.intent in library.intents and second.intent in library.intents
                and "fallback" not in (top.intent, second.intent)):
            return Route("action_clarify", top.intent, top.confidence)
        found = library.intent(top.intent)
        return Route(found.action if found else "action_fallback", top.intent, top.confidence)

    def _usable(self, brain: Brain, topic_id: str) -> bool:
        """A topic whose answer may be said today (promotions have dates)."""
        found = brain.library.topic(topic_id)
        if found is None:
            return False
        if found.valid_from is None and found.valid_until is None:
            return True
        return found.valid_on(datetime.fromtimestamp(self.clock(), self.settings.tz).date())

    def _topic_of(self, brain: Brain, u: Understanding, confident: str | None
                  ) -> TopicScore | None:
        """The topic the line asks: a near-repeat of a phrasing, a likely topic, or one
        that holds most of the intent the classifier is confident in (``confident``)."""
        found = [t for t in u.topics if self._usable(brain, t.topic)]
        if not found:
            return None
        best = found[0]
        if best.near >= NEAR_DUPLICATE or best.score >= TOPIC_SURE:
            return best
        if confident is not None and best.intent == confident and best.share >= TOPIC_AGREES:
            return best
        return None

    def _near_topics(self, brain: Brain, u: Understanding) -> tuple[TopicScore, ...]:
        """Topics worth offering as 猜你想问 when none is sure."""
        return tuple(t for t in u.topics[:SUGGEST_MAX]
                     if t.score >= SUGGEST_FLOOR and self._usable(brain, t.topic))

    def _follow_up(self, brain: Brain, state: ConversationState,
                   u: Understanding) -> TopicScore | None:
        """A short line after a topic ("那运费呢" after 包邮吗) read among the topics of that
        topic's intent: the conversation says what it is about, so a weaker match there is
        the answer (never the topic just answered)."""
        previous = brain.library.topics.get(state.control.topic or "")
        if previous is None or len(u.normalized) > FOLLOW_UP_CHARS:
            return None
        intent, topic = previous
        found = brain.reader.matcher.match(u.normalized, within=intent.name.__eq__)
        found = tuple(t for t in found if t.topic != topic.id and self._usable(brain, t.topic))
        if found and found[0].score >= FOLLOW_UP_SHARE:
            return found[0]
        return None

    @staticmethod
    def _topic_route(brain: Brain, topic: TopicScore, confidence: float) -> Route:
        intent = brain.library.intents[topic.intent]
        return Route(intent.action, intent.name, confidence, topic)

    @staticmethod
    def _suggestion_answer(brain: Brain, state: ConversationState,
                           u: Understanding) -> TopicScore | None:
        """The topic the shopper picked from a 猜你想问 (by its question or its number)."""
        offered = state.control.suggested
        if not offered:
            return None
        stripped = u.normalized.strip(" .。!！")
        index = int(stripped) - 1 if stripped.isdigit() else -1
        for i, topic_id in enumerate(offered):
            found = brain.library.topics.get(topic_id)
            if found is None:
                continue
            question = found[1].question.strip(" .。!！?？")
            if i == index or stripped.rstrip("?？") == question:
                return TopicScore(topic_id, found[0].name, 1.0)
        return None

    @staticmethod
    def _clarify_answer(brain: Brain, state: ConversationState, u: Understanding) -> str | None:
        """The option the shopper picked after a clarifying question (by title or number)."""
        options = state.control.clarify_options
        if not options:
            return None
        if "sizing" in options and (u.kinds & MEASUREMENTS or u.number is not None):
            return "sizing"
        text = u.normalized
        stripped = text.strip(" .。!！")
        if stripped.isdigit() and 1 <= int(stripped) <= len(options):
            return str(options[int(stripped) - 1])
        for name in options:
            intent = brain.library.intent(name)
            if intent and (stripped == intent.title or intent.title in text):
                return str(name)
        return None

    def _tracker(self, msg: Incoming, state: ConversationState, u: Understanding,
                 route: Route) -> dict[str, Any]:
        slots = {**state.slots, **state.control.as_slots(), "turn": state.turn,
                 "traditional": state.traditional, "anger": u.anger,
                 "handoff_on_anger": self.settings.handoff_on_anger}
        intent = {"name": route.intent, "confidence": route.confidence}
        return {
            "sender_id": str(msg.key),
            "slots": slots,
            "latest_message": {
                "text": msg.text,
                "intent": intent,
                "intent_ranking": [{"name": s.intent, "confidence": s.confidence}
                                   for s in u.prediction.ranking[:5]],
                "entities": [{"entity": e.kind, "value": e.value, "start": e.start, "end": e.end}
                             for e in u.entities],
                "metadata": {"display_name": msg.display_name, "channel": msg.channel,
                             "normalized": u.normalized,
                             "topic": route.topic.topic if route.topic else None,
                             "suggested": [t.topic for t in route.suggested]},
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
                if name in CONTROL_FIELDS:
                    state.control.set(name, event.get("value"))
                elif name in ENGINE_SLOTS:
                    continue
                elif event.get("value") is None:
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


def unanswered(route: Route, u: Understanding, picking: bool = False) -> bool:
    """A line the library has no question for: the bot fell back, asked which intent, or
    guessed topics; or it gave a business intent's generic reply (no topic).
    ``picking``: the shopper was answering a clarify or 猜你想问 offer."""
    if route.topic is not None:
        return False
    if route.action in UNANSWERED_ACTIONS:
        return True
    return (route.action == "action_reply" and not picking
            and route.intent not in SMALL_TALK)


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
