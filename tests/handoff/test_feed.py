"""The process's one subscription to handoff events, fanned out to every listener."""

from __future__ import annotations

import asyncio

from handoff import Event, EventFeed, HandoffService, MemoryHandoffStore


async def test_one_subscription_feeds_every_listener_in_order() -> None:
    store = MemoryHandoffStore()
    subscribed = 0

    def subscribe():  # type: ignore[no-untyped-def]
        nonlocal subscribed
        subscribed += 1
        return store.subscribe()

    feed = EventFeed(subscribe)
    got: dict[str, list[str]] = {"bridge": [], "console": [], "slow": []}

    def collect(name: str, delay: float = 0.0):  # type: ignore[no-untyped-def]
        async def on_event(event: Event) -> None:
            await asyncio.sleep(delay)
            got[name].append(event.kind)
        return on_event

    feed.listen("bridge", collect("bridge"))
    feed.listen("slow", collect("slow", 0.01))
    await asyncio.gather(feed.start(), feed.start())  # two starters, one subscription
    feed.listen("console", collect("console"))
    service = HandoffService(store)
    await service.open(conversation="web:a", channel="web", shopper_name="", reason="x",
                       intent=None, skill="presale", summary="", priority=1)
    await service.set_presence("amy", "online")
    await asyncio.sleep(0.1)
    await feed.stop()  # listeners finish what was queued for them
    assert subscribed == 1
    assert got["bridge"] == got["console"] == got["slow"]
    assert got["bridge"][0] == "ticket_opened" and "presence" in got["bridge"]


async def test_a_failing_listener_stops_nobody() -> None:
    store = MemoryHandoffStore()
    feed = EventFeed(store.subscribe)
    seen: list[str] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    async def fine(event: Event) -> None:
        seen.append(event.kind)

    feed.listen("broken", broken)
    feed.listen("fine", fine)
    await feed.start()
    service = HandoffService(store)
    await service.set_presence("amy", "online")
    await service.set_presence("amy", "away")
    await asyncio.sleep(0.1)
    await feed.stop()
    assert seen == ["presence", "presence"]
