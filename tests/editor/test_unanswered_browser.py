"""没答上的问题 in Debian's chromium: a shopper's line with no topic shows up, the manager
adds it to a topic in one click, publishes, and the same line gets that topic's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services import Services
from scripts_zh.renderer import render
from tests.browser import chromium, screenshot
from tests.editor.helpers import add_accounts, running_site
from tests.editor.steps import add_unanswered, ask, log_in, publish

pytestmark = pytest.mark.browser

LINE = "这件衣服的料子怎么样呀"


@pytest.fixture
async def site(services: Services) -> AsyncIterator[str]:
    await add_accounts(services)
    async with running_site(services) as url:
        yield url


async def test_a_line_without_a_topic_is_added_in_one_click_and_answered_after_publish(
        site: str, services: Services) -> None:
    brain = services.brains.current
    context = {"shop_name": brain.shop_name, "customer_name": "", "slots": {}}
    thickness = brain.library.topic("thickness")
    assert thickness is not None
    answers = [render(t, context) for t in thickness.answers]
    async with chromium() as browser:
        shopper = await browser.new_page()
        await shopper.goto(site + "/chat")
        await shopper.locator(".msg--bot").first.wait_for()
        said = await ask(shopper, LINE, ["亲"])  # no topic yet: a clarifying question
        assert not any(a in said for a in answers)

        manager = await browser.new_page(viewport={"width": 1280, "height": 900})
        await log_in(manager, site, "boss")
        await manager.goto(site + "/editor/unanswered")
        row = manager.locator("tr.group", has_text=LINE)
        assert await row.count() == 1
        assert await row.locator("input[name=topic]").input_value() == "thickness"
        await screenshot(manager, "editor-unanswered")
        assert await add_unanswered(manager, site, LINE) == "thickness"
        assert await manager.locator("tr.group", has_text=LINE).count() == 0
        await publish(manager, "加相似问法")

        said = await ask(shopper, LINE, answers)  # the same tab, no restart
        assert any(a in said for a in answers)
