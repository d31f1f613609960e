"""The web app served on a loopback port, for tests that talk HTTP to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.services import Services
from bot.web.app import create_app
from tests.conftest import free_port


@pytest.fixture
async def base_url(services: Services) -> AsyncIterator[str]:
    """``http://127.0.0.1:PORT`` of the full web app around the test's services."""
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
