"""The console in a real headless chromium, next to a shopper in the web chat.

Two browser contexts (two people, two cookie jars): the shopper asks for a human, the agent
logs in, takes the ticket from the queue, reads the context, replies (also with a quick
phrase), notes, closes; the shopper sees the replies, never the note, and rates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, Page, expect

from bot.services import Services
from tests.browser import chromium, screenshot
from tests.console.helpers import Site, shopper, until
from tests.console.test_console_http import ORDER, assert_services

pytestmark = pytest.mark.browser
expect.set_options(timeout=15_000)

NOTE = "顾客很着急，仓库先查破损照片"


@asynccontextmanager
async def pages(site: Site) -> AsyncIterator[tuple[Browser, Page, Page]]:
    """A shopper's page on /chat and an agent's page, each in its own browser context."""
    async with chromium() as browser:
        shop_context = await browser.new_context(viewport={"width": 480, "height": 800})
        agent_context = await browser.new_context(viewport={"width": 1440, "height": 900})
        shop = await shop_context.new_page()
        agent = await agent_context.new_page()
        errors: list[str] = []
        for page in (shop, agent):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        await shop.goto(site.url + "/chat")
        await shop.locator(".msg--bot").first.wait_for()
        yield browser, shop, agent
        assert errors == [], errors


async def say(shop: Page, text: str) -> None:
    """The shopper types a line and waits until the page shows it sent."""
    before = await shop.locator(".msg--me").count()
    await shop.fill("#text", text)
    await shop.press("#text", "Enter")
    await expect(shop.locator(".msg--me")).to_have_count(before + 1)


async def log_in(agent: Page, site: Site, name: str = "amy") -> None:
    await agent.goto(site.url + "/console")
    assert "/login" in agent.url, "anonymous visitors must be sent to the login page"
    await agent.fill('input[name="name"]', name)
    await agent.fill('input[name="password"]', "correct horse")
    await agent.click('button[type="submit"]')
    await agent.wait_for_url("**/console")
    await expect(agent.locator("#conn")).to_have_attribute("data-state", "online")


async def test_agent_serves_a_shopper_end_to_end(site: Site) -> None:
    services: Services = assert_services(site)
    async with pages(site) as (_, shop, agent):
        await say(shop, "我要退货")
        await say(shop, f"订单号 {ORDER}")  # the order number goes to a person
        await expect(shop.locator("#status")).to_have_attribute("data-status", "waiting")
        await say(shop, "衣服有破洞，电话13812345678")  # nobody online yet: a left message
        await expect(shop.locator(".msg--bot").last).to_contain_text("留言")

        await log_in(agent, site)
        row = agent.locator("#queue li.row").first
        await expect(row).to_contain_text(ORDER[-4:])
        await expect(row).to_contain_text("顾客提供了订单号，需人工查看")
        await expect(row.locator(".row__left")).to_contain_text("衣服有破洞")
        await expect(row.locator(".row__wait")).to_contain_text("秒")
        await screenshot(agent, "console-queue")

        await row.locator("button.take").click()
        await expect(agent.locator("#queue li.row")).to_have_count(0)
        await expect(agent.locator("#mine li.row")).to_have_count(1)
        await expect(agent.locator("#ctx-summary")).to_contain_text(ORDER[-4:])
        await expect(agent.locator("#ctx-slots")).to_contain_text(ORDER)
        await expect(agent.locator("#ctx-contact")).to_have_text("13812345678")
        await expect(agent.locator("#ctx-turns tr")).not_to_have_count(0)
        await expect(agent.locator("#messages .msg--shopper").first).to_contain_text("我要退货")
        await expect(shop.locator("#status")).to_have_attribute("data-status", "agent")
        await expect(shop.locator(".msg--bot").last).to_contain_text("小美")

        await agent.fill("#reply", "您好，我是小美，马上帮您处理退货")
        await agent.click("#send")
        await expect(shop.locator(".msg--agent").last).to_contain_text("马上帮您处理退货")
        await expect(agent.locator("#reply")).to_have_value("")

        await say(shop, "好的，麻烦快一点")
        await expect(agent.locator("#messages .msg--shopper").last).to_contain_text("麻烦快一点")

        phrase = agent.locator(f'.phrase[data-text*="{ORDER}"]')
        await phrase.click()
        await expect(agent.locator("#reply")).to_have_value(
            f"亲，您的订单{ORDER}我这边已经帮您查到了，稍等我看一下具体情况哦～")
        await agent.click("#send")
        await expect(shop.locator(".msg--agent").last).to_contain_text(ORDER)

        await agent.fill("#note-text", NOTE)
        await agent.click("#note-add")
        await expect(agent.locator("#notes li")).to_contain_text([NOTE])
        await agent.locator("#context").evaluate("node => { node.scrollTop = 0; }")
        await screenshot(agent, "console-chat")

        await agent.click("#close")
        await expect(agent.locator("#chat-status")).to_have_text("已结束")
        await expect(agent.locator("#mine li.row")).to_have_count(0)
        rating_question = shop.locator(".msg--bot").last
        await expect(rating_question.locator(".buttons button")).to_have_count(5)
        await expect(shop.locator("#status")).to_have_attribute("data-status", "closed")
        assert NOTE not in await shop.locator("#log").inner_text()

        await rating_question.get_by_role("button", name="5", exact=True).click()
        ticket_id = await agent.locator("#chat").get_attribute("data-ticket")
        assert ticket_id

        async def rating() -> int | None:
            found = await services.handoff.ticket(ticket_id)
            return found.rating if found else None

        assert await until(rating, within=15) == 5
        await expect(shop.locator(".msg--bot").last).to_contain_text("评")
        await expect(agent.locator("#chat-meta")).to_contain_text("评分：5分")

        await agent.click('.presence__btn[data-presence="online"]')
        await expect(agent.locator("#presence-box")).to_have_attribute("data-presence", "online")
        seen = await services.handoff.agent("amy")
        assert seen is not None and seen.presence == "online"
        await screenshot(agent, "console-closed")


async def test_markup_shows_as_text_on_both_sides(site: Site) -> None:
    services = assert_services(site)
    evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    async with pages(site) as (_, shop, agent):
        # a second shopper whose display name is markup waits in the queue too
        await shopper(services, "转人工", "named", name='<img src=x onerror="window.pwned=3">')
        await say(shop, "转人工")
        await expect(shop.locator("#status")).to_have_attribute("data-status", "waiting")
        await say(shop, "<i>留言</i>，电话13812345678")  # nobody online: a left message
        await log_in(agent, site)
        await expect(agent.locator("#queue li.row")).to_have_count(2)
        await expect(agent.locator("#queue .row__left")).to_contain_text("<i>留言</i>")
        await expect(agent.locator("#queue")).to_contain_text("<img src=x")

        ticket = await until(lambda: _web_ticket(services))
        await agent.locator(f'#queue li.row[data-ticket="{ticket}"] button.take').click()
        await expect(agent.locator("#chat")).to_have_attribute("data-ticket", ticket)
        await expect(agent.locator("#reply")).to_be_enabled()
        await agent.fill("#reply", evil)
        await agent.click("#send")
        await expect(shop.locator(".msg--agent").last).to_contain_text("<script>window.pwned=1")
        await expect(agent.locator("#messages .msg--agent").last).to_contain_text("onerror=")

        await say(shop, "<b>bold</b>" + evil)
        await expect(agent.locator("#messages .msg--shopper").last).to_contain_text("<b>bold</b>")
        await agent.fill("#note-text", evil)
        await agent.click("#note-add")
        await expect(agent.locator("#notes li").last).to_contain_text("<script>")
        for page in (shop, agent):
            assert await page.evaluate("window.pwned === undefined")
            assert await page.locator("#log img, #messages img, #queue img, #notes img"
                                      ).count() == 0


async def _web_ticket(services: Services) -> str | None:
    """The id of the queued ticket that came from the browser (not the engine-made one)."""
    for ticket in await services.handoff.queue():
        if ticket.conversation != "web:named":
            return ticket.id
    return None
