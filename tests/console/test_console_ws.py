"""The console websocket: who may open it, what it streams, and the presence heartbeat."""

from __future__ import annotations

import aiohttp
import pytest

from bot.console import live
from bot.services import Services
from tests.console.helpers import Site, next_event, shopper, until
from tests.console.test_console_http import assert_services


async def test_the_socket_refuses_strangers_and_other_sites(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
            await http.ws_connect(site.url + "/console/ws", headers={"Origin": site.url})
        assert anonymous.value.status == 401
    async with site.agent("amy") as amy:
        for origin in ("http://evil.example", "null", "", site.url.replace("127.0.0.1",
                                                                           "localhost")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await amy.ws(origin=origin).__aenter__()
            assert refused.value.status == 403, origin
        async with amy.http.get(site.url + "/console/ws",
                                headers={"Origin": "http://evil.example"}) as resp:
            assert resp.status == 403
            assert (await resp.json())["code"] == "origin"
        async with amy.ws() as ws:
            assert (await ws.receive_json()) == {"type": "hello", "agent": "amy"}


async def test_events_stream_to_every_open_console(site: Site) -> None:
    services = assert_services(site)
    async with site.agent("amy") as amy, amy.ws() as ws, site.agent("bob") as bob, \
            bob.ws() as bob_ws:
        assert (await ws.receive_json())["type"] == "hello"
        assert (await bob_ws.receive_json())["type"] == "hello"
        await shopper(services, "我要退货", "s1", name="王女士")
        await shopper(services, "转人工", "s1", name="王女士")
        opened = await next_event(ws, "ticket_opened")
        assert opened["conversation"] == "web:s1" and opened["ticket"]
        assert opened["data"]["shopper_name"] == "王女士" and opened["data"]["summary"]
        assert (await next_event(bob_ws, "ticket_opened"))["ticket"] == opened["ticket"]
        ticket_id = opened["ticket"]
        await shopper(services, "衣服破了，电话13812345678", "s1")  # nobody online: a message
        left = await next_event(ws, "left_message")
        assert left["ticket"] == ticket_id and "13812345678" in left["data"]["text"]

        await amy.post(f"tickets/{ticket_id}/claim")
        assigned = await next_event(bob_ws, "ticket_assigned")
        assert assigned["agent"] == "amy" and assigned["data"]["auto"] is False
        await shopper(services, "<b>快点</b>", "s1")
        said = await next_event(ws, "shopper_message")
        assert said["ticket"] == ticket_id and said["data"]["text"] == "<b>快点</b>"
        await amy.post(f"tickets/{ticket_id}/message", {"text": "马上"})
        assert (await next_event(ws, "agent_message"))["data"]["text"] == "马上"
        await amy.post(f"tickets/{ticket_id}/note", {"text": "备注"})
        assert (await next_event(bob_ws, "note_added"))["agent"] == "amy"
        await amy.post(f"tickets/{ticket_id}/close")
        closed = await next_event(ws, "ticket_closed")
        assert closed["data"]["outcome"] == "closed"

        async def rating_asked() -> bool:
            state = await services.store.load("web:s1")
            return bool(state and state.status == "closed")

        await until(rating_asked)
        await shopper(services, "4", "s1")
        assert (await next_event(bob_ws, "rated"))["data"]["rating"] == 4
        await bob.post("presence", {"presence": "away"})
        presence = await next_event(ws, "presence")
        assert presence["agent"] == "bob" and presence["data"]["presence"] == "away"


async def test_the_socket_is_the_presence_heartbeat(site: Site,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    services: Services = assert_services(site)
    monkeypatch.setattr(live, "HEARTBEAT", 0.05)
    now = [1_700_000_000.0]
    monkeypatch.setattr(services.handoff, "clock", lambda: now[0])
    async with site.agent("amy") as amy, site.agent("bob") as bob:
        await amy.post("presence", {"presence": "online"})
        await bob.post("presence", {"presence": "offline"})
        now[0] += 200  # beyond the 120 s TTL: a closed console goes offline by itself
        agent = await services.handoff.agent("amy")
        assert agent is not None and agent.presence == "offline"
        async with amy.ws() as ws, bob.ws() as bob_ws:
            await ws.receive_json()
            await bob_ws.receive_json()

            async def renewed() -> bool:
                seen = await services.handoff.agent("amy")
                return bool(seen and seen.presence == "online" and seen.last_seen == now[0])

            await until(renewed)
            now[0] += 100
            await until(renewed)
            bob_now = await services.handoff.agent("bob")
            assert bob_now is not None and bob_now.presence == "offline", \
                "an agent who chose offline is not brought online by an open console"
        now[0] += 200
        gone = await services.handoff.agent("amy")
        assert gone is not None and gone.presence == "offline"


async def test_one_subscription_per_process_however_many_consoles(site: Site) -> None:
    services = assert_services(site)
    subscribers = services.handoff.store._subscribers  # type: ignore[attr-defined]
    before = len(subscribers)  # the bridge's and the console hub's
    async with site.agent("amy") as amy, amy.ws() as one, amy.ws() as two, amy.ws() as three:
        for ws in (one, two, three):
            assert (await ws.receive_json())["type"] == "hello"
        assert len(subscribers) == before
        await shopper(services, "转人工", "s9")
        for ws in (one, two, three):
            assert (await next_event(ws, "ticket_opened"))["conversation"] == "web:s9"


async def test_a_console_that_falls_behind_is_told_to_resync() -> None:
    hub = live.Hub(backlog=3)
    queue = hub.join()
    for n in range(5):
        hub.publish({"type": "event", "n": n})
    drained = [queue.get_nowait() for _ in range(queue.qsize())]
    assert drained == [live.RESYNC, {"type": "event", "n": 4}]
    hub.leave(queue)
    hub.publish({"type": "event", "n": 9})
    assert queue.empty()


async def test_removing_an_account_closes_its_open_console(site: Site,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    services: Services = assert_services(site)
    monkeypatch.setattr(live, "HEARTBEAT", 0.05)
    async with site.agent("amy") as amy, amy.ws() as ws:
        assert (await ws.receive_json())["type"] == "hello"
        assert await services.users.delete("amy")
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
