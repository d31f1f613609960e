"""Telegram: shoppers in private chats, and agents in a forum supergroup (one topic per ticket).

Modules: ``channel`` (start/stop, the one object ``kefu serve`` holds), ``shoppers`` (the
private-chat router), ``agents`` (the agents' group: handoff events to topics, the agents'
replies and commands back), ``topics`` (which topic belongs to which ticket),
``context_card`` (what agents see in a topic), ``intake`` (updates in: validate, dedupe,
per-chat order), ``lanes`` (per-chat serial execution), ``sender`` (messages out: flood
limits, retries), ``outbox`` (the channel's Outbox), ``keyboards`` (quick replies ↔ inline
buttons), ``dedupe`` (the seen-update store), ``polling`` and ``webhook`` (the two ways
updates arrive). Only this package imports aiogram.
"""

from bot.telegram.channel import TelegramChannel
from bot.telegram.sender import FloodLimits, Sender

__all__ = ["FloodLimits", "Sender", "TelegramChannel"]
