"""Answers from the question library: the topic a shopper asked, follow-ups, 猜你想问, small
talk, and a person when the bot cannot place a line twice."""

from __future__ import annotations

import pytest

from bot.services import Services
from bot.turn import Incoming, Turn
from scripts_zh.renderer import render


async def say(services: Services, text: str, chat: str = "a1") -> Turn:
    return await services.engine.handle(Incoming(channel="test", chat_id=chat, text=text))


def answers(services: Services, topic: str) -> list[str]:
    """The topic's answers as a shopper sees them (rendered)."""
    brain = services.brains.current
    found = brain.library.topic(topic)
    assert found is not None, topic
    context = {"shop_name": brain.shop_name, "customer_name": "", "slots": {}}
    return [render(a, context) for a in found.answers]


@pytest.mark.parametrize(("text", "topic"), [
    ("你好", "greeting_hello"),
    ("这件是纯棉的吗", "material_cotton"),
    ("发什么快递", "presale_courier"),
    ("退货运费谁出", "refund_return_shipping_who"),
    ("好的谢谢", "thanks_thank_you"),
    ("會起球嗎", "pilling"),  # Traditional in, the same topic
])
async def test_the_question_asked_gets_its_own_answer(services: Services, text: str,
                                                      topic: str) -> None:
    turn = await say(services, text, chat=topic)
    assert turn.topic == topic and turn.topic_score is not None
    assert turn.status == "bot"
    assert len(turn.replies) == 1
    shown = turn.replies[0].text
    expected = answers(services, topic)
    if text == "會起球嗎":
        from scripts_zh.renderer import to_traditional
        expected = [to_traditional(a) for a in expected]
    assert shown in expected


@pytest.mark.parametrize(("first", "then", "topic"), [
    ("包邮吗", "那运费呢", "shipping_fee"),
    ("退货运费谁出", "那换货呢", "refund_exchange_flow"),
    ("会起球吗", "那掉色吗", "colour_fastness"),
])
async def test_short_follow_ups_are_read_with_the_topic_before(
        services: Services, first: str, then: str, topic: str) -> None:
    await say(services, first, chat=first)
    turn = await say(services, then, chat=first)
    assert turn.topic == topic
    assert turn.replies[0].text in answers(services, topic)


async def test_a_follow_up_without_a_topic_goes_on_with_the_dialogue(services: Services) -> None:
    first = await say(services, "快递到哪了", chat="parcel")
    assert first.topic == "logistics_where_parcel" and first.dialog == "logistics"
    turn = await say(services, "都一个星期了", chat="parcel")
    assert turn.action == "action_logistics"  # it asks for the order, not a topic menu
    prompts = services.brains.current.library.intents["logistics"].prompts["ask_order"]
    assert turn.replies[0].text in prompts


@pytest.mark.parametrize("text", ["嗯嗯", "好的", "[微笑]", "👍", "没事了", "在吗", "谢谢亲"])
async def test_small_talk_gets_a_short_reply_never_a_menu(services: Services, text: str) -> None:
    turn = await say(services, text, chat="smalltalk")
    assert turn.action == "action_reply", turn
    assert turn.intent in {"greeting", "thanks", "goodbye"}
    assert turn.replies and len(turn.replies[0].text) <= 40


async def test_near_topics_are_offered_and_picking_one_answers_it(services: Services) -> None:
    turn = await say(services, "你们家衣服质量怎么样啊", chat="guess")
    assert turn.action == "action_suggest"
    assert 2 <= len(turn.suggested) <= 3
    library = services.brains.current.library
    questions = [library.topics[t][1].question for t in turn.suggested]
    assert list(turn.replies[0].buttons) == questions  # the standard questions, not intents
    picked = await say(services, questions[-1], chat="guess")
    assert picked.topic == turn.suggested[-1]
    assert picked.replies[0].text in answers(services, turn.suggested[-1])


async def test_two_unplaced_lines_in_a_row_are_handed_to_a_person(services: Services) -> None:
    actions = [(await say(services, line, chat="lost")).action
               for line in ("asdf", "qwer", "zxcv")]
    assert actions[0] in {"action_fallback", "action_clarify"}
    assert actions[1] in {"action_fallback", "action_clarify"}
    assert actions[2] == "action_handoff"
    ticket = await services.handoff.open_ticket_of("test:lost")
    assert ticket is not None and ticket.reason == "unanswered"


async def test_a_topic_for_a_person_answers_and_hands_over(services: Services) -> None:
    turn = await say(services, "发错货了", chat="wrong")
    assert turn.topic == "complaint_wrong_item"
    assert turn.replies[0].text in answers(services, "complaint_wrong_item")
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of("test:wrong")
    assert ticket is not None and ticket.reason == "topic_notify"


async def test_a_promotion_is_not_answered_outside_its_dates(services: Services) -> None:
    from datetime import date

    from scripts_zh.models import Topic

    old = Topic(id="promo_double_twelve", question="双十二活动", phrasings=["双十二有活动吗"],
                answers=["有"], valid_until=date(2020, 12, 12))
    assert not old.valid_on(date(2026, 12, 4))
    assert old.valid_on(date(2020, 12, 1))
