"""Fixtures for the script editor: version stores on both backends, managers, a small library.

Most editor tests run on a *small* copy of the shipped library (the first 30 examples of each
intent, comments kept), because every publish trains a classifier: ~0.1 s on it instead of
~1.5 s on the full library. The latency test and the two-process browser test use the full one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from bot.brain import Brain
from bot.editor.yamledit import set_fields
from bot.services import Services
from bot.storage import MemoryConversationStore
from config import Settings, load_settings
from scripts_zh.export import write_texts
from scripts_zh.loader import load_library, read_texts
from scripts_zh.versions import FileVersionStore, RedisVersionStore, VersionStore
from tests.conftest import ROOT, redis_client

LIBRARY = ROOT / "scripts_zh" / "library"
SMALL_EXAMPLES = 30


@pytest.fixture(scope="session")
def shipped() -> dict[str, str]:
    return read_texts(LIBRARY)


@pytest.fixture(scope="session")
def small_library(tmp_path_factory: pytest.TempPathFactory, shipped: dict[str, str]) -> Path:
    texts = {}
    for rel, text in shipped.items():
        if rel.startswith("intents/"):
            examples = yaml.safe_load(text)["examples"][:SMALL_EXAMPLES]
            text = set_fields(text, {"examples": examples})
        texts[rel] = text
    folder = tmp_path_factory.mktemp("small_library")
    write_texts(texts, folder)
    return folder


@pytest.fixture(scope="session")
def small_brain(small_library: Path) -> Brain:
    return Brain.build(load_library(small_library), "测试小铺")


@pytest.fixture
def settings(tmp_path: Path, small_library: Path) -> Settings:
    return load_settings(shop_name="测试小铺", data_dir=tmp_path / "data",
                         library_dir=small_library)


@pytest.fixture
def services(settings: Settings, small_brain: Brain) -> Iterator[Services]:
    yield Services.build(settings, store=MemoryConversationStore(), brain=small_brain)


@pytest.fixture(params=["file", "redis"])
async def versions(request: pytest.FixtureRequest, tmp_path: Path,
                   redis_prefix: str) -> AsyncIterator[VersionStore]:
    """The same contract, run against the embedded default and a real Redis."""
    if request.param == "file":
        yield FileVersionStore(tmp_path / "library", poll=0.05)
        return
    async with redis_client(redis_prefix) as client:
        yield RedisVersionStore(client, prefix=redis_prefix)
