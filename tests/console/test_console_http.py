"""The console's JSON API over real loopback HTTP: roles, CSRF, actions and their refusals."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from bot.services import Services
from handoff import HandoffUnavailable
from tests.console.helpers import Site, shopper, until

ORDER = "2345678901234567"


def assert_services(site: Site) -> Services:
    assert site.services is not None
    return site.services


async def open_ticket(services: Services, chat: str = "s1") -> str:
    """A shopper with a refund gives the order number, which goes to a person; returns the
    ticket id."""
    await shopper(services, "我要退货", chat)
    turn = await shopper(services, f"订单号 {ORDER}", chat)
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of(f"web:{chat}")
    assert ticket is not None
    return ticket.id


async def test_anonymous_visitors_and_shoppers_cannot_reach_the_console(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(site.url + "/console", allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/login?next=/console"
        # a shopper has no account: chatting gives them no way into the agents' API
        async with http.ws_connect(site.url + "/ws/chat?cid=shopper-123456") as chat:
            assert (await chat.receive_json())["type"] == "hello"
        for path in ("queue", "mine", "agents", "me", f"tickets/{ticket_id}"):
            async with http.get(site.url + "/console/api/" + path) as resp:
                assert resp.status == 401
                assert (await resp.json())["code"] == "login"
        async with http.post(site.url + f"/console/api/tickets/{ticket_id}/claim",
                             headers={"X-CSRF-Token": "guess"}) as resp:
            assert resp.status == 401
        http.cookie_jar.update_cookies({"kefu_session": "forged.cookie.value"})
        async with http.get(site.url + "/console/api/queue") as resp:
            assert resp.status == 401
    ticket = await services.handoff.ticket(ticket_id)
    assert ticket is not None and ticket.status == "queued"


async def test_the_pages_styles_and_script_load_from_beside_the_console(site: Site) -> None:
    async with site.agent("amy") as amy:
        async with amy.http.get(site.url + "/console") as resp:
            assert resp.status == 200
            page = await resp.text()
        linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        assert set(linked) == {"/static/staff.css", "/static/console/console.css",
                               "/static/console/console.js"}
        for path in linked:
            async with amy.http.get(site.url + path) as resp:
                assert resp.status == 200, path
                assert len(await resp.read()) > 100, path


async def test_posts_need_the_sessions_csrf_token(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy:
        status, body = await amy.post(f"tickets/{ticket_id}/claim", csrf=False)
        assert status == 403 and body["code"] == "csrf"
        async with amy.http.post(amy.url + f"/console/api/tickets/{ticket_id}/claim",
                                 headers={"X-CSRF-Token": "not-the-token"}) as resp:
            assert resp.status == 403
        status, body = await amy.post("presence", {"presence": "online"}, csrf=False)
        assert status == 403 and "CSRF" in body["error"]
        ticket = await services.handoff.ticket(ticket_id)
        assert ticket is not None and ticket.status == "queued"
        assert await services.handoff.agent("amy") is None
        status, _ = await amy.post(f"tickets/{ticket_id}/claim")
        assert status == 200


async def test_queue_and_ticket_show_the_context(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy:
        status, queue = await amy.get("queue")
        assert status == 200
        [row] = queue["tickets"]
        assert row["id"] == ticket_id and row["status"] == "queued"
        assert ORDER[-4:] in row["summary"] and ORDER not in row["summary"]
        assert row["reason_label"] == "顾客提供了订单号，需人工查看"
        assert row["intent"] == "refund" and row["intent_title"]
        assert row["skill"] == "after_sales" and 0 <= row["waited"] < 60
        status, detail = await amy.get(f"tickets/{ticket_id}")
        assert status == 200
        ticket = detail["ticket"]
        assert ticket["context"]["slots"]["order_id"] == ORDER
        turns = ticket["context"]["turns"]
        assert [t["intent"] for t in turns[:2]] == ["refund", "refund"]
        assert all(isinstance(t["confidence"], float) for t in turns)
        assert any(e["role"] == "bot" for e in ticket["context"]["transcript"])
        assert not ticket["mine"] and ticket["can_close"]
        phrases = detail["phrases"]
        assert 6 <= len(phrases) <= 10
        assert any(ORDER in p for p in phrases), phrases
        assert any("小美" in p for p in phrases) and any("测试小铺" in p for p in phrases)
        assert not any("{{" in p or "{%" in p for p in phrases)
        status, body = await amy.get("tickets/000000000000")
        assert status == 404 and body["code"] == "unknown_ticket"
        status, body = await amy.get("queue?skill=vip")
        assert status == 400 and "skill" in body["error"]


async def test_traditional_shoppers_get_traditional_phrases(site: Site) -> None:
    services = assert_services(site)
    await shopper(services, "發貨了嗎", "tw")
    await shopper(services, "轉人工", "tw")
    ticket = await services.handoff.open_ticket_of("web:tw")
    assert ticket is not None
    async with site.agent("amy") as amy:
        _, detail = await amy.get(f"tickets/{ticket.id}")
    assert detail["traditional"] is True
    assert any("訂單" in p or "謝" in p for p in detail["phrases"]), detail["phrases"]


async def test_claim_race_has_exactly_one_winner(site: Site) -> None:
    services = assert_services(site)
    async with site.agent("amy") as amy, site.agent("bob") as bob:
        for round_ in range(5):
            ticket_id = await open_ticket(services, f"race{round_}")
            results = await asyncio.gather(amy.post(f"tickets/{ticket_id}/claim"),
                                           bob.post(f"tickets/{ticket_id}/claim"))
            statuses = sorted(status for status, _ in results)
            assert statuses == [200, 409], results
            loser = next(body for status, body in results if status == 409)
            assert loser == {"error": "someone else took this ticket", "code": "taken"}
            winner = next(body for status, body in results if status == 200)
            assert winner["ticket"]["mine"] and winner["ticket"]["status"] == "assigned"
            ticket = await services.handoff.ticket(ticket_id)
            assert ticket is not None
            assert ticket.assigned_to == ("amy" if results[0][0] == 200 else "bob")
            await services.handoff.close(ticket_id, ticket.assigned_to)


async def test_reply_note_close_and_rating(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy:
        assert (await amy.post(f"tickets/{ticket_id}/claim"))[0] == 200
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": "  您好，我来处理 "})
        assert status == 200 and body["ticket"]["messages"][-1]["text"] == "您好，我来处理"
        status, body = await amy.post(f"tickets/{ticket_id}/note", {"text": "老顾客，优先退款"})
        assert status == 200 and body["ticket"]["notes"][0]["text"] == "老顾客，优先退款"
        status, mine = await amy.get("mine")
        assert [t["id"] for t in mine["tickets"]] == [ticket_id]
        assert mine["tickets"][0]["last"]["text"] == "您好，我来处理"

        async def replied() -> bool:
            transcript = await services.store.transcript("web:s1")
            return any(e.role == "agent" and e.text == "您好，我来处理" for e in transcript)

        await until(replied)
        status, body = await amy.post(f"tickets/{ticket_id}/close")
        assert status == 200 and body["ticket"]["status"] == "closed"

        async def closed() -> bool:
            state = await services.store.load("web:s1")
            return bool(state and state.status == "closed")

        await until(closed)
        transcript = await services.store.transcript("web:s1")
        assert not any("优先退款" in e.text for e in transcript)
        rated = await shopper(services, "5")
        assert rated.replies
        ticket = await services.handoff.ticket(ticket_id)
        assert ticket is not None and ticket.rating == 5 and ticket.outcome == "closed"
        status, body = await amy.post(f"tickets/{ticket_id}/close")
        assert status == 409 and body["code"] == "closed"
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": "还在吗"})
        assert status == 409 and body["error"] == "this ticket is already closed"
        status, body = await amy.post(f"tickets/{ticket_id}/note", {"text": "已电话回访"})
        assert status == 200, "notes stay possible after close, for follow-ups"


async def test_refusals_are_clear_json(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy, site.agent("bob") as bob:
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": "在吗"})
        assert status == 409 and body["code"] == "not_assigned"
        assert "take it first" in body["error"]
        assert (await amy.post(f"tickets/{ticket_id}/claim"))[0] == 200
        for action, payload in (("message", {"text": "我来"}), ("close", {}),
                                ("hand_back", {}), ("transfer", {"to_skill": "presale"})):
            status, body = await bob.post(f"tickets/{ticket_id}/{action}", payload)
            assert status == 409 and body["code"] == "not_yours", (action, body)
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": "   "})
        assert status == 400 and body["code"] == "empty"
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": "长" * 2001})
        assert status == 400 and body["code"] == "too_long"
        status, body = await amy.post(f"tickets/{ticket_id}/message", {"text": 5})
        assert status == 400
        async with amy.http.post(amy.url + f"/console/api/tickets/{ticket_id}/message",
                                 data="{not json", headers={"X-CSRF-Token": amy.csrf,
                                                           "Content-Type": "application/json"}
                                 ) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == "bad_json"
        status, body = await amy.post("tickets/nosuchticket/message", {"text": "hi"})
        assert status == 404 and body == {"error": "no such ticket", "code": "unknown_ticket"}


async def test_at_capacity_is_a_409_with_a_reason(site: Site) -> None:
    services = assert_services(site)
    async with site.agent("amy") as amy:
        status, _ = await amy.post("presence", {"presence": "away", "capacity": 1})
        assert status == 200
        first = await open_ticket(services, "c1")
        second = await open_ticket(services, "c2")
        assert (await amy.post(f"tickets/{first}/claim"))[0] == 200
        status, body = await amy.post(f"tickets/{second}/claim")
        assert status == 409 and body["code"] == "at_capacity"
        assert "no free seat" in body["error"]


async def test_transfer_to_an_agent_and_to_a_skill_group(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy, site.agent("bob") as bob:
        assert (await amy.post(f"tickets/{ticket_id}/claim"))[0] == 200
        status, body = await amy.post(f"tickets/{ticket_id}/transfer", {"to_agent": "bob"})
        assert status == 404 and body["code"] == "unknown_agent" and "bob" in body["error"]
        await bob.post("presence", {"presence": "away"})
        status, body = await amy.post(f"tickets/{ticket_id}/transfer", {"to_agent": "bob"})
        assert status == 409 and body["code"] == "agent_offline"
        status, body = await amy.post(f"tickets/{ticket_id}/transfer", {})
        assert status == 400 and body["code"] == "invalid"
        status, body = await amy.post(f"tickets/{ticket_id}/transfer", {"to_skill": "vip"})
        assert status == 400 and "unknown skill" in body["error"]

        await bob.post("presence", {"presence": "online"})
        status, body = await amy.post(f"tickets/{ticket_id}/transfer", {"to_agent": "bob"})
        assert status == 200 and body["ticket"]["assigned_to"] == "bob"
        assert not body["ticket"]["mine"]
        assert (await amy.get("mine"))[1]["tickets"] == []
        assert [t["id"] for t in (await bob.get("mine"))[1]["tickets"]] == [ticket_id]

        await bob.post("presence", {"presence": "away"})
        status, body = await bob.post(f"tickets/{ticket_id}/transfer", {"to_skill": "presale"})
        assert status == 200 and body["ticket"]["status"] == "queued"
        _, queue = await amy.get("queue")
        assert [(t["id"], t["skill"]) for t in queue["tickets"]] == [(ticket_id, "presale")]
        _, presale = await amy.get("queue?skill=presale")
        assert len(presale["tickets"]) == 1
        _, detail = await amy.get(f"tickets/{ticket_id}")
        assert [(t["from_agent"], t["to_agent"]) for t in detail["ticket"]["transfers"]] == [
            ("amy", "bob"), ("bob", None)]


async def test_hand_back_returns_the_shopper_to_the_bot(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("amy") as amy:
        await amy.post(f"tickets/{ticket_id}/claim")
        status, body = await amy.post(f"tickets/{ticket_id}/hand_back")
        assert status == 200 and body["ticket"]["outcome"] == "handed_back"

        async def back() -> bool:
            state = await services.store.load("web:s1")
            return bool(state and state.status == "bot")

        await until(back)
        turn = await shopper(services, "这件是纯棉的吗")
        assert turn.status == "bot" and turn.replies


async def test_presence_capacity_and_skills(site: Site) -> None:
    async with site.agent("amy") as amy, site.agent("bob") as bob:
        status, me = await amy.get("me")
        assert status == 200 and me["presence"] == "offline" and me["capacity"] == 5
        assert me["display_name"] == "小美" and me["role"] == "agent"
        status, me = await amy.post("presence", {"presence": "online", "capacity": 3,
                                                 "skills": ["presale"]})
        assert status == 200
        assert (me["presence"], me["capacity"], me["skills"]) == ("online", 3, ["presale"])
        _, team = await bob.get("agents")
        [seen] = [a for a in team["agents"] if a["name"] == "amy"]
        assert seen["presence"] == "online" and seen["display_name"] == "小美"
        _, me = await amy.post("presence", {"presence": "away"})
        assert me["presence"] == "away" and me["capacity"] == 3, "capacity is kept"
        for bad in ({"presence": "busy"}, {}, {"presence": "online", "capacity": -1},
                    {"presence": "online", "capacity": True},
                    {"presence": "online", "skills": ["vip"]},
                    {"presence": "online", "skills": []}):
            status, body = await amy.post("presence", bad)
            assert status == 400 and body["code"] == "invalid", (bad, body)


async def test_an_unreachable_store_is_a_503(site: Site, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    services = assert_services(site)

    async def down(*_: object, **__: object) -> None:
        raise HandoffUnavailable("Redis unavailable: connection refused")

    async with site.agent("amy") as amy:
        monkeypatch.setattr(services.handoff, "queue", down)
        monkeypatch.setattr(services.handoff, "claim", down)
        status, body = await amy.get("queue")
        assert status == 503 and body["code"] == "unavailable"
        assert "try again" in body["error"]
        status, body = await amy.post("tickets/abc/claim")
        assert status == 503


async def test_managers_may_use_the_console(site: Site) -> None:
    services = assert_services(site)
    ticket_id = await open_ticket(services)
    async with site.agent("boss") as boss:
        status, _ = await boss.post(f"tickets/{ticket_id}/claim")
        assert status == 200
        async with boss.http.get(site.url + "/console") as resp:
            assert resp.status == 200 and 'href="/editor"' in await resp.text()


async def test_bad_bodies_are_a_400_and_surrogates_are_cleaned(site: Site) -> None:
    """Deeply nested JSON and invalid UTF-8 are 400 ``bad_json``, never a 500; a lone
    surrogate escape is cleaned like the shoppers' text, so the message still goes out."""
    services = assert_services(site)
    ticket_id = await open_ticket(services, "bad1")
    async with site.agent("amy") as amy:
        assert (await amy.post(f"tickets/{ticket_id}/claim"))[0] == 200
        url = amy.url + f"/console/api/tickets/{ticket_id}/message"
        headers = {"X-CSRF-Token": amy.csrf, "Content-Type": "application/json"}
        for body in (b"[" * 100_000 + b"]" * 100_000,
                     b'{"text": ' + b"[" * 50 + b"]" * 50 + b"}",
                     b'{"text": "\xff\xfe"}', b'{"text": "\xed\xa0\xbd"}'):
            async with amy.http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 400, body[:40]
                assert (await resp.json())["code"] == "bad_json"
        async with amy.http.post(url, data=b'{"text": "\\ud83d \xe5\xa5\xbd"}',
                                 headers=headers) as resp:
            assert resp.status == 200, await resp.text()
    ticket = await services.handoff.ticket(ticket_id)
    assert ticket is not None and ticket.messages[-1].text == "\ufffd 好"
