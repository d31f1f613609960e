"""The web chat over real HTTP and websockets on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.text_clean import clean_text, clean_tree
from bot.web.app import create_app
from config import load_settings
from intents.normalize import is_traditional
from tests.conftest import ALWAYS_OPEN, free_port


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> list[dict[str, Any]]:
    """Frames up to and including the first of ``kind``."""
    frames = []
    while True:
        frame = await ws.receive_json(timeout=5)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


async def test_root_leads_to_chat_page(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url + "/") as resp:
            assert resp.status == 200
            assert str(resp.url).endswith("/chat")
            page = await resp.text()
    assert "测试小铺" in page and "/static/chat.js" in page


async def test_health(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url + "/health") as resp:
            body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok" and body["store_ok"] is True and body["intents"] >= 9


async def test_chat_conversation(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=webtest0001") as ws:
            hello, welcome = await ws.receive_json(), await ws.receive_json()
            assert hello == {"type": "hello", "cid": "webtest0001"}
            assert welcome["type"] == "reply" and "测试小铺" in welcome["text"]
            await ws.send_json({"type": "message", "text": "我要退货"})
            frames = await _until(ws, "status")
            assert any(f["type"] == "reply" for f in frames)
            assert frames[-1]["status"] == "bot"
            await ws.send_json({"type": "message", "text": "發貨了嗎"})
            frames = await _until(ws, "status")
            assert all(is_traditional(f["text"]) for f in frames if f["type"] == "reply")


async def test_reconnect_does_not_welcome_twice(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=webtest0002") as ws:
            await ws.receive_json()
            await ws.receive_json()
        async with http.ws_connect(base_url + "/ws/chat?cid=webtest0002") as ws:
            assert (await ws.receive_json())["type"] == "hello"
            history = await ws.receive_json()
            assert history["type"] == "history"
            assert [e["from"] for e in history["entries"]] == ["bot"]
            assert (await ws.receive_json()) == {"type": "status", "status": "bot"}
            await ws.send_json({"type": "message", "text": "你好"})
            frames = await _until(ws, "status")
            assert len([f for f in frames if f["type"] == "reply"]) == 1


@pytest.mark.parametrize(("raw", "code"), [
    ("not json", "bad_json"),
    ('{"type": "message"}', "bad_frame"),
    ('{"type": "message", "text": 5}', "bad_frame"),
    ("[1, 2]", "bad_frame"),
])
async def test_bad_frames_get_an_error_frame(base_url: str, raw: str, code: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=webtest0003") as ws:
            await _until(ws, "reply")
            await ws.send_str(raw)
            assert await ws.receive_json(timeout=5) == {"type": "error", "code": code}
            await ws.send_bytes(b"\x00\x01")
            assert (await ws.receive_json(timeout=5))["code"] == "binary_frame"
            await ws.send_json({"type": "message", "text": "你好"})
            assert (await _until(ws, "status"))[-1]["type"] == "status"


async def test_bad_client_id_gets_a_fresh_one(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=<script>") as ws:
            hello = await ws.receive_json()
    assert hello["type"] == "hello" and hello["cid"] != "<script>" and len(hello["cid"]) >= 8


async def test_without_a_configured_name_pages_use_the_librarys(brain: Brain,
                                                                tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", hours=json.loads(ALWAYS_OPEN))
    assert settings.shop_name == ""
    own = brain.library.system["shop_name"][0]
    services = Services.build(settings, store=MemoryConversationStore(),
                              brain=Brain(brain.library, brain.classifier, ""))
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/chat") as resp:
                page = await resp.text()
        assert f"<title>{own} · 在线客服</title>" in page
        welcome = await services.engine.welcome("web", "named-1")
        assert own in welcome[0].text
    finally:
        await runner.cleanup()
        await services.close()


async def test_a_lone_surrogate_does_not_break_the_conversation(base_url: str) -> None:
    """A cut emoji (``\\ud83d``) and control characters are cleaned where the line enters,
    so the next 转人工 still reaches a person (memory mode)."""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=surrogate01&name=a%00b") as ws:
            await _until(ws, "reply")
            await ws.send_str('{"type": "message", "text": "\\ud83d 好的\\u0007\\u001b[31m"}')
            frames = await _until(ws, "status")
            assert frames[-1]["status"] == "bot"
            await ws.send_json({"type": "message", "text": "转人工"})
            frames = await _until(ws, "status")
            assert frames[-1]["status"] == "waiting", frames
            texts = " ".join(f.get("text", "") for f in frames)
            assert "出错" not in texts and "错误" not in texts


def test_clean_text_keeps_newlines_tabs_and_real_emoji() -> None:
    assert clean_text("a\ud83db\x00c\x07\x1b[0m\r\nd\te 😀") == "a\ufffdbc[0m\nd\te 😀"
    assert clean_tree({"k\ud800": ["x\x01", 1, None, {"y": "\udfff"}]}) == {
        "k\ufffd": ["x", 1, None, {"y": "\ufffd"}]}


async def test_bad_frames_get_an_error_frame_and_the_socket_stays(base_url: str) -> None:
    """Deep JSON, a lone surrogate escape and junk get ``error`` frames; invalid UTF-8 is
    refused with a proper close (1007), never a dropped connection."""
    deep = "[" * 30000 + "]" * 30000
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(base_url + "/ws/chat?cid=badinput01") as ws:
            await _until(ws, "reply")
            for junk, code in ((deep, "bad_json"), ('{"type": "message", "text": ' + deep + "}",
                                                     "bad_json"),
                               ('{"type": "message", "text": "\\udc00"}', None)):
                await ws.send_str(junk)
                frame = await ws.receive_json(timeout=5)
                if code:
                    assert frame == {"type": "error", "code": code}
                else:
                    frames = [frame, *await _until(ws, "status")]
                    assert frames[-1]["status"] == "bot"
            await ws.send_json({"type": "message", "text": "你好"})
            assert (await _until(ws, "status"))[-1]["status"] == "bot"
        async with http.ws_connect(base_url + "/ws/chat?cid=badinput02") as ws:
            await _until(ws, "reply")
            await ws.send_frame(b'{"type": "message", "text": "\xed\xa0\xbd\xff"}',
                                aiohttp.WSMsgType.TEXT)
            msg = await ws.receive(timeout=5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING), msg
            assert ws.close_code == aiohttp.WSCloseCode.INVALID_TEXT
