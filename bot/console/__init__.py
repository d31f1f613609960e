"""The agents' web console at /console: queue, own chats, context panel, live updates.

A server-rendered shell (``templates/console.html``) plus ``static/console.js`` that talks to
a JSON API under ``/console/api`` and a websocket at ``/console/ws``; :func:`routes.setup`
mounts them. Everything goes through :class:`handoff.HandoffService`; the bot's handoff
bridge tells the shopper.
"""
