"""The topics (问题) section of an intent page: search, add a topic, edit its standard
question, phrasings, answers and quick replies, move a phrasing to another topic.

Every change goes to the manager's draft through :mod:`bot.editor.yamledit`, so the file
keeps its comments; a form with errors comes back as typed, errors next to the field.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.editor import forms, yamledit
from bot.editor.draft_pages import intent_again
from bot.editor.drafts import Workspace, save
from bot.editor.rendering import go, runtime_of, start
from bot.editor.topic_views import topic_views
from bot.library.reload import check


def _to_topic(name: str, topic_id: str, done: str = "saved") -> web.HTTPFound:
    return web.HTTPFound(f"/editor/intents/{quote(name)}?done={done}&open={quote(topic_id)}"
                         f"#topic-{quote(topic_id)}")


def _rel(request: web.Request, ws: Workspace) -> tuple[str, str]:
    name = request.match_info["name"]
    rel = f"intents/{name}.yaml"
    if rel not in ws.texts:
        raise web.HTTPNotFound(text=f"404: no intent {name!r} in your draft")
    return name, rel


async def topic_save(request: web.Request) -> web.Response:
    _, ws = await start(request, post=True)
    name, rel = _rel(request, ws)
    topic_id = request.match_info["topic"]
    form, errors = forms.parse_topic(await request.post(), f"topic.{topic_id}.")
    if errors:
        return await intent_again(request, name, {topic_id: form}, errors)
    fields = form.fields()
    try:
        text = yamledit.set_topic(ws.texts[rel], topic_id, fields)
    except KeyError:
        raise web.HTTPNotFound(text=f"404: no topic {topic_id!r} in {rel}") from None
    except yamledit.EditError:
        raise go("/editor/files/" + quote(rel), "broken") from None
    if text != ws.texts[rel]:
        await save(runtime_of(request), ws, {**ws.texts, rel: text})
    raise _to_topic(name, topic_id)


async def topic_new(request: web.Request) -> web.Response:
    _, ws = await start(request, post=True)
    name, rel = _rel(request, ws)
    post = await request.post()
    library, _ = await check(ws.texts)
    existing = set(library.topics) if library else {v.id for v in topic_views(ws.texts[rel])}
    topic_id, form, errors = forms.parse_new_topic(post, existing)
    if errors:
        return await intent_again(request, name, {"": form}, errors, new_id=topic_id)
    try:
        text = yamledit.add_topic(ws.texts[rel], topic_id, form.question, form.phrasings,
                                  form.answers)
        if form.quick_replies:
            text = yamledit.set_topic(text, topic_id, {"quick_replies": form.quick_replies})
    except yamledit.EditError:
        raise go("/editor/files/" + quote(rel), "broken") from None
    await save(runtime_of(request), ws, {**ws.texts, rel: text})
    raise _to_topic(name, topic_id, "created")


async def phrasing_move(request: web.Request) -> web.Response:
    """Move one phrasing to another topic (of this intent or another)."""
    _, ws = await start(request, post=True)
    name, rel = _rel(request, ws)
    topic_id = request.match_info["topic"]
    post = await request.post()
    phrasing = forms.clean(str(post.get("phrasing", "")))
    target = forms.clean(str(post.get("to", "")))
    library, _ = await check(ws.texts)
    views = {v.id: v for v in topic_views(ws.texts[rel])}
    errors = []
    if topic_id not in views:
        raise web.HTTPNotFound(text=f"404: no topic {topic_id!r} in {rel}")
    if phrasing not in views[topic_id].form.phrasings:
        errors.append(forms.FieldError(f"topic.{topic_id}.move", "no_phrasing"))
    owner = library.topics.get(target) if library else None
    target_rel = f"intents/{owner[0].name}.yaml" if owner else (rel if target in views else "")
    if not target_rel or target == topic_id:
        errors.append(forms.FieldError(f"topic.{topic_id}.move", "no_topic"))
    if errors:
        return await intent_again(request, name, {}, errors)
    try:
        texts = {**ws.texts, rel: yamledit.remove_phrasing(ws.texts[rel], topic_id, phrasing)}
        texts[target_rel] = yamledit.add_phrasing(texts[target_rel], target, phrasing)
    except (yamledit.EditError, KeyError):
        raise go("/editor/files/" + quote(target_rel), "broken") from None
    await save(runtime_of(request), ws, texts)
    raise _to_topic(name, topic_id, "moved")
