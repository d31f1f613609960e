"""The Telegram :class:`~bot.channels.Outbox`: agent replies, "an agent joined", ratings.

The handoff bridge calls ``deliver`` for messages that start on the agents' side. Replies
go through the same flood-limited sender and the same keyboards as the bot's own answers,
so rating buttons 1–5 work like any quick reply. Any process holding the token can reach
any shopper, so ``deliver`` queues and returns True without waiting for Telegram: the
bridge is never held up by one throttled chat, and order per chat is kept by the sender.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.channels import SentBy
from bot.telegram.sender import TelegramSender
from bot.turn import Reply

log = logging.getLogger(__name__)


def chat_id_of(chat_id: str) -> int | str:
    """Conversation chat ids are strings; Telegram wants the number back."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


class TelegramOutbox:
    """Outbox for channel ``telegram``; chat ids are the shoppers' private chat ids."""

    def __init__(self, sender: TelegramSender) -> None:
        self.sender = sender

    async def deliver(self, chat_id: str, replies: Sequence[Reply], *, sender: SentBy = "bot",
                      agent_name: str | None = None, status: str | None = None) -> bool:
        """Queue ``replies`` in order; an agent's name heads the text (Telegram shows every
        message as from the bot). ``status`` has no Telegram UI and is ignored."""
        try:
            target = chat_id_of(chat_id)
            for reply in replies:
                text = reply.text
                if sender == "agent" and agent_name:
                    text = f"{agent_name}: {text}"
                self.sender.send_text(target, text, reply.buttons)
        except Exception:
            log.exception("telegram: could not queue a delivery to %s", chat_id)
            return False
        return True
