"""The topics (问题) of an intent file as the intent page shows them: filtered by a search,
with their problems and any form typed with errors."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.editor import forms
from bot.editor.drafts import Workspace, read_yaml
from bot.editor.problems import Located
from bot.editor.unanswered_pages import TopicChoice, choices
from bot.library.reload import check


@dataclass(frozen=True)
class TopicView:
    """One topic on the page: where it is in the file (1-based), its id and fields."""

    index: int
    id: str
    form: forms.TopicForm


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def topic_views(text: str) -> list[TopicView]:
    data = read_yaml(text)
    raw = data.get("topics") if isinstance(data, dict) else None
    views = []
    for i, item in enumerate(raw if isinstance(raw, list) else [], start=1):
        if isinstance(item, dict):
            views.append(TopicView(i, str(item.get("id") or ""), forms.TopicForm(
                question=str(item.get("question") or ""),
                phrasings=_texts(item.get("phrasings")), answers=_texts(item.get("answers")),
                quick_replies=_texts(item.get("quick_replies")))))
    return views


def _matches(view: TopicView, query: str) -> bool:
    q = query.lower()
    return any(q in t.lower() for t in (view.id, view.form.question, *view.form.phrasings,
                                       *view.form.answers))


async def topics_context(request: web.Request, ws: Workspace, name: str,
                         problems: list[Located],
                         typed: dict[str, forms.TopicForm] | None = None,
                         errors: list[forms.FieldError] | None = None,
                         new_id: str = "") -> dict[str, Any]:
    """What the intent page's topics section shows (``typed``: forms to show as typed)."""
    rel = f"intents/{name}.yaml"
    query = forms.clean(request.query.get("q", ""))[:forms.MAX_CHARS["sentence"]]
    views = topic_views(ws.texts[rel])
    if typed:
        views = [TopicView(v.index, v.id, typed.get(v.id, v.form)) for v in views]
    shown = [v for v in views if _matches(v, query)] if query else views
    library, _ = await check(ws.texts)
    everywhere: list[TopicChoice] = choices(library) or [
        TopicChoice(v.id, v.form.question, name, name) for v in views]
    by_topic: dict[int, list[Located]] = defaultdict(list)
    for item in problems:
        if item.problem.file == rel and item.field == "topics":
            by_topic[item.item].append(item)
    topic_errors: dict[str, list[forms.FieldError]] = defaultdict(list)
    for error in errors or []:
        topic_errors[error.field].append(error)
    opened = {request.query.get("open", "")} | {e.field.split(".")[1] for e in errors or []
                                                if e.field.startswith("topic.")}
    return {"topics": shown, "topic_count": len(views), "query": query,
            "all_topics": everywhere, "topic_problems": by_topic,
            "topic_errors": topic_errors, "opened": opened,
            "new_topic": (typed or {}).get("", forms.TopicForm()),
            "new_id": new_id,
            "new_open": any(e.field.startswith("new.") for e in errors or [])}
