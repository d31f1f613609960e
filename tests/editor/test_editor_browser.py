"""The editor in Debian's chromium: edit, try, publish, see the web chat change, roll back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services import Services
from scripts_zh.renderer import render
from tests.browser import chromium, screenshot
from tests.editor.helpers import add_accounts, running_site
from tests.editor.steps import accept_dialogs, ask, edit_intent, log_in, publish, roll_back_to
from tests.editor.steps import try_sentence as try_in_editor

pytestmark = pytest.mark.browser

NEW = ["【新】亲，这款是100%纯棉的哦，亲肤透气～", "【新】是纯棉面料的亲，放心拍～"]


@pytest.fixture
async def site(services: Services) -> AsyncIterator[str]:
    await add_accounts(services)
    async with running_site(services) as url:
        yield url


async def test_manager_edits_publishes_and_rolls_back(site: str, services: Services) -> None:
    brain = services.brains.current
    old = [render(t, {"shop_name": brain.shop_name, "customer_name": "", "slots": {}})
           for t in brain.library.intents["presale"].replies]
    async with chromium() as browser:
        manager = await browser.new_page(viewport={"width": 1280, "height": 900})
        accept_dialogs(manager)
        await log_in(manager, site, "boss")
        await screenshot(manager, "editor-intents")

        await edit_intent(manager, site, "presale", "这件衣服是什么面料做的", NEW)
        await manager.locator("#f-examples").scroll_into_view_if_needed()
        await screenshot(manager, "editor-intent")
        await manager.goto(site + "/editor/diff?from=0&to=draft")
        await screenshot(manager, "editor-diff")

        replies = await try_in_editor(manager, site, "有什么推荐的吗")
        assert "【新】" in replies
        assert await manager.locator("#trial-intent").inner_text() == "presale"
        await screenshot(manager, "editor-try")

        shopper = await browser.new_page()
        await shopper.goto(site + "/chat")
        await shopper.locator(".msg--bot").first.wait_for()
        assert "【新】" not in await ask(shopper, "有什么推荐的吗", old)  # drafts are not live

        other = await browser.new_page(viewport={"width": 1280, "height": 900})
        await log_in(other, site, "lily")
        await other.goto(site + "/editor/intents/refund")
        await other.fill("#description", "退换货、退款（丽丽改）")
        await other.click("#save")
        await other.wait_for_selector("#flash")

        number = await publish(manager, "面料回复改成纯棉说明")
        assert number == 1
        await screenshot(manager, "editor-versions")

        await other.fill("#publish-note", "丽丽的改动")
        await other.click("#publish-button")
        await other.wait_for_selector("#stale")
        refusal = await other.locator("#stale").inner_text()
        assert "boss" in refusal and "v1" in refusal and "面料回复改成纯棉说明" in refusal
        await screenshot(other, "editor-stale")
        assert "【新】" in await ask(shopper, "有什么推荐的吗", NEW)  # no restart, same tab
        await screenshot(shopper, "editor-chat-after-publish")

        assert await roll_back_to(manager, site, 0) == 2
        assert "【新】" not in await ask(shopper, "有什么推荐的吗？", old)
        assert services.brains.current.version.startswith("v2-")
