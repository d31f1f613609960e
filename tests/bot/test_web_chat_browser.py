"""The web chat in a real headless chromium: what a shopper sees and clicks."""

from __future__ import annotations

import pytest

from bot.services import Services
from tests.browser import chromium, screenshot

pytestmark = pytest.mark.browser


async def test_shopper_chats_in_the_browser(base_url: str, services: Services) -> None:
    library = services.brains.current.library
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base_url + "/")
        bot = page.locator(".msg--bot")
        await bot.first.wait_for()
        assert "测试小铺" in await bot.first.inner_text()

        async def ask(text: str) -> str:
            before = await bot.count()
            await page.fill("#text", text)
            await page.press("#text", "Enter")
            await bot.nth(before).wait_for()
            return await bot.nth(before).inner_text()

        assert (await ask("这件是纯棉的吗")).strip()
        refund = await ask("我要退货")
        assert any(r.split("{")[0][:6] in refund for r in library.intents["refund"].replies)
        traditional = await ask("發貨了嗎")
        assert any(ch in traditional for ch in "訂單發貨幫們麼裏"), traditional

        await page.fill("#text", "<script>window.pwned=1</script>")
        await page.press("#text", "Enter")
        await page.locator(".msg--me").last.wait_for()
        assert await page.evaluate("window.pwned === undefined")
        assert "<script>" in await page.locator(".msg--me").last.inner_text()

        buttons = page.locator(".msg--bot .buttons button")
        if await buttons.count():
            before = await bot.count()
            await buttons.first.click()
            await bot.nth(before).wait_for()
        await screenshot(page, "web-chat")
