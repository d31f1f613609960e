"""A manager's working copy: their draft if they have one, else the live version's texts.

Each manager has their own draft (keyed by user) in the version store's backend, so two
managers never overwrite each other's unpublished edits; the draft remembers the version it
started from, which makes a publish over somebody else's newer version fail loudly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bot.library.reload import check
from bot.library.runtime import LibraryRuntime
from scripts_zh.versions import Draft, VersionInfo


@dataclass
class Workspace:
    """What one manager is editing, and how it relates to the live version."""

    user: str
    draft: Draft
    saved: bool  # False: no draft yet, these are the live texts
    current: int  # the live version's number
    base_texts: dict[str, str]
    since: list[VersionInfo]  # versions published after the draft's base

    @property
    def texts(self) -> dict[str, str]:
        return self.draft.texts

    @property
    def dirty(self) -> bool:
        return self.draft.texts != self.base_texts

    @property
    def stale(self) -> bool:
        return self.draft.base != self.current

    def changed(self) -> set[str]:
        base, mine = self.base_texts, self.draft.texts
        return {p for p in set(base) | set(mine) if base.get(p) != mine.get(p)}


async def open_workspace(runtime: LibraryRuntime, user: str) -> Workspace:
    current = await runtime.versions.current_number()
    draft = await runtime.versions.get_draft(user)
    saved = draft is not None
    if draft is None:
        texts = await texts_of(runtime, current)
        draft = Draft(user, current, texts or dict(runtime.shipped))
    base_texts = await texts_of(runtime, draft.base) or {}
    since = await runtime.versions.since(draft.base) if draft.base != current else []
    return Workspace(user, draft, saved, current, base_texts, since)


async def texts_of(runtime: LibraryRuntime, number: int) -> dict[str, str] | None:
    if number == 0:
        return dict(runtime.shipped)
    version = await runtime.versions.get(number)
    return dict(version.texts) if version else None


async def save(runtime: LibraryRuntime, ws: Workspace, texts: Mapping[str, str],
               base: int | None = None) -> Workspace:
    """Store the draft (and start training it, so trying and publishing are quick)."""
    ws.draft = Draft(ws.user, ws.draft.base if base is None else base, dict(texts), time.time())
    ws.saved = True
    await runtime.versions.save_draft(ws.draft)
    if runtime.reloader is not None and (await check(texts))[0] is not None:
        runtime.reloader.warm(texts)
    return ws


def read_yaml(text: str) -> Any:
    """A file's data for display; None when it does not parse."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


@dataclass(frozen=True)
class IntentRow:
    name: str
    title: str
    examples: int
    replies: int
    keywords: int
    action: str
    changed: bool
    broken: bool


def intent_rows(texts: Mapping[str, str], changed: set[str]) -> list[IntentRow]:
    """One row per intent file, tolerating files the validator rejects."""
    rows = []
    for rel in sorted(texts):
        if not (rel.startswith("intents/") and rel.endswith(".yaml")):
            continue
        name = rel[len("intents/"):-len(".yaml")]
        data = read_yaml(texts[rel])
        ok = isinstance(data, dict)
        data = data if isinstance(data, dict) else {}

        def count(key: str, data: dict[str, Any] = data) -> int:
            value = data.get(key)
            return len(value) if isinstance(value, list) else 0

        rows.append(IntentRow(name, str(data.get("title") or name), count("examples"),
                              count("replies"), count("keywords"),
                              str(data.get("action") or "action_reply"), rel in changed, not ok))
    return rows
