"""aiohttp channels: the web chat, health and (later) the agent console and editor."""

from bot.web.app import create_app

__all__ = ["create_app"]
