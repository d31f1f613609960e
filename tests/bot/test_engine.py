"""The engine end to end on the default library, with the in-memory store."""

from __future__ import annotations

import pytest

from bot.brain import Brain
from bot.services import Services
from bot.storage import StoreUnavailable
from bot.turn import Incoming, Turn
from intents.normalize import is_traditional
from scripts_zh.renderer import render


async def say(services: Services, text: str, chat: str = "t1", kind: str = "text") -> Turn:
    return await services.engine.handle(
        Incoming(channel="test", chat_id=chat, text=text, kind=kind))  # type: ignore[arg-type]


def library_texts(services: Services, intent: str, key: str | None = None) -> list[str]:
    found = services.brains.current.library.intents[intent]
    return list(found.prompts[key] if key else found.replies)


async def test_welcome_comes_from_the_library(services: Services) -> None:
    replies = await services.engine.welcome("test", "w1")
    assert len(replies) == 1
    assert "测试小铺" in replies[0].text


@pytest.mark.parametrize(("text", "intent"), [
    ("你好", "greeting"),
    ("这件是纯棉的吗", "presale"),
    ("我要退货", "refund"),
    ("转人工", "human"),
])
async def test_core_intents_are_answered(services: Services, text: str, intent: str) -> None:
    turn = await say(services, text)
    assert turn.intent == intent
    assert turn.replies and all(r.text for r in turn.replies)
    assert turn.confidence is not None and turn.confidence >= services.settings.classifier_threshold


async def test_traditional_in_traditional_out(services: Services) -> None:
    turn = await say(services, "發貨了嗎")
    assert turn.intent == "logistics"
    assert turn.replies
    assert all(is_traditional(r.text) for r in turn.replies), [r.text for r in turn.replies]


async def test_refund_asks_for_the_order_then_hands_it_to_a_person(services: Services) -> None:
    first = await say(services, "我要退货")
    assert first.dialog == "refund"
    second = await say(services, "订单号 2345678901234567")
    assert second.action == "action_refund"
    assert second.slots["order_id"] == "2345678901234567"
    assert "4567" in second.replies[0].text
    assert second.dialog is None
    # Nothing looks orders up yet: the order number goes to a person, as the reply says.
    assert second.status == "waiting"
    ticket = await services.handoff.open_ticket_of("test:t1")
    assert ticket is not None and ticket.reason == "order_followup"
    assert ticket.context.slots["order_id"] == "2345678901234567"


async def test_sizing_dialogue_over_several_turns(services: Services) -> None:
    turns = [await say(services, line, "size1")
             for line in ("你好", "这件卫衣什么码合适", "我170", "65公斤", "喜欢宽松点")]
    last = turns[-1]
    assert last.slots["height"] == 170 and last.slots["weight"] == 130
    assert last.slots["fit"] == "loose"
    assert last.slots.get("size") in {"M", "L", "XL"}
    assert last.slots["size"] in last.replies[0].text
    reasons = [t for key, variants in services.brains.current.library.intents["sizing"].prompts
               .items() if key.startswith("reason_") for t in variants]
    assert any(reason in last.replies[0].text for reason in reasons), last.replies[0].text
    assert turns[2].action == "action_sizing"


async def test_sizing_in_one_line(services: Services) -> None:
    turn = await say(services, "身高175体重140斤穿什么码", "size2")
    assert turn.action == "action_sizing"
    assert turn.slots["height"] == 175 and turn.slots["weight"] == 140


async def test_out_of_chart_hands_off(services: Services) -> None:
    await say(services, "身高230 体重400斤 穿什么码", "size3")
    turn = await say(services, "修身", "size3")
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of("test:size3")
    assert ticket is not None and ticket.reason == "sizing_out_of_chart"
    assert ticket.context.slots["height"] == 230


async def test_handoff_pauses_the_bot(services: Services) -> None:
    turn = await say(services, "转人工", "h1")
    assert turn.status == "waiting"
    left = await say(services, "我的问题是退货", "h1")
    assert left.replies and left.status == "waiting"
    silent = await say(services, "有人吗", "h1")
    assert silent.replies == [] and silent.status == "waiting"
    transcript = await services.store.transcript("test:h1")
    assert [e.role for e in transcript][-1] == "shopper"


