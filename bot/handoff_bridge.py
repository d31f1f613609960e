"""The bridge between the conversation engine and the handoff queue.

Engine → handoff: a paused conversation opens a ticket with its context packet; what the
shopper writes while paused goes onto the ticket; a rating after close is recorded.
Handoff → shopper: every bot process receives every handoff event. Exactly one process
(``store.once``) updates the conversation (status, transcript, rating question) and delivers
through channels that any process can reach (Telegram); every process pushes to the web
chat sockets it holds itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from bot.auth import UserError, UserStore
from bot.brain import Brain, BrainHolder
from bot.channels import Channels, SentBy
from bot.engine import system_reply
from bot.storage import (
    ConversationKey,
    ConversationState,
    ConversationStore,
    StoreUnavailable,
    TranscriptEntry,
)
from bot.storage.base import Role
from bot.turn import Incoming, Reply, Turn
from config import Settings
from handoff import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    ContextPacket,
    Event,
    EventFeed,
    HandoffError,
    HandoffService,
    HandoffUnavailable,
)
from intents.entities import extract, mask_pii
from intents.normalize import normalize
from intents.preferences import rating_of
from intents.sentiment import ANGRY

log = logging.getLogger(__name__)

#: Slots an agent needs to see; the rest are the engine's bookkeeping.
CONTEXT_SLOTS = ("order_id", "height", "weight", "size", "fit", "size_chart", "phone")
#: Intents that say nothing about what the shopper needs, so they do not choose the skill.
NOT_A_TOPIC = frozenset({"human", "greeting", "thanks", "goodbye", "fallback", None})
EVENT_TTL = 3600.0
#: Events that change what the shopper sees, or their place in the queue. The rest
#: (ticket_opened, shopper_message, note_added, rated, left_message) are for agents'
#: screens: the bridge neither locks nor rewrites the conversation for them, so a busy
#: queue's echo of every waiting shopper's line never contends with their next one.
CONCERNS_SHOPPER = frozenset({"ticket_assigned", "agent_message", "handed_back",
                              "ticket_closed", "ticket_transferred"})
SWEEP_EVERY = 10.0


class HandoffBridge:
    """Wires one Engine to one HandoffService; start ``run()`` as a task per process."""

    def __init__(self, settings: Settings, brains: BrainHolder, store: ConversationStore,
                 handoff: HandoffService, channels: Channels, users: UserStore,
                 events: EventFeed, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.brains = brains
        self.store = store
        self.handoff = handoff
        self.channels = channels
        self.users = users
        self.events = events
        self.clock = clock
        events.listen("bridge", self.on_event)

    # -- engine hooks ----------------------------------------------------------------------

    async def on_pause(self, key: ConversationKey, state: ConversationState,
                       turn: Turn) -> list[Reply]:
        """Open (or join) the ticket and tell the shopper where they stand."""
        brain = self.brains.current
        reason = state.control.handoff_reason or "asked_for_human"
        state.control.handoff_reason = None
        transcript = await self.store.transcript(str(key), last=60)
        topic = self._topic(transcript, turn.intent)
        intent = brain.library.intent(topic) if topic else None
        skill = intent.skill if intent and intent.skill else "after_sales"
        anger = max(state.control.anger, turn.anger or 0.0)
        priority = PRIORITY_URGENT if topic == "complaint" or anger >= ANGRY else PRIORITY_NORMAL
        summary = self.summary(brain, state, topic, anger, reason, transcript)
        context = ContextPacket(
            transcript=[{"role": e.role, "text": e.text, "ts": e.ts, "intent": e.intent,
                         "confidence": e.confidence} for e in transcript],
            turns=[{"text": e.text, "intent": e.intent, "confidence": e.confidence}
                   for e in transcript if e.role == "shopper"],
            slots={k: state.slots[k] for k in CONTEXT_SLOTS if k in state.slots},
            anger=round(anger, 3), reason=reason, summary=summary)
        try:
            ticket = await self.handoff.open(
                conversation=str(key), channel=state.channel, shopper_name=state.display_name,
                reason=reason, intent=topic, skill=skill, priority=priority, summary=summary,
                context=context)
            state.ticket_id = ticket.id
            if ticket.status == "assigned" and ticket.assigned_to:
                state.status = "agent"
                name = await self._agent_name(ticket.assigned_to)
                return [system_reply(brain, "agent_joined", state, agent_name=name)]
            if not await self.handoff.anyone_online(skill):
                state.control.leave_message = True
                return [system_reply(brain, "handoff_no_agent", state)]
            replies = []
            if await self.handoff.busy(skill) and state.auto_reply_episode != "busy":
                state.auto_reply_episode = "busy"
                turn.auto_reply = "busy"
                replies.append(system_reply(brain, "busy_agents", state))
            replies.append(await self._position_reply(brain, state, ticket.id))
            return replies
        except (HandoffUnavailable, HandoffError) as exc:
            log.error("could not open a handoff ticket for %s: %s", mask_pii(str(key)), exc)
            state.status = "bot"
            return [system_reply(brain, "error", state)]

    async def on_paused_message(self, key: ConversationKey, state: ConversationState,
                                msg: Incoming) -> list[Reply]:
        """While waiting or with an agent: the line goes to the ticket, the bot stays quiet."""
        brain = self.brains.current
        text = msg.text if msg.kind == "text" else (msg.text or f"[{msg.kind}]")
        try:
            leave_message, state.control.leave_message = state.control.leave_message, False
            if leave_message and state.ticket_id and msg.kind == "text":
                contact = next((str(e.value) for e in extract(normalize(text).text)
                                if e.kind == "phone"), None)
                await self.handoff.leave_message(state.ticket_id, text[:2000], contact)
                return [system_reply(brain, "leave_message_ack", state)]
            ticket = await self.handoff.shopper_message(str(key), text[:4000], msg.attachment)
        except (HandoffUnavailable, HandoffError) as exc:
            log.error("could not relay a shopper message for %s: %s", mask_pii(str(key)), exc)
            return [system_reply(brain, "error", state)]
        if ticket is None:
            state.status = "bot"
            state.ticket_id = None
            return [system_reply(brain, "back_to_bot", state)]
        return []

    async def on_closed_message(self, key: ConversationKey, state: ConversationState,
                                text: str) -> list[Reply] | None:
        """A 1-5 after close is the rating; anything else starts a new bot conversation."""
        ticket_id = state.control.rating_ticket
        rating = rating_of(normalize(text).text) if ticket_id else None
        if rating is None or not ticket_id:
            return None
        try:
            await self.handoff.rate(str(ticket_id), rating)
        except HandoffError as exc:
            log.info("rating not recorded for %s: %s", ticket_id, exc)
        state.control.rating_ticket = None
        return [system_reply(self.brains.current, "rating_thanks", state)]

    # -- events from agents -------------------------------------------------------------------

    async def run(self) -> None:
        """Follow handoff events (the process's feed, started here if it is not yet) and
        sweep for long waits until cancelled."""
        await self.events.start()
        await self._sweep_forever()

    async def on_event(self, event: Event) -> None:
        if event.conversation is None or ":" not in event.conversation:
            if event.kind == "presence":
                await self._refresh_positions(event)
            return
        if event.kind not in CONCERNS_SHOPPER:
            return
        mine = await self.store.once(f"handoff-event:{event.id}", EVENT_TTL)
        status: str | None
        replies: list[Reply]
        sender: SentBy
        if mine:
            status, replies, sender = await self._apply(event)
        else:
            status, replies, sender = await self._peek(event)
        if event.kind == "agent_message" and event.data.get("shown_in") == (
                ConversationKey.parse(event.conversation).channel):
            replies = []  # the shopper's channel already showed it (a photo as a photo)
        if replies or status:
            await self._deliver(event.conversation, replies, sender, event, exclusive=mine)
        if mine and event.kind in ("ticket_assigned", "ticket_closed", "handed_back",
                                   "ticket_transferred"):
            await self._refresh_positions(event)

    async def _apply(self, event: Event) -> tuple[str | None, list[Reply], SentBy]:
        """The one process that owns this event updates the conversation."""
        key = str(event.conversation)
        brain = self.brains.current
        async with self.store.lock(key):
            state = await self.store.load(key)
            if state is None:
                return None, [], "bot"
            status, replies, sender = await self._outcome(brain, state, event)
            if status:
                state.status = status  # type: ignore[assignment]
            if event.kind == "ticket_closed":
                state.control.rating_ticket = event.ticket_id
                state.ticket_id = None
            if event.kind == "handed_back":
                state.ticket_id = None
                state.control.unanswered = 0
            if event.kind in ("ticket_assigned", "ticket_closed", "handed_back"):
                state.control.leave_message = False
            state.updated_at = self.clock()
            await self.store.save(key, state)
            role: Role = "agent" if sender == "agent" else "bot"
            await self.store.append(key, [TranscriptEntry(role, mask_pii(r.text), self.clock(),
                                                          author=event.agent) for r in replies],
                                    cap=self.settings.transcript_cap)
        return status, replies, sender

    async def _peek(self, event: Event) -> tuple[str | None, list[Reply], SentBy]:
        """Other processes render the same replies for the web sockets they hold."""
        state = await self.store.load(str(event.conversation)) or ConversationState()
        return await self._outcome(self.brains.current, state, event)

    async def _outcome(self, brain: Brain, state: ConversationState,
                       event: Event) -> tuple[str | None, list[Reply], SentBy]:
        name = await self._agent_name(event.agent) if event.agent else ""
        if event.kind == "ticket_assigned":
            return "agent", [system_reply(brain, "agent_joined", state, agent_name=name)], "bot"
        if event.kind == "agent_message":
            return None, [Reply(str(event.data.get("text", "")))], "agent"
        if event.kind == "handed_back":
            return "bot", [system_reply(brain, "back_to_bot", state)], "bot"
        if event.kind == "ticket_closed" and event.data.get("outcome") == "handed_back":
            return "bot", [system_reply(brain, "back_to_bot", state)], "bot"
        if event.kind == "ticket_closed":
            ask = system_reply(brain, "rating_ask", state)
            return "closed", [Reply(ask.text, ("1", "2", "3", "4", "5"))], "bot"
        return None, [], "bot"

    async def _deliver(self, conversation: str, replies: list[Reply], sender: SentBy,
                       event: Event, *, exclusive: bool) -> None:
        where = ConversationKey.parse(conversation)
        outbox = self.channels.get(where.channel)
        if outbox is None:
            return
        if self.channels.everywhere(where.channel) or exclusive:
            status = {"ticket_assigned": "agent", "handed_back": "bot",
                      "ticket_closed": "closed"}.get(event.kind)
            if event.kind == "ticket_closed" and event.data.get("outcome") == "handed_back":
                status = "bot"
            name = await self._agent_name(event.agent) if event.agent else None
            await outbox.deliver(where.chat_id, replies, sender=sender, agent_name=name,
                                 status=status)

    # -- waiting -----------------------------------------------------------------------------

    async def _position_reply(self, brain: Brain, state: ConversationState,
                              ticket_id: str) -> Reply:
        position, wait = await self.handoff.position(ticket_id)
        state.control.told_position = position
        return system_reply(brain, "handoff_queued", state, position=position,
                            wait_minutes=max(1, math.ceil(wait)))

    async def _refresh_positions(self, event: Event) -> None:
        """Tell waiting shoppers their new place when it changed a lot (not on every step)."""
        if event.conversation is None and not await self.store.once(
                f"positions:{event.id}", EVENT_TTL):
            return
        brain = self.brains.current
        places: dict[str, int] = {}
        for entry in await self.handoff.waiting():  # one read; queue order is place order
            places[entry.skill] = position = places.get(entry.skill, 0) + 1
            # Most shoppers are not due a new place: find out without taking their lock.
            if not _due(await self.store.load(entry.conversation), position):
                continue
            async with self.store.lock(entry.conversation):
                state = await self.store.load(entry.conversation)
                if state is None or not _due(state, position):
                    continue
                reply = await self._position_reply(brain, state, entry.id)
                await self.store.save(entry.conversation, state)
            await self._push(entry.conversation, [reply])

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.sweep()
            except (HandoffUnavailable, StoreUnavailable) as exc:
                log.warning("handoff sweep skipped: %s", exc)
            except Exception:
                log.exception("handoff sweep failed")

    async def sweep(self) -> None:
        """Nobody took a ticket in time: offer to take a message (once per ticket)."""
        now = self.clock()
        brain = self.brains.current
        for entry in await self.handoff.waiting():
            if now - entry.created_at < self.settings.handoff_timeout or entry.left_message:
                continue
            if not await self.store.once(f"handoff-timeout:{entry.id}", 7 * 86400):
                continue
            async with self.store.lock(entry.conversation):
                state = await self.store.load(entry.conversation)
                if state is None or state.status != "waiting":
                    continue
                state.control.leave_message = True
                reply = system_reply(brain, "handoff_no_agent", state)
                await self.store.save(entry.conversation, state)
            await self._push(entry.conversation, [reply])

    async def _push(self, conversation: str, replies: list[Reply]) -> None:
        where = ConversationKey.parse(conversation)
        outbox = self.channels.get(where.channel)
        if outbox is not None:
            await outbox.deliver(where.chat_id, replies)
        now = self.clock()
        await self.store.append(conversation, [TranscriptEntry("bot", mask_pii(r.text), now)
                                               for r in replies],
                                cap=self.settings.transcript_cap)

    # -- context ----------------------------------------------------------------------------

    @staticmethod
    def _topic(transcript: list[TranscriptEntry], current: str | None) -> str | None:
        """What the shopper needs: the latest turn whose intent names a topic."""
        if current not in NOT_A_TOPIC:
            return current
        for entry in reversed(transcript):
            if entry.role == "shopper" and entry.intent not in NOT_A_TOPIC:
                return entry.intent
        return current

    @staticmethod
    def summary(brain: Brain, state: ConversationState, topic: str | None, anger: float,
                reason: str, transcript: list[TranscriptEntry]) -> str:
        """One line for the agent built from library texts: topic · order · anger · repeats."""
        parts = [brain.library.title(topic) if topic else ""]
        slots = state.slots

        def text(key: str, **extra: Any) -> str:
            if key not in brain.library.system:
                return ""
            return system_reply(brain, key, ConversationState(), **extra).text

        if slots.get("order_id"):
            parts.append(text("summary_order", order_id=mask_pii(str(slots["order_id"]))))
        if slots.get("height") and slots.get("weight"):
            parts.append(text("summary_size", height=slots["height"], weight=slots["weight"]))
        if anger >= ANGRY:
            parts.append(text("summary_angry"))
        asked = sum(1 for e in transcript if e.role == "shopper" and topic and e.intent == topic)
        if asked >= 2:
            parts.append(text("summary_repeat", count=asked))
        parts.append(text(f"reason_{reason}"))
        return " · ".join(p for p in parts if p)

    async def _agent_name(self, agent: str | None) -> str:
        if not agent:
            return ""
        try:
            user = await self.users.get(agent)
        except UserError:
            return agent
        return user.display_name if user else agent


def _due(state: ConversationState | None, position: int) -> bool:
    """Is a waiting shopper due to hear their place? Only when it improved a lot: by three
    places, or to half of what they were last told."""
    if state is None or state.status != "waiting":
        return False
    told = state.control.told_position or 0
    return bool(told) and (position <= told - 3 or position <= told // 2)
