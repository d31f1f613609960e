"""What the group's commands and buttons do to a ticket: take, hand back, close, transfer,
note. Each returns a hint for the agent when it did not happen (None when it did), so a
command answers in the topic and a button in its pop-up alike.
"""

from __future__ import annotations

import logging

from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from bot.storage import StoreUnavailable
from bot.telegram.agents.group import AgentGroup, echo_key
from bot.telegram.agents.membership import Acting, Membership
from bot.telegram.context_card import transfer_keyboard
from handoff import (
    SKILLS,
    AgentUnavailable,
    HandoffError,
    HandoffUnavailable,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    Ticket,
    TicketClosed,
    UnknownAgent,
)

log = logging.getLogger(__name__)


class TicketActions:
    """Ticket actions of an agent acting from the group (commands and buttons alike)."""

    def __init__(self, group: AgentGroup, members: Membership) -> None:
        self.group = group
        self.members = members

    async def act(self, agent: Acting, ticket_id: str, action: str, argument: str = ""
                  ) -> str | None:
        """Take, hand back, close or transfer; a hint for the agent when it did not happen."""
        handoff = self.group.services.handoff
        texts = self.group.texts
        try:
            if action == "take":
                taken = await handoff.claim(ticket_id, agent.name)
                if taken is None:
                    ticket = await handoff.ticket(ticket_id)
                    if ticket is not None and not ticket.is_open:
                        return texts.get("tg_hint_closed")
                    if ticket is not None and ticket.status == "assigned":
                        return texts.get("tg_hint_taken", agent_name=await self.members.display(
                            ticket.assigned_to))
                    profile = await handoff.agent(agent.name)
                    return texts.get("tg_hint_full", capacity=profile.capacity
                                     if profile else handoff.default_capacity)
            elif action == "back":
                await handoff.hand_back(ticket_id, agent.name)
            elif action == "close":
                await handoff.close(ticket_id, agent.name)
            elif action == "to":
                target = argument.strip().split()[0] if argument.strip() else ""
                if target in SKILLS:
                    await handoff.transfer(ticket_id, agent.name, to_skill=target)
                elif target.lstrip("@"):
                    await handoff.transfer(ticket_id, agent.name, to_agent=target.lstrip("@"))
                else:
                    return texts.get("tg_transfer_usage")
            else:
                return None
        except HandoffError as exc:
            return self.hint(exc, await self._quiet_ticket(ticket_id), argument)
        except (HandoffUnavailable, StoreUnavailable) as exc:
            log.warning("telegram agents: %s of %s failed: %s", action, ticket_id, exc)
            return texts.get("tg_hint_error")
        return None

    async def _quiet_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            return await self.group.services.handoff.ticket(ticket_id)
        except (HandoffUnavailable, HandoffError):
            return None

    def hint(self, exc: Exception, ticket: Ticket | None, argument: str = "") -> str:
        """What to tell the agent about a refused action (``argument``: a transfer's target)."""
        texts = self.group.texts
        holder = ticket.assigned_to if ticket is not None and ticket.status == "assigned" else ""
        if isinstance(exc, TicketClosed):
            return texts.get("tg_hint_closed")
        if isinstance(exc, (NotAssigned, NotYourTicket)):
            return texts.get("tg_hint_not_yours", agent_name=holder or "")
        if isinstance(exc, AgentUnavailable):
            return texts.get("tg_hint_unavailable", agent_name=argument.lstrip("@"))
        if isinstance(exc, UnknownAgent):
            return texts.get("tg_hint_unknown_agent", agent_name=argument.lstrip("@"))
        if isinstance(exc, InvalidRequest) and argument:
            return texts.get("tg_transfer_usage")
        log.info("telegram agents: action refused: %s", exc)
        return texts.get("tg_hint_error")

    async def note(self, agent: Acting, ticket_id: str, text: str) -> str | None:
        """An internal note: it stays in the group and is recorded on the ticket."""
        if not text:
            return self.group.texts.get("tg_note_usage")
        key = echo_key("note", ticket_id, agent.name, text)
        await self.group.topics.expect_echo(key)
        try:
            await self.group.services.handoff.note(ticket_id, agent.name, text[:2000])
        except (HandoffError, HandoffUnavailable) as exc:
            await self.group.topics.take_echo(key)
            return self.hint(exc, await self._quiet_ticket(ticket_id))
        return None

    async def offer_transfer(self, agent: Acting, ticket_id: str, thread: int | None
                             ) -> str | None:
        """Post the choices: the two skill queues and the online agents with a free seat."""
        group = self.group
        if thread is None:
            return group.texts.get("tg_hint_not_in_topic")
        try:
            agents = [a for a in await group.services.handoff.agents()
                      if a.presence == "online" and a.free > 0 and a.name != agent.name]
        except (HandoffUnavailable, HandoffError) as exc:
            log.warning("telegram agents: no agent list for a transfer: %s", exc)
            agents = []
        people = [(a.name, await self.members.display(a.name)) for a in agents[:10]]
        markup: InlineKeyboardMarkup = transfer_keyboard(ticket_id, group.texts, people)
        group.sender.submit(group.chat_id, SendMessage(
            chat_id=group.chat_id, message_thread_id=thread,
            text=group.texts.get("tg_transfer_ask"), reply_markup=markup))
        return None
