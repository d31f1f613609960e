"""Telegram: shoppers in private chats (and, later, agents in a forum supergroup).

Modules: ``channel`` (start/stop, the one object ``kefu serve`` holds), ``shoppers`` (the
private-chat router), ``intake`` (updates in: validate, dedupe, per-chat order),
``sender`` (messages out: flood limits, retries), ``outbox`` (the channel's Outbox),
``keyboards`` (quick replies ↔ inline buttons), ``dedupe`` (the seen-update store),
``polling`` and ``webhook`` (the two ways updates arrive). Only this package imports
aiogram.
"""

from bot.telegram.channel import TelegramChannel
from bot.telegram.sender import FloodLimits, Sender

__all__ = ["FloodLimits", "Sender", "TelegramChannel"]
