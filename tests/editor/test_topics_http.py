"""Topics in the editor over real HTTP: the try box's matched question and every answer,
the unanswered questions page, and editing topics on the intent page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest

from bot.services import Services
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
        assert "100.0%" in topic
        runners = _section(page, 'id="trial-runners-up"', "</table>")
        assert runners.count("<tr data-topic=") >= 2 and "material_cotton" not in runners
        variants = _section(page, 'id="trial-variants"', "</ol>")
        assert variants.count("<li") == len(cotton.answers)
        assert variants.count("这次用了这条") == 1

        # No topic: the intent's generic replies, every one listed, the said one marked.
        page = await boss.post("/editor/try", {"text": "这件薄的还是厚的"})
        assert "没有匹配到问题" in page and "/editor/unanswered" not in _section(
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
