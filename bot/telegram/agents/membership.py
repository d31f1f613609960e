"""Who is an agent in the group, and which kefu account each one acts as.

Only users Telegram reports as members of the agents' chat count (getChatMember, cached a
minute). A member acts as the kefu account linked to their Telegram id (``kefu users add
amy --telegram-id …``), so amy in the console and amy in Telegram are one agent; an
unlinked member acts as ``tg:<id>``, recorded as a password-less account so the shopper and
the console see their Telegram name (it cannot log in anywhere).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiogram.methods import GetChatMember
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
)
from aiogram.types import User as TelegramUser

from bot.auth import UserError
from bot.auth.users import User
from bot.storage import StoreUnavailable
from bot.telegram.agents.group import AgentGroup

log = logging.getLogger(__name__)

#: Membership answers and the account list are re-read after this many seconds.
MEMBER_TTL = 60.0
ACCOUNTS_TTL = 15.0
MEMBER_TYPES = (ChatMemberOwner, ChatMemberAdministrator, ChatMemberMember)
PLACEHOLDER_HASH = "!telegram-agent-no-password"


@dataclass(frozen=True)
class Acting:
    """The agent behind a Telegram user: kefu account name and the name people see."""

    name: str
    display: str
    telegram_id: int


class Membership:
    """Members of the agents' chat and the accounts they act as (both cached briefly)."""

    def __init__(self, group: AgentGroup) -> None:
        self.group = group
        self._members: dict[int, tuple[bool, float]] = {}
        self._accounts: tuple[float, dict[int, User], dict[str, User]] | None = None
        self._placeholders: dict[str, str] = {}

    async def is_member(self, user_id: int) -> bool:
        """Telegram says the user is in the agents' chat (cached for a minute)."""
        now = time.monotonic()
        cached = self._members.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        member = await self.group.sender.call(self.group.side("members"), GetChatMember(
            chat_id=self.group.chat_id, user_id=user_id), counts=False)
        if member is None:
            return False  # could not ask: not cached, asked again next time
        ok = isinstance(member, MEMBER_TYPES) or (
            isinstance(member, ChatMemberRestricted) and member.is_member)
        if len(self._members) > 10_000:
            self._members.clear()
        self._members[user_id] = (ok, now + MEMBER_TTL)
        return ok

    async def _account_maps(self) -> tuple[dict[int, User], dict[str, User]]:
        now = time.monotonic()
        if self._accounts is None or self._accounts[0] <= now:
            users = await self.group.services.users.all()
            by_telegram: dict[int, User] = {}
            for user in sorted(users, key=lambda u: u.name.startswith("tg:")):
                if user.telegram_id and user.telegram_id not in by_telegram:
                    by_telegram[user.telegram_id] = user
            self._accounts = (now + ACCOUNTS_TTL, by_telegram, {u.name: u for u in users})
        return self._accounts[1], self._accounts[2]

    async def agent_of(self, user: TelegramUser | None) -> Acting | None:
        """The agent a Telegram user acts as, or None for bots and non-members."""
        if user is None or user.is_bot:
            return None
        if not await self.is_member(user.id):
            self.group.stats.refused += 1
            log.info("telegram agents: user %s is not a member of the agents' chat; ignored",
                     user.id)
            return None
        try:
            linked, _ = await self._account_maps()
            account = linked.get(user.id)
            if account is not None:
                return Acting(account.name, account.display_name or account.name, user.id)
            name = f"tg:{user.id}"
            display = user.full_name.strip() or name
            await self._placeholder(name, display)
        except (UserError, StoreUnavailable, OSError) as exc:
            log.error("telegram agents: accounts unreadable (%s); %s ignored", exc, user.id)
            return None
        return Acting(name, display, user.id)

    async def _placeholder(self, name: str, display: str) -> None:
        """A password-less account for an unlinked member, so their Telegram name shows."""
        if self._placeholders.get(name) == display:
            return
        existing = await self.group.services.users.get(name)
        if existing is None or existing.display_name != display:
            await self.group.services.users.put(User(
                name=name, role="agent", password_hash=PLACEHOLDER_HASH, display_name=display,
                telegram_id=None))
            self._accounts = None
        self._placeholders[name] = display

    async def display(self, agent: str | None) -> str:
        """The name people see for an agent account."""
        if not agent:
            return ""
        try:
            _, by_name = await self._account_maps()
        except (UserError, StoreUnavailable, OSError):
            return agent
        user = by_name.get(agent)
        return (user.display_name or agent) if user else agent
