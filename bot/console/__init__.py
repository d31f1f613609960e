"""The agents' web console at /console: queue, own chats, context panel, live updates.

A server-rendered shell (``console.html``) plus ``static/console.js`` that talks to a JSON
API under ``/console/api`` and a websocket at ``/console/ws``. Everything goes through
:class:`handoff.HandoffService`; the bot's handoff bridge tells the shopper.
"""

from bot.console.routes import setup

__all__ = ["setup"]
