"""The editor's try box renders a draft's templates off the event loop."""

from __future__ import annotations

import threading

import pytest

from bot.editor.trial import try_sentence
from bot.engine import Engine
from bot.services import Services
from bot.turn import Incoming, Turn


async def test_the_try_box_answers_in_a_worker_thread(services: Services,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    handle = Engine.handle

    async def spy(self: Engine, msg: Incoming) -> Turn:
        threads.append(threading.get_ident())
        return await handle(self, msg)

    monkeypatch.setattr(Engine, "handle", spy)
    trial = await try_sentence(services.settings, services.brains.current, "你好")
    assert trial.replies and threads and threads[0] != threading.get_ident()
