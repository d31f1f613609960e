"""The editor over real loopback HTTP: roles, CSRF, drafts, limits, validation, publishing."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml

from bot.services import Services
from bot.turn import Incoming
from tests.editor.helpers import add_accounts, browser, intent_form, running_site


@pytest.fixture
async def site(services: Services) -> AsyncIterator[str]:
    await add_accounts(services)
    async with running_site(services) as url:
        yield url


def _intent(services: Services, name: str) -> dict[str, Any]:
    data = yaml.safe_load(services.library.shipped[f"intents/{name}.yaml"])  # type: ignore[union-attr]
    return {k: data.get(k, []) for k in ("title", "description", "examples", "keywords",
                                          "replies", "quick_replies")}


async def _draft(services: Services, user: str) -> dict[str, str] | None:
    assert services.library is not None
    draft = await services.library.versions.get_draft(user)
    return draft.texts if draft else None


async def test_strangers_go_to_login_and_agents_are_refused(site: str) -> None:
    async with browser(site) as anon:
        async with anon.http.get(site + "/editor/intents/refund", allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/login?next=/editor/intents/refund"
        async with anon.http.post(site + "/editor/publish", data={"note": "x"},
                                  allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    async with browser(site, "amy") as agent:
        await agent.get("/editor", status=403)
        await agent.post("/editor/publish", {"note": "x"}, status=403, csrf=False)
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor")
        assert "退换货/退款" in page and 'data-intent="refund"' in page


async def test_the_pages_styles_and_script_load_from_beside_the_editor(site: str) -> None:
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor")
        linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        assert set(linked) == {"/static/staff.css", "/static/editor/editor.css",
                               "/static/editor/editor.js"}
        for path in linked:
            async with boss.http.get(site + path) as resp:
                assert resp.status == 200, path
                assert len(await resp.read()) > 100, path


async def test_every_post_needs_the_csrf_token(site: str, services: Services) -> None:
    async with browser(site, "boss") as boss:
        form = _intent(services, "refund")
        for token in ("", "forged-token"):
            data = intent_form(form, description="改了", csrf=token)
            async with boss.http.post(site + "/editor/intents/refund", data=data) as resp:
                assert resp.status == 403
                assert "CSRF" in await resp.text()
        for path in ("/editor/publish", "/editor/discard", "/editor/rollback",
                     "/editor/system", "/editor/try", "/editor/rebase"):
            await boss.post(path, {"csrf": "nope"}, status=403, csrf=False)
        assert await _draft(services, "boss") is None


async def test_editing_an_intent_keeps_comments_and_only_touches_the_draft(
        site: str, services: Services) -> None:
    form = _intent(services, "refund")
    shipped = services.library.shipped["intents/refund.yaml"]  # type: ignore[union-attr]
    async with browser(site, "boss") as boss:
        data = intent_form(form, examples=[*form["examples"], "退货流程是什么样的"],
                           replies=["亲，新的退货回复～", *form["replies"][1:]],
                           csrf=boss.csrf)
        page = await boss.post("/editor/intents/refund", data)
        assert "已保存到你的草稿" in page
        assert "退货流程是什么样的" in page
    texts = await _draft(services, "boss")
    assert texts is not None
    edited = texts["intents/refund.yaml"]
    assert edited.splitlines()[0] == shipped.splitlines()[0]  # the leading comment survives
    assert edited.count("\n") == shipped.count("\n") + 1
    assert '  - "退货流程是什么样的"' in edited and '  - "亲，新的退货回复～"' in edited
    assert all(texts[k] == v for k, v in services.library.shipped.items()  # type: ignore[union-attr]
               if k != "intents/refund.yaml")
    # not live: the bot still answers with the published library
    assert services.brains.current.library.intents["refund"].replies[0] == form["replies"][0]
    async with browser(site, "lily") as lily:
        assert "退货流程是什么样的" not in await lily.get("/editor/intents/refund")


async def test_too_long_input_is_refused_with_the_typed_text_kept(
        site: str, services: Services) -> None:
    form = _intent(services, "refund")
    long_example = "很长" * 101
    async with browser(site, "boss") as boss:
        page = await boss.post("/editor/intents/refund",
                               intent_form(form, examples=[*form["examples"], long_example],
                                           csrf=boss.csrf), status=400)
        assert f"第 {len(form['examples']) + 1} 条：太长了，最多 200 个字" in page
        assert long_example in page
        page = await boss.post("/editor/intents/refund",
                               intent_form(form, quick_replies=[f"选项{i}" for i in range(7)],
                                           csrf=boss.csrf), status=400)
        assert "条数太多，最多 6 条" in page
        page = await boss.post("/editor/system", {"sys.welcome": "欢" * 2001}, status=400)
        assert "太长了，最多 2000 个字" in page
        big = aiohttp.FormData({"csrf": boss.csrf, "text": "x" * 4_300_000})
        async with boss.http.post(site + "/editor/files/system.yaml", data=big) as resp:
            assert resp.status == 413
    assert await _draft(services, "boss") is None


async def test_the_largest_intent_form_fits_in_one_request(site: str,
                                                           services: Services) -> None:
    """2,000 examples of 200 Chinese characters (3.6 MB percent-encoded) are accepted."""
    form = _intent(services, "refund")
    examples = [f"{i:04d}" + "长" * 196 for i in range(2000)]
    async with browser(site, "boss") as boss:
        page = await boss.post("/editor/intents/refund",
                               intent_form(form, examples=examples, csrf=boss.csrf))
        assert "已保存到你的草稿" in page
    texts = await _draft(services, "boss")
    assert texts is not None and f'  - "1999{"长" * 196}"' in texts["intents/refund.yaml"]


async def test_validation_errors_block_publishing_and_point_at_the_field(
        site: str, services: Services) -> None:
    form = _intent(services, "presale")
    async with browser(site, "boss") as boss:
        await boss.post("/editor/intents/presale",
                        intent_form(form, replies=["亲，{{ price }} 元", *form["replies"][1:]],
                                    csrf=boss.csrf))
        page = await boss.get("/editor/intents/presale")
        assert "unknown template variable: price" in page
        page = await boss.post("/editor/publish", {"note": "坏的"}, status=422)
        assert "没有发布：草稿里有错误" in page
        assert 'href="/editor/intents/presale#f-replies"' in page
        assert "intents/presale.yaml:" in page
    assert services.library is not None
    assert await services.library.versions.current_number() == 0
    assert await _draft(services, "boss") is not None  # nothing lost


async def test_raw_yaml_errors_are_located_and_block_publishing(
        site: str, services: Services) -> None:
    async with browser(site, "boss") as boss:
        broken = "name: men_tops\ntitle: [oops\n"
        await boss.post("/editor/files/size_charts/men_tops.yaml", {"text": broken})
        page = await boss.get("/editor/files/size_charts/men_tops.yaml")
        assert "YAML syntax" in page and "第 3 行" in page
        await boss.post("/editor/publish", {"note": ""}, status=422)
        await boss.get("/editor/files/..%2Fsecret.yaml", status=404)


async def test_publish_swaps_the_running_bot_and_rollback_restores(
        site: str, services: Services) -> None:
    form = _intent(services, "presale")
    new_replies = ["亲，这是新版的商品回复 A", "亲，这是新版的商品回复 B"]
    async with browser(site, "boss") as boss:
        await boss.post("/editor/intents/presale",
                        intent_form(form, replies=new_replies, csrf=boss.csrf))
        diff = await boss.get("/editor/diff?from=0&to=draft")
        assert "这是新版的商品回复 A" in diff and "line--add" in diff
        page = await boss.post("/editor/publish", {"note": "新回复"})
        assert "已发布 v1" in page and "新回复" in page
        assert services.brains.current.library.intents["presale"].replies == new_replies
        assert services.brains.current.version.startswith("v1-")
        turn = await services.engine.handle(Incoming("web", "shopper-1", "有什么推荐的吗"))
        assert any(r.text in new_replies for r in turn.replies)  # after a busy notice
        assert await _draft(services, "boss") is None
        page = await boss.post("/editor/rollback", {"version": 0, "base": 1})
        assert "已回滚" in page and "v2" in page
        assert services.brains.current.library.intents["presale"].replies == form["replies"]
        versions = await boss.get("/editor/versions")
        assert "rollback to v0" in versions and "新回复" in versions
        await boss.post("/editor/rollback", {"version": 1, "base": 1}, status=409)


async def test_a_second_manager_cannot_overwrite_a_newer_publish(
        site: str, services: Services) -> None:
    assert services.library is not None
    presale, refund = _intent(services, "presale"), _intent(services, "refund")
    async with browser(site, "boss") as boss, browser(site, "lily") as lily:
        await boss.post("/editor/intents/presale", intent_form(
            presale, description="老板改的说明", csrf=boss.csrf))
        await lily.post("/editor/intents/refund", intent_form(
            refund, description="丽丽改的说明", csrf=lily.csrf))
        await boss.post("/editor/publish", {"note": "老板的改动"})
        page = await lily.post("/editor/publish", {"note": "丽丽的改动"}, status=409)
        assert "有人比你先发布了" in page
        assert "boss" in page and "v1" in page and "老板的改动" in page
        assert await services.library.versions.current_number() == 1
        assert await _draft(services, "lily") is not None
        await lily.post("/editor/rebase", {})
        page = await lily.post("/editor/publish", {"note": "丽丽的改动"})
        assert "已发布 v2" in page
    library = services.brains.current.library
    assert library.intents["presale"].description == "老板改的说明"
    assert library.intents["refund"].description == "丽丽改的说明"


async def test_try_shows_ranking_entities_and_the_escaped_reply(
        site: str, services: Services) -> None:
    form = _intent(services, "presale")
    async with browser(site, "boss") as boss:
        await boss.post("/editor/intents/presale", intent_form(
            form, replies=[f"<script>alert({i})</script>亲，有货哦" for i in (1, 2)],
            csrf=boss.csrf))
        page = await boss.post("/editor/try", {"text": "有什么推荐的吗"})
        assert 'id="trial-intent">presale<' in page
        assert "&lt;/script&gt;亲，有货哦" in page
        assert "<script>alert(" not in page
        page = await boss.post("/editor/try", {"text": "身高170体重130斤穿什么码"})
        assert "<code>height</code> = 170" in page
        assert "sizing" in page
        page = await boss.post("/editor/try", {"text": "长" * 501}, status=400)
        assert "这句话太长了" in page
        await boss.post("/editor/intents/presale", intent_form(
            form, replies=["{{ shop_name.__class__.__mro__ }}", "亲"], csrf=boss.csrf))
        page = await boss.post("/editor/publish", {"note": ""}, status=422)
        assert "templates may not use internal names: __class__, __mro__" in page


async def test_the_list_counts_hits_and_new_intents_start_in_the_draft(
        site: str, services: Services) -> None:
    for i in range(3):
        await services.engine.handle(Incoming("web", f"s{i}", "我要退货"))
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor")
        row = page[page.index('data-intent="refund"'):]
        row = row[:row.index("</tr>")]
        assert '<td class="hits">3</td>' in row
        page = await boss.post("/editor/intents", {"name": "Bad Name", "title": "x"}, status=400)
        assert "编号只能用小写英文字母" in page
        page = await boss.post("/editor/intents", {"name": "invoice", "title": "发票"})
        assert "已创建" in page and html.escape("invoice") in page
        assert "examples" in page  # the validator asks for examples and replies


async def test_system_texts_are_edited_in_place(site: str, services: Services) -> None:
    shipped = services.library.shipped["system.yaml"]  # type: ignore[union-attr]
    data = yaml.safe_load(shipped)
    form = {f"sys.{k}": [v] if isinstance(v, str) else v for k, v in data.items()}
    form["sys.welcome"] = ["欢迎来到{{ shop_name }}（新）", *data["welcome"][1:]]
    async with browser(site, "boss") as boss:
        fd = aiohttp.FormData({"csrf": boss.csrf})
        for key, values in form.items():
            for value in values:
                fd.add_field(key, value)
        await boss.post("/editor/system", fd)
    texts = await _draft(services, "boss")
    assert texts is not None
    edited = texts["system.yaml"]
    assert edited.splitlines()[0] == shipped.splitlines()[0]
    assert [a for a, b in zip(edited.splitlines(), shipped.splitlines(), strict=True)
            if a != b] == ['  - "欢迎来到{{ shop_name }}（新）"']


async def test_size_charts_are_shown_and_edited_as_yaml(site: str, services: Services) -> None:
    async with browser(site, "boss") as boss:
        page = await boss.get("/editor/charts")
        assert "男装上衣" in page and "<th>身高 cm</th>" in page and "<th>脚长 mm</th>" in page
        assert page.count('class="card chart"') == 6
        page = await boss.post("/editor/charts", {"name": "kids_tops"})
        assert "已创建" in page and "kids_tops" in page
        page = await boss.get("/editor/system")
        assert page.count('<section class="field"') >= 20 and "忙碌提示：午休" in page
        await boss.post("/editor/files/size_charts/kids_tops.yaml/delete", {})
        assert "size_charts/kids_tops.yaml" not in (await _draft(services, "boss") or {})
        await boss.post("/editor/files/system.yaml/delete", {}, status=400)
        page = await boss.post("/editor/publish", {"note": ""})
        assert "没有需要发布的内容" in page
