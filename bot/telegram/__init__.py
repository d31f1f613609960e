"""Telegram: shoppers in private chats, agents in a forum supergroup.

Modules: ``channel`` (start/stop, the one object ``kefu serve`` holds), ``shoppers`` (the
private-chat router), ``agents`` (the agents' group: a topic per ticket, their commands and
buttons, membership, presence), ``intake`` (updates in: validate, dedupe, per-chat order),
``sender`` (messages out: flood limits, retries), ``outbox`` (the channel's Outbox),
``keyboards`` (quick replies ↔ inline buttons), ``dedupe`` (the seen-update store),
``topics`` (ticket ↔ topic store), ``context_card`` (what agents see in a topic),
``polling`` and ``webhook`` (the two ways updates arrive). Only this package imports
aiogram.
"""

from bot.telegram.channel import TelegramChannel
from bot.telegram.sender import FloodLimits, TelegramSender

__all__ = ["FloodLimits", "TelegramChannel", "TelegramSender"]
