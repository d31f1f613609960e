"""The agents' side in pieces: the topic store (memory and Redis), the card and its buttons,
the account link (``kefu users add --telegram-id``) and the presence heartbeat."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.auth import make_user_store
from bot.auth.users import UserError, new_user
from bot.brain import Brain, BrainHolder
from bot.cli import main as kefu
from bot.services import Services
from bot.storage import MemoryConversationStore, StoreUnavailable
from bot.telegram.context_card import (
    MAX_CARD,
    Texts,
    callback_data,
    card_keyboard,
    card_text,
    fit,
    parse_callback,
    topic_name,
    transfer_keyboard,
    units,
)
from bot.telegram.topics import MemoryTopicStore, RedisTopicStore, TopicStore, make_topic_store
from config import load_settings
from config.backend import MemoryBackend, open_backend
from config.redis_client import connect
from handoff import ContextPacket, Message, Ticket
from tests.conftest import ALWAYS_OPEN, redis_client

Factory = Callable[..., TopicStore]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Factory]:
    """``make(chat_id=..., echo_ttl=...)`` for the parametrised backend; Redis stores made
    by one test share the server, like two bot processes."""
    if request.param == "memory":
        shared: dict[int, MemoryTopicStore] = {}

        def memory(chat_id: int = -100, echo_ttl: float = 60.0) -> TopicStore:
            return shared.setdefault(chat_id, MemoryTopicStore(echo_ttl=echo_ttl))

        yield memory
        return
    async with redis_client(redis_prefix) as client:
        yield lambda chat_id=-100, echo_ttl=60.0: RedisTopicStore(
            client, chat_id, prefix=redis_prefix, echo_ttl=echo_ttl)


# -- the topic store contract ------------------------------------------------------------------


async def test_links_both_ways(make: Factory) -> None:
    store = make()
    assert await store.topic_of("t1") is None and await store.ticket_of(101) is None
    await store.link("t1", 101)
    await store.link("t2", 102)
    assert await store.topic_of("t1") == 101 and await store.ticket_of(101) == "t1"
    assert await store.topic_of("t2") == 102 and await store.ticket_of(102) == "t2"


async def test_a_new_topic_replaces_the_old_one(make: Factory) -> None:
    store = make()
    await store.link("t1", 101)
    await store.link("t1", 205)
    assert await store.topic_of("t1") == 205
    assert await store.ticket_of(205) == "t1"
    assert await store.ticket_of(101) is None  # the deleted topic no longer leads anywhere
    await store.link("t1", 205)  # linking again is harmless
    assert await store.ticket_of(205) == "t1"


async def test_chats_are_separate(make: Factory) -> None:
    await make(chat_id=-100).link("t1", 101)
    assert await make(chat_id=-200).topic_of("t1") is None
    assert await make(chat_id=-200).ticket_of(101) is None


async def test_echoes_are_counted_and_consumed(make: Factory) -> None:
    store = make()
    assert await store.take_echo("msg:a") is False
    await store.expect_echo("msg:a")
    await store.expect_echo("msg:a")
    assert await store.take_echo("msg:a") is True
    assert await store.take_echo("msg:a") is True
    assert await store.take_echo("msg:a") is False
    assert await store.take_echo("msg:b") is False


async def test_concurrent_takes_consume_each_echo_once(make: Factory) -> None:
    store = make()
    for _ in range(3):
        await store.expect_echo("msg:c")
    results = await asyncio.gather(*[store.take_echo("msg:c") for _ in range(10)])
    assert results.count(True) == 3


async def test_echoes_expire(make: Factory) -> None:
    store = make(echo_ttl=0.2)
    await store.expect_echo("msg:d")
    await asyncio.sleep(0.35)
    assert await store.take_echo("msg:d") is False


async def test_telegram_agents(make: Factory) -> None:
    store = make()
    assert await store.agents() == set()
    await store.add_agent("amy")
    await store.add_agent("tg:42")
    await store.add_agent("amy")
    assert await store.agents() == {"amy", "tg:42"}


async def test_redis_down_is_store_unavailable() -> None:
    client = connect("redis://127.0.0.1:1/0")
    store = RedisTopicStore(client, -100)
    with pytest.raises(StoreUnavailable):
        await store.topic_of("t1")
    with pytest.raises(StoreUnavailable):
        await store.link("t1", 1)
    await client.aclose()


async def test_make_topic_store_follows_the_settings() -> None:
    assert isinstance(make_topic_store(open_backend(load_settings()), -100), MemoryTopicStore)
    backend = open_backend(load_settings(redis_url="redis://127.0.0.1:6379/15"))
    store = make_topic_store(backend, -100)
    assert isinstance(store, RedisTopicStore) and store.redis is backend.redis
    await backend.close()


# -- the card, the topic name, the buttons ------------------------------------------------------


@pytest.fixture
def texts(brain: Brain) -> Texts:
    return Texts(BrainHolder(brain))


def ticket(**extra: object) -> Ticket:
    context = ContextPacket(
        transcript=[{"role": "shopper", "text": "我170，65公斤"},
                    {"role": "bot", "text": "建议拿 L 码"},
                    {"role": "shopper", "text": "我的手机138****5678"}],
        slots={"height": 170, "weight": 130, "size": "L", "order_id": "123456789012",
               "phone": "13812345678"},
        anger=0.8, reason="angry_complaint", summary="投诉 · 情绪激动")
    values: dict[str, object] = dict(
        id="abc123def456", conversation="telegram:1001", channel="telegram",
        shopper_name="小明", intent="complaint", skill="after_sales", summary="投诉 · 情绪激动",
        reason="angry_complaint", context=context)
    values.update(extra)
    return Ticket.model_validate(values)


def test_topic_name_is_name_intent_summary_without_repeats(texts: Texts) -> None:
    name = topic_name(ticket(), texts)
    title = texts.title("complaint")
    assert name.startswith(f"小明 · {title}")
    assert name.count(title) == 1 and "情绪激动" in name


def test_topic_name_fits_telegram(texts: Texts) -> None:
    long = ticket(shopper_name="名" * 100 + "\n换行", summary="很长的摘要 · " * 30)
    name = topic_name(long, texts)
    assert 1 <= len(name) <= 128 and "\n" not in name
    assert topic_name(ticket(shopper_name="  "), texts).startswith("abc123def456")


def test_card_has_the_context_packet(texts: Texts) -> None:
    text = card_text(ticket(), texts)
    assert "小明" in text and "abc123def456" in text and "投诉 · 情绪激动" in text
    assert "123456789012" in text  # the agent needs the order number
    assert "13812345678" not in text and "138****5678" in text  # the phone is masked
    assert "😡" in text and "0.8" in text
    assert "我170，65公斤" in text and "建议拿 L 码" in text
    assert "L 码" in text


def test_card_keeps_the_last_lines_and_fits_one_message(texts: Texts) -> None:
    busy = ticket(messages=[Message(role="shopper", author="小明", text=f"第{i}句" + "字" * 400,
                                    ts=float(i)) for i in range(40)])
    text = card_text(busy, texts)
    assert len(text) <= MAX_CARD
    assert "第39句" in text and "第0句" not in text


def test_card_for_a_web_shopper_with_a_left_message(texts: Texts) -> None:
    left = ticket(channel="web", conversation="web:w1", left_message="请回电",
                  contact="13900001111")
    text = card_text(left, texts, agent_name="小美")
    assert "网页" in text and "请回电" in text and "13900001111" in text and "小美" in text


def test_buttons_and_their_data(texts: Texts) -> None:
    markup = card_keyboard("abc123def456", texts)
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == ["tk:take:abc123def456", "tk:back:abc123def456", "tk:close:abc123def456",
                    "tk:xfer:abc123def456"]
    assert all(parse_callback(d) is not None for d in data)
    markup = transfer_keyboard("abc123def456", texts, [("amy", "小美"), ("长" * 30, "长名")])
    targets = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert targets == ["tk:to:abc123def456:presale", "tk:to:abc123def456:after_sales",
                       "tk:to:abc123def456:@amy"]  # a name too long for 64 bytes is left out
    assert parse_callback("tk:to:abc123def456:@amy") == ("to", "abc123def456", "@amy")


@pytest.mark.parametrize("data", [None, "", "tk", "tk:take", "tk:eat:abc", "xx:take:abc",
                                  "tk:take:a/b", "tk:to:abc", "say:接待", "tk:take:" + "a" * 41])
def test_foreign_or_broken_data_is_not_ours(data: str | None) -> None:
    assert parse_callback(data) is None


def test_callback_data_never_exceeds_64_bytes() -> None:
    assert callback_data("to", "abc123def456", "@" + "a" * 60) is None
    assert callback_data("take", "abc123def456") == "tk:take:abc123def456"


def test_texts_fall_back_to_the_shipped_ones(brain: Brain, texts: Texts) -> None:
    """A library published before the tg_* texts existed still gives agents real texts."""
    old = dataclasses.replace(brain.library, system={
        k: v for k, v in brain.library.system.items() if not k.startswith("tg_")})
    fallback = Texts(BrainHolder(dataclasses.replace(brain, library=old)))
    assert "tg_status_rated" not in fallback.brains.current.library.system
    assert fallback.get("tg_status_rated", rating=5) == texts.get("tg_status_rated", rating=5)
    assert "5" in fallback.get("tg_status_rated", rating=5)
    assert fallback.get("no_such_text") == "no_such_text"


# -- linking accounts -----------------------------------------------------------------------------


def test_users_add_links_a_telegram_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert kefu(["users", "add", "amy", "--role", "agent", "--display-name", "小美",
                 "--telegram-id", "424242", "--password-stdin"]) == 0
    saved = json.loads((tmp_path / "users.json").read_text())
    assert saved["amy"]["telegram_id"] == 424242
    # A password reset without the option keeps the link.
    monkeypatch.setattr("sys.stdin", io.StringIO("another horse\n"))
    assert kefu(["users", "add", "amy", "--role", "agent", "--password-stdin"]) == 0
    assert json.loads((tmp_path / "users.json").read_text())["amy"]["telegram_id"] == 424242
    capsys.readouterr()
    assert kefu(["users", "list"]) == 0
    assert "amy\tagent\tamy\ttelegram:424242" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert kefu(["users", "add", "bob", "--role", "agent", "--telegram-id", "-5",
                 "--password-stdin"]) == 2
    assert "telegram id" in capsys.readouterr().err


async def test_accounts_without_the_field_still_load(tmp_path: Path) -> None:
    """users.json written before the link existed."""
    (tmp_path / "users.json").write_text(json.dumps({"old": {
        "name": "old", "role": "agent", "password_hash": "x", "display_name": "老"}}))
    store = make_user_store(load_settings(data_dir=tmp_path), MemoryBackend())
    user = await store.get("old")
    assert user is not None and user.telegram_id is None
    with pytest.raises(UserError):
        new_user("amy", "agent", "password123", telegram_id=0)


# -- presence heartbeat ----------------------------------------------------------------------------


async def test_heartbeat_keeps_telegram_agents_online(tmp_path: Path, brain: Brain) -> None:
    from bot.telegram import TelegramChannel
    from tests.fake_telegram import TOKEN

    settings = load_settings(data_dir=tmp_path, hours=json.loads(ALWAYS_OPEN),
                             telegram_agent_chat=-100123)
    services = Services.build(settings, store=MemoryConversationStore(), brain=brain)
    channel = TelegramChannel(services, TOKEN, api_url="http://127.0.0.1:1")
    desk = channel.desk
    assert desk is not None
    try:
        await services.handoff.set_presence("amy", "online", capacity=2)
        await services.handoff.set_presence("zoe", "offline")
        await desk.topics.add_agent("amy")
        await desk.topics.add_agent("zoe")
        for name in ("amy", "zoe"):  # their last heartbeat was long ago
            profile = await services.handoff.store.get_agent(name)
            assert profile is not None
            await services.handoff.store.save_agent(profile.model_copy(
                update={"last_seen": profile.last_seen - 1000}))
        stale = await services.handoff.agent("amy")
        assert stale is not None and stale.presence == "offline"
        await desk.renew_presence()
        amy = await services.handoff.agent("amy")
        zoe = await services.handoff.agent("zoe")
        assert amy is not None and amy.presence == "online" and amy.capacity == 2
        assert zoe is not None and zoe.presence == "offline"  # /offline stays offline
    finally:
        await channel.bot.session.close()


def test_agent_chat_must_be_a_group(tmp_path: Path, brain: Brain) -> None:
    from bot.telegram import TelegramChannel
    from config import SettingsError

    settings = load_settings(data_dir=tmp_path, telegram_agent_chat=12345,
                             telegram_token="123456:AAH-valid-looking-token")
    services = Services.build(settings, store=MemoryConversationStore(), brain=brain)
    with pytest.raises(SettingsError, match="AGENT_CHAT"):
        TelegramChannel.from_settings(services)


def test_texts_are_cut_the_way_telegram_counts(texts: Texts) -> None:
    """Telegram counts UTF-16 units: an emoji-heavy card must still fit one message."""
    assert fit("abcdef", 4) == "abc…" and fit("abc", 3) == "abc"
    assert units(fit("😀" * 10, 7)) <= 7 and fit("a😀" * 10, 8) == "a😀a😀a…"
    noisy = ticket(messages=[Message(role="shopper", author="小明", text="😭" * 290,
                                     ts=float(i)) for i in range(30)])
    assert units(card_text(noisy, texts)) <= MAX_CARD