async def test_clarify_then_pick_an_option(services: Services) -> None:
    state_key = "test:c1"
    turn = await say(services, "那个", "c1")
    assert turn.action in {"action_clarify", "action_fallback", "action_reply"}
    state = await services.store.load(state_key)
    assert state is not None
    state.control.clarify_options = ["refund", "logistics"]
    await services.store.save(state_key, state)
    picked = await say(services, "2", "c1")
    assert picked.intent == "logistics" and picked.action == "action_logistics"


async def test_repeated_misunderstanding_hands_off(services: Services) -> None:
    state_key = "test:u1"
    await say(services, "嗯？", "u1")
    state = await services.store.load(state_key)
    assert state is not None
    state.control.unanswered = services.settings.unanswered_handoff
    await services.store.save(state_key, state)
    turn = await say(services, "今天天气怎么样", "u1")
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of(state_key)
    assert ticket is not None and ticket.reason == "unanswered"


@pytest.mark.parametrize(("text", "kind", "action"), [
    ("", "text", "input_empty"),
    ("   \n ", "text", "input_empty"),
    ("啊" * 5000, "text", "input_too_long"),
    ("", "photo", "input_unsupported"),
    ("", "sticker", "input_unsupported"),
])
async def test_bad_input_gets_a_clear_answer(services: Services, text: str, kind: str,
                                             action: str) -> None:
    turn = await say(services, text, "bad", kind)
    assert turn.action == action
    assert len(turn.replies) == 1 and turn.replies[0].text
    assert turn.replies[0].text in [
        t for t in services.brains.current.library.system[action]]


@pytest.mark.parametrize("text", ["😀😀😀", "\x00\xff\xfe\x01binary", "！！！？？？", "\ud800x",
                                  "https://example.com/item?id=1", "[订单x]"])
async def test_odd_input_never_crashes(services: Services, text: str) -> None:
    turn = await say(services, text, "odd")
    assert turn.replies, turn
    assert turn.action != "error"
    assert not any("Traceback" in r.text for r in turn.replies)


async def test_store_failure_becomes_the_error_text(services: Services,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(key: str) -> None:
        raise StoreUnavailable("gone")

    monkeypatch.setattr(services.store, "load", broken)
    turn = await say(services, "你好", "gone")
    assert turn.action == "error"
    assert turn.replies[0].text in services.brains.current.library.system["error"]


async def test_transcript_is_capped_and_masks_phones(services: Services) -> None:
    services.settings.transcript_cap = 10
    for i in range(12):
        await say(services, f"我的手机13812345678 第{i}次", "cap")
    transcript = await services.store.transcript("test:cap")
    assert len(transcript) == 10
    assert all("13812345678" not in e.text for e in transcript)


async def test_an_angry_shopper_is_never_asked_to_pick_an_option(services: Services) -> None:
    """Even when the classifier hesitates, anger routes a complaint to the complaint path."""
    services.settings.classifier_threshold = 0.999  # every prediction counts as hesitant
    turn = await say(services, "你们就是骗子！！！垃圾店", "a1")
    assert turn.intent == "complaint" and turn.action == "action_complaint"
    assert turn.status == "waiting"  # the complaint action hands an angry shopper off


def test_shop_name_is_the_setting_or_else_the_librarys_own_text(brain: Brain) -> None:
    """No shop name in Python: an unset setting falls back to system.yaml's ``shop_name``,
    which managers edit; a configured name wins, and every Brain resolves it once."""
    library = brain.library
    own = library.system["shop_name"][0]
    assert own and library.shop_name("") == own and library.shop_name("码头店") == "码头店"
    unset = Brain(library, brain.classifier, "")
    assert unset.shop_name == own
    assert Brain(library, brain.classifier, "码头店").shop_name == "码头店"
    welcome = render(library.system["welcome"][0], {"shop_name": unset.shop_name})
    assert own in welcome


async def test_the_length_limit_applies_while_waiting(services: Services) -> None:
    """A waiting shopper's overlong line is refused like any other, not put on the ticket."""
    assert (await say(services, "转人工", "long1")).status == "waiting"
    limit = services.settings.max_message_chars
    turn = await say(services, "很" * (limit + 1), "long1")
    assert turn.action == "input_too_long" and turn.status == "waiting" and turn.replies
    ticket = await services.handoff.open_ticket_of("test:long1")
    assert ticket is not None
    assert all(len(m.text) <= limit for m in ticket.messages)
    transcript = await services.store.transcript("test:long1")
    assert all(len(e.text) <= limit for e in transcript)
    ok = await say(services, "很" * limit, "long1")
    assert ok.action == "relay"
