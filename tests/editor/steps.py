"""What a manager and a shopper do in the browser, as reusable steps."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from playwright.async_api import Dialog, Page

from tests.editor.helpers import PASSWORD


async def log_in(page: Page, site: str, name: str) -> None:
    await page.goto(site + "/editor")  # not logged in: sent to /login?next=/editor
    assert "/login" in page.url
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#intents")


def accept_dialogs(page: Page) -> None:
    """Say yes to the editor's "are you sure?" questions."""
    pending: set[asyncio.Future[None]] = set()

    def accept(dialog: Dialog) -> None:
        task = asyncio.ensure_future(dialog.accept())
        pending.add(task)
        task.add_done_callback(pending.discard)

    page.on("dialog", accept)


async def edit_intent(page: Page, site: str, intent: str, example: str,
                      replies: Sequence[str]) -> None:
    """Add one example question and replace the reply variants, then save to the draft."""
    await page.goto(f"{site}/editor/intents/{intent}")
    examples = page.locator("#examples")
    await examples.fill((await examples.input_value()).rstrip("\n") + "\n" + example)
    boxes = page.locator("textarea[name=reply]")
    count = await boxes.count()
    for i in range(count):
        await boxes.nth(i).fill(replies[i] if i < len(replies) else "")
    await page.click("#save")
    await page.wait_for_selector("#flash")
    assert "已保存到你的草稿" in await page.locator("#flash").inner_text()


async def try_sentence(page: Page, site: str, text: str) -> str:
    await page.goto(site + "/editor/try")
    await page.fill("#try-text", text)
    await page.click("#try-button")
    await page.wait_for_selector("#trial")
    return await page.locator("#trial-replies").inner_text()


async def publish(page: Page, note: str) -> int:
    await page.fill("#publish-note", note)
    await page.click("#publish-button")
    await page.wait_for_selector("#flash", timeout=30_000)
    flash = await page.locator("#flash").inner_text()
    assert "已发布 v" in flash, flash
    return int(flash.split("已发布 v")[1].split("，")[0])


async def roll_back_to(page: Page, site: str, number: int) -> int:
    await page.goto(site + "/editor/versions")
    await page.click(f'tr[data-version="{number}"] button.rollback')
    await page.wait_for_selector("#flash", timeout=30_000)
    flash = await page.locator("#flash").inner_text()
    assert "已回滚" in flash, flash
    return int(flash.split("发布为 v")[1].split("。")[0])


async def ask(page: Page, text: str, wanted: Sequence[str], wait_ms: float = 5000) -> str:
    """Send ``text`` in the web chat; return the first bot message after it that contains
    one of ``wanted`` (a busy-hours notice may come first)."""
    before = await page.locator(".msg--bot").count()
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    found = await page.wait_for_function(
        """([n, wanted]) => {
             const msgs = [...document.querySelectorAll('.msg--bot')].slice(n);
             return msgs.map(m => m.innerText).find(t => wanted.some(w => t.includes(w)));
           }""", arg=[before, list(wanted)], timeout=wait_ms)
    return str(await found.json_value())


async def add_unanswered(page: Page, site: str, line: str) -> str:
    """On 没答上的问题, add the group showing ``line`` to its preselected topic in one click;
    returns the topic id it went to."""
    await page.goto(site + "/editor/unanswered")
    row = page.locator("tr.group", has_text=line).first
    topic = await row.locator("input[name=topic]").input_value()
    await row.locator("button.add").click()
    await page.wait_for_selector("#flash")
    assert "相似问法" in await page.locator("#flash").inner_text()
    return topic
