"""Console fixtures: the real app on a loopback port, agents logged in over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.auth.users import User, new_user
from bot.services import Services
from bot.web.app import create_app
from tests.conftest import free_port
from tests.console.helpers import Site

PASSWORD = "correct horse"


@pytest.fixture(scope="session")
def accounts() -> list[User]:
    """Agents amy (小美) and bob (小博) and a manager, boss; hashed once (argon2 is slow)."""
    return [new_user("amy", "agent", PASSWORD, "小美"), new_user("bob", "agent", PASSWORD, "小博"),
            new_user("boss", "manager", PASSWORD, "老板")]


@pytest.fixture
async def site(services: Services, accounts: list[User]) -> AsyncIterator[Site]:
    """The app on a loopback port, with the accounts."""
    for user in accounts:
        await services.users.put(user)
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Site(f"http://127.0.0.1:{port}", services)
    await runner.cleanup()
