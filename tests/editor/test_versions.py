"""The version store contract (file and Redis): numbering, drafts, stale publishes, watch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scripts_zh.loader import parse_library
from scripts_zh.versions import Draft, FileVersionStore, StaleDraft, VersionStore, texts_digest

A = {"system.yaml": "# comment kept\nwelcome: hi\n", "intents/a.yaml": "name: a  # here\n"}
B = {**A, "intents/a.yaml": "name: a  # changed\n"}


async def test_numbers_grow_and_texts_are_kept_byte_for_byte(versions: VersionStore) -> None:
    assert await versions.current_number() == 0
    assert await versions.current() is None
    assert await versions.list() == []
    v1 = await versions.publish(A, "amy", "first", base=0)
    v2 = await versions.publish(B, "bob", "second", base=1)
    assert (v1.number, v2.number) == (1, 2)
    assert await versions.current_number() == 2
    got = await versions.get(1)
    assert got is not None and got.texts == A and got.author == "amy" and got.note == "first"
    assert got.digest == texts_digest(A)
    assert [(v.number, v.author) for v in await versions.list()] == [(2, "bob"), (1, "amy")]
    assert await versions.get(3) is None and await versions.get(0) is None


async def test_a_stale_publish_is_refused_and_names_who_published(versions: VersionStore) -> None:
    await versions.publish(A, "amy", "", base=0)
    await versions.publish(B, "bob", "price texts", base=1)
    with pytest.raises(StaleDraft) as caught:
        await versions.publish(A, "carol", "", base=1)
    assert caught.value.base == 1
    assert [v.number for v in caught.value.since] == [2]
    assert "v2 by bob (price texts)" in str(caught.value)
    assert await versions.current_number() == 2


async def test_concurrent_publishes_from_one_base_let_exactly_one_win(
        versions: VersionStore) -> None:
    await versions.publish(A, "amy", "", base=0)
    results = await asyncio.gather(
        *[versions.publish({**A, "intents/a.yaml": f"name: a # {i}\n"}, f"m{i}", "", base=1)
          for i in range(6)], return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1
    assert all(isinstance(r, StaleDraft) for r in results if r not in won)
    assert await versions.current_number() == 2


async def test_publish_without_base_always_goes_on_top(versions: VersionStore) -> None:
    await versions.publish(A, "amy", "", base=0)
    v = await versions.publish(B, "import", "", base=None)
    assert v.number == 2


async def test_drafts_are_per_manager(versions: VersionStore) -> None:
    assert await versions.get_draft("amy") is None
    await versions.save_draft(Draft("amy", 0, A, 1.0))
    await versions.save_draft(Draft("店长", 0, B, 2.0))
    amy = await versions.get_draft("amy")
    assert amy is not None and amy.texts == A and amy.base == 0
    boss = await versions.get_draft("店长")
    assert boss is not None and boss.texts == B
    await versions.delete_draft("amy")
    assert await versions.get_draft("amy") is None
    assert await versions.get_draft("店长") is not None


async def test_watch_yields_the_current_number_then_each_publish(versions: VersionStore) -> None:
    await versions.publish(A, "amy", "", base=0)
    seen: list[int] = []
    got_two = asyncio.Event()

    async def follow() -> None:
        async for number in versions.watch():
            seen.append(number)
            if number == 2:
                got_two.set()

    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.2)
        await versions.publish(B, "bob", "", base=1)
        await asyncio.wait_for(got_two.wait(), 3)
    finally:
        task.cancel()
    assert seen[0] == 1 and seen[-1] == 2


def test_digest_matches_the_loaders(shipped: dict[str, str]) -> None:
    library, _ = parse_library(shipped)
    assert library is not None and library.digest == texts_digest(shipped)


async def test_file_versions_survive_a_new_store_and_a_lost_index(tmp_path: Path) -> None:
    store = FileVersionStore(tmp_path)
    await store.publish(A, "amy", "one", base=0)
    await store.publish(B, "bob", "two", base=1)
    (tmp_path / "index.json").unlink()
    again = FileVersionStore(tmp_path)
    assert await again.current_number() == 2
    assert [v.note for v in await again.list()] == ["two", "one"]
    current = await again.current()
    assert current is not None and current.texts == B
