"""Split messages: fragments sent within the pause are read as one turn; a finished
question is never held back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bot.coalesce import Coalescer, looks_finished
from bot.services import Services


def test_what_reads_as_finished() -> None:
    assert looks_finished("有M码吗")
    assert looks_finished("这件是纯棉的吗？")
    assert looks_finished("我想问一下这件衣服的面料")
    assert not looks_finished("在吗")
    assert not looks_finished("这件")
    assert not looks_finished("亲")


async def test_fragments_are_answered_together_and_questions_at_once() -> None:
    said: list[tuple[str, float]] = []
    started = time.monotonic()

    async def answer(text: str) -> None:
        said.append((text, time.monotonic() - started))

    burst = Coalescer(pause=0.3, max_chars=1000)
    burst.add("a", "在吗", answer)
    burst.add("a", "这件", answer)
    burst.add("a", "有M码吗", answer)  # the question closes the burst at once
    burst.add("b", "这件是纯棉的吗", answer)  # another shopper's question: no wait
    await asyncio.sleep(0.05)
    assert [text for text, _ in said] == ["在吗 这件 有M码吗", "这件是纯棉的吗"]
    assert all(at < 0.1 for _, at in said)

    burst.add("c", "亲", answer)  # a fragment alone waits the pause, no longer
    await asyncio.sleep(0.5)
    assert said[-1][0] == "亲" and 0.25 <= said[-1][1] <= 0.5
    await burst.drain()


async def _replies_until_status(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = await ws.receive_json(timeout=5)
        frames.append(frame)
        if frame["type"] == "status":
            return frames


async def test_web_chat_reads_a_burst_as_one_turn(services: Services, base_url: str) -> None:
    services.coalescer = Coalescer(pause=0.4, max_chars=1000)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=split0001") as ws:
            await ws.receive_json()
            await ws.receive_json()
            for line in ("在吗", "这件", "会起球吗"):
                await ws.send_json({"type": "message", "text": line})
            frames = await _replies_until_status(ws)
            replies = [f["text"] for f in frames if f["type"] == "reply"]
            assert len(replies) == 1  # one turn, one answer: not a greeting for 在吗 first
            topic = services.brains.current.library.topic("pilling")
            assert topic is not None and replies[0] in topic.answers
            transcript = await services.store.transcript("web:split0001")
            assert [e.text for e in transcript if e.role == "shopper"] == ["在吗 这件 会起球吗"]
