"""Topics in the editor over real HTTP: the try box's matched question and every answer,
the unanswered questions page, and editing topics on the intent page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest

from bot.services import Services
from bot.turn import Incoming
from tests.editor.helpers import add_accounts, browser, running_site


@pytest.fixture
async def site(services: Services) -> AsyncIterator[str]:
    await add_accounts(services)
    async with running_site(services) as url:
        yield url


def _section(page: str, marker: str, end: str = "</section>") -> str:
    start = page.index(marker)
    return page[start:page.index(end, start)]


async def test_try_shows_the_matched_topic_runners_up_and_every_answer(
        site: str, services: Services) -> None:
    library = services.brains.current.library
    cotton = library.topic("material_cotton")
    assert cotton is not None
    async with browser(site, "boss") as boss:
        page = await boss.post("/editor/try", {"text": "这件是纯棉的吗"})
        assert 'id="trial-intent">presale<' in page
        assert re.search(r'id="trial-confidence">\d+\.\d%<', page)
        topic = _section(page, 'id="trial-topic"', "</p>")
        assert 'data-topic="material_cotton"' in topic and html.escape(cotton.question) in topic
        assert re.search(r'匹配度 <span class="score">\d+\.\d%</span>', topic), topic
        runners = _section(page, 'id="trial-runners-up"', "</table>")
        assert runners.count("<tr data-topic=") >= 2 and "material_cotton" not in runners
        variants = _section(page, 'id="trial-variants"', "</ol>")
        assert variants.count("<li") == len(cotton.answers)
        assert variants.count("这次用了这条") == 1

        # No topic: the intent's generic replies, every one listed, the said one marked.
        page = await boss.post("/editor/try", {"text": "有什么推荐的吗"})
        assert "没有匹配到问题" in page and "/editor/unanswered" in _section(
            page, 'id="trial-topic"', "</p>")
        variants = _section(page, 'id="trial-variants"', "</ol>")
        replies = library.intents["presale"].replies
        assert variants.count("<li") == len(replies)
        assert variants.count("这次用了这条") == 1
        assert "意图的通用回复" in page

        # Nothing understood: the fallback/clarify system text's variants.
        page = await boss.post("/editor/try", {"text": "你们老板是谁"})
        assert "系统话术 <code>clarify</code>" in page or "系统话术 <code>fallback</code>" in page
        assert "没答上的问题" in page


async def test_unanswered_lines_are_grouped_masked_and_added_as_phrasings_in_one_click(
        site: str, services: Services) -> None:
    assert services.library is not None
    for i, text in enumerate(["这件衣服的料子怎么样", "你们老板是谁", "这件衣服的料子怎么样？",
                              "这件是纯棉的吗", "这件衣服的料子怎么样呀",
                              "我手机13812345678 你们老板是谁啊"]):
        await services.engine.handle(Incoming("web", f"u{i}", text))
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor/unanswered")
        groups = _section(page, 'id="unanswered-groups"', "</table>")
        rows = groups.split('<tr data-group=')[1:]
        assert len(rows) == 3, rows
        phone_row, thick_row, boss_row = rows  # newest first
        assert "13812345678" not in page and "我手机138****5678 你们老板是谁啊" in phone_row
        assert "你们老板是谁" in boss_row and '<td class="count">1</td>' in boss_row
        assert "这件衣服的料子怎么样呀" in thick_row and '<td class="count">3</td>' in thick_row
        assert 'name="topic" list="topic-list" value="thickness"' in thick_row
        assert "纯棉" not in groups  # answered by its topic, not listed
        assert '<option value="material_cotton">' in page

        page = await boss.post("/editor/unanswered/add",
                               {"text": "这件衣服的料子怎么样呀", "topic": "thickness"})
        assert "已加为问题 thickness 的相似问法" in page
        groups = _section(page, 'id="unanswered-groups"', "</table>")
        assert "衣服的料子怎么样" not in groups and "1 组已经加到草稿的问题里" in page
        draft = await services.library.versions.get_draft("boss")
        assert draft is not None
        presale = draft.texts["intents/presale.yaml"]
        assert presale.startswith("# 售前")  # comments kept
        assert '      - "这件衣服的料子怎么样呀"\n    answers:' in presale
        # The live bot is unchanged until the manager publishes.
        turn = await services.engine.handle(Incoming("web", "before", "这件衣服的料子怎么样呀"))
        assert turn.topic is None
        await boss.post("/editor/publish", {"note": "加问法"})
        turn = await services.engine.handle(Incoming("web", "after", "这件衣服的料子怎么样呀"))
        assert turn.topic == "thickness"
        thickness = services.brains.current.library.topic("thickness")
        assert thickness is not None and "这件衣服的料子怎么样呀" in thickness.phrasings


async def test_adding_to_an_unknown_topic_or_an_empty_line_is_refused_in_chinese(
        site: str, services: Services) -> None:
    await services.engine.handle(Incoming("web", "u1", "你们老板是谁"))
    async with browser(site, "boss") as boss:
        await boss.get("/editor/unanswered")
        page = await boss.post("/editor/unanswered/add",
                               {"text": "你们老板是谁", "topic": "nope", "row": "1"},
                               status=400)
        assert "“加到哪个问题”：草稿里没有编号为“nope”的问题" in page
        page = await boss.post("/editor/unanswered/add", {"text": " ", "topic": "thickness"},
                               status=400)
        assert "“要加的问法”不能为空" in page
        page = await boss.post("/editor/unanswered/add",
                               {"text": "长" * 201, "topic": "thickness"}, status=400)
        assert "最多 200 个字" in page
        assert await _draft_of(services, "boss") is None  # nothing saved
        page = await boss.post("/editor/unanswered/forget", {"line": "你们老板是谁"})
        assert "已忽略" in page and 'id="unanswered-empty"' in page


async def _draft_of(services: Services, user: str) -> dict[str, str] | None:
    assert services.library is not None
    draft = await services.library.versions.get_draft(user)
    return draft.texts if draft else None


def _topic_form(csrf: str, question: str, phrasings: list[str], answers: list[str],
                quick: list[str] | None = None, **extra: str) -> aiohttp.FormData:
    form = aiohttp.FormData({"csrf": csrf, "question": question,
                             "phrasings": "\n".join(phrasings),
                             "quick_replies": "\n".join(quick or []), **extra})
    for answer in answers:
        form.add_field("answer", answer)
    return form


async def test_topics_are_searched_edited_added_and_moved_on_the_intent_page(
        site: str, services: Services) -> None:
    library = services.brains.current.library
    cotton = library.topic("material_cotton")
    assert cotton is not None
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor/intents/presale")
        assert 'id="topic-material_cotton"' in page and 'id="topic-thickness"' in page
        page = await boss.get("/editor/intents/presale?q=" + quote("纯棉"))
        assert 'id="topic-material_cotton"' in page and 'id="topic-thickness"' not in page

        page = await boss.post("/editor/intents/presale/topics/material_cotton", _topic_form(
            boss.csrf, cotton.question, [*cotton.phrasings[1:], "纯棉的不"],
            ["亲，是纯棉的哦 A", "亲，是纯棉的哦 B"], ["会缩水吗"]))
        assert "已保存到你的草稿" in page and 'id="topic-material_cotton" open' in page
        page = await boss.post("/editor/intents/presale/topics", aiohttp.FormData({
            "csrf": boss.csrf, "id": "engraving", "question": "能刻字吗",
            "phrasings": "可以刻字吗\n能帮忙刻个名字吗\n刻字收费吗\n能刻英文吗\n刻字要多久",
            "answer": "亲，可以备注刻字内容，我们免费刻好～", "quick_replies": ""}))
        assert "已创建" in page and 'id="topic-engraving" open' in page
        page = await boss.post("/editor/intents/presale/topics/material_cotton/move",
                               {"phrasing": "纯棉的不", "to": "engraving"})
        assert "问法已移到另一个问题" in page
        draft = await _draft_of(services, "boss")
        assert draft is not None and draft["intents/presale.yaml"].startswith("# 售前")
        await boss.post("/editor/publish", {"note": "问题"})
    library = services.brains.current.library
    cotton = library.topic("material_cotton")
    engraved = library.topic("engraving")
    assert cotton is not None and engraved is not None
    assert cotton.answers == ["亲，是纯棉的哦 A", "亲，是纯棉的哦 B"]
    assert cotton.quick_replies == ["会缩水吗"] and "纯棉的不" not in cotton.phrasings
    assert "纯棉的不" in engraved.phrasings and library.topics["engraving"][0].name == "presale"
    turn = await services.engine.handle(Incoming("web", "g1", "能帮忙刻个名字吗"))
    assert turn.topic == "engraving"


async def test_topic_errors_are_shown_in_chinese_next_to_the_field(
        site: str, services: Services) -> None:
    async with browser(site, "boss") as boss:
        await boss.get("/editor/intents/presale")
        page = await boss.post("/editor/intents/presale/topics/material_cotton", _topic_form(
            boss.csrf, "纯", ["长" * 201], []), status=400)
        topic = _section(page, 'id="topic-material_cotton" open', "</details>")
        assert "不能为空" in topic and "第 1 条：太长了，最多 200 个字" in topic
        assert "长" * 201 in topic  # shown as typed
        page = await boss.post("/editor/intents/presale/topics", aiohttp.FormData({
            "csrf": boss.csrf, "id": "thickness", "question": "厚吗", "phrasings": "厚不厚",
            "answer": "亲"}), status=400)
        assert "已经有这个编号的问题了" in _section(page, 'id="topic-new" open', "</details>")
        page = await boss.post("/editor/intents/presale/topics/material_cotton/move",
                               {"phrasing": "没有这句", "to": "nope"}, status=400)
        assert "这个问题里没有这条问法" in page and "草稿里没有这个编号的问题" in page
        assert await _draft_of(services, "boss") is None
        # A library problem inside a topic is shown on that topic, with file and line.
        await boss.post("/editor/intents/presale/topics/material_cotton", _topic_form(
            boss.csrf, "这件是纯棉的吗", ["是纯棉的吗"], ["亲，{{ price }} 元"]))
        page = await boss.get("/editor/intents/presale")
        topic = _section(page, 'id="topic-material_cotton"', "</details>")
        assert "price" in topic and "intents/presale.yaml:" in topic
