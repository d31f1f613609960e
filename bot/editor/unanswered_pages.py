"""The 没答上的问题 page: shopper lines no topic answered, grouped, each added in one click
as a 相似问法 of a topic in the manager's draft (published as usual)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.brain import canonical
from bot.editor import forms, yamledit
from bot.editor.drafts import Workspace, save
from bot.editor.line_groups import Group, group_lines, key_of
from bot.editor.rendering import go, render, runtime_of, start
from bot.library.reload import check
from bot.web.login import Session
from scripts_zh.models import Library

#: Groups shown on one page (the rest wait until these are dealt with).
SHOWN = 100


@dataclass(frozen=True)
class TopicChoice:
    """A topic in the picker: id, standard question, intent."""

    id: str
    question: str
    intent: str
    title: str


def choices(library: Library | None) -> list[TopicChoice]:
    if library is None:
        return []
    return [TopicChoice(topic.id, topic.question, intent.name, intent.title)
            for intent in library.intents.values() for topic in intent.topics]


def _known(library: Library | None) -> set[str]:
    """Every question and phrasing of the draft, as lines are compared."""
    if library is None:
        return set()
    return {key_of(text, canonical) for intent in library.intents.values()
            for topic in intent.topics for text in (topic.question, *topic.phrasings)}


def _open_groups(groups: list[Group], known: set[str]) -> tuple[list[Group], int]:
    """Groups still to do, and how many have a wording that is a phrasing in the draft."""
    todo = [g for g in groups if not any(key_of(t, canonical) in known for t in g.texts)]
    return todo, len(groups) - len(todo)


async def unanswered_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    return await _page(request, session, ws, {})


async def _page(request: web.Request, session: Session, ws: Workspace, error: dict[str, Any],
                status: int = 200) -> web.Response:
    runtime = runtime_of(request)
    lines = await runtime.unanswered_lines.recent()
    library, _ = await check(ws.texts)

    def build() -> tuple[list[Group], int]:
        return _open_groups(group_lines(lines, canonical), _known(library))

    groups, added = await asyncio.to_thread(build)
    topics = choices(library)
    ids = {t.id for t in topics}
    return await render(request, session, ws, "editor_unanswered.html", {
        "groups": groups[:SHOWN], "more": max(0, len(groups) - SHOWN), "added": added,
        "lines": len(lines), "topics": topics, "ids": ids, "broken": library is None,
        "error": error}, status)


async def add_phrasing(request: web.Request) -> web.Response:
    """Add one line to a topic's phrasings, in the draft, keeping the YAML's comments."""
    session, ws = await start(request, post=True)
    post = await request.post()
    text = forms.clean(str(post.get("text", ""))).replace("\n", " ")
    topic_id = forms.clean(str(post.get("topic", "")))
    library, _ = await check(ws.texts)
    error: dict[str, Any] = {"text": text, "topic": topic_id, "row": str(post.get("row", ""))}
    if library is None:
        return await _page(request, session, ws, {**error, "code": "broken"}, 400)
    if not text:
        return await _page(request, session, ws, {**error, "code": "required"}, 400)
    if len(text) > forms.MAX_CHARS["examples"]:
        return await _page(request, session, ws, {**error, "code": "too_long",
                                                  "limit": forms.MAX_CHARS["examples"]}, 400)
    owner = library.topics.get(topic_id)
    if owner is None:
        return await _page(request, session, ws, {**error, "code": "no_topic"}, 400)
    rel = f"intents/{owner[0].name}.yaml"
    try:
        new = yamledit.add_phrasing(ws.texts[rel], topic_id, text)
    except (yamledit.EditError, KeyError):
        raise go("/editor/files/" + quote(rel), "broken") from None
    if new != ws.texts[rel]:
        await save(runtime_of(request), ws, {**ws.texts, rel: new})
    raise go("/editor/unanswered", "phrasing_added", topic_id)


async def forget(request: web.Request) -> web.Response:
    """Drop a group's lines: not a question the shop wants to answer."""
    await start(request, post=True)
    post = await request.post()
    getall = getattr(post, "getall", None)
    texts = [str(t) for t in getall("line", [])] if getall else []
    await runtime_of(request).unanswered_lines.forget(texts)
    raise go("/editor/unanswered", "forgotten")
