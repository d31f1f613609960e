"""Trying, publishing, versions, diffs and rollback.

Publishing validates (errors block it and point at the field), trains, commits a numbered
version (refused if somebody published since the draft started) and swaps this process's
Brain; other processes follow through the version store.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.editor import forms
from bot.editor.diffs import diff_texts, rebase
from bot.editor.drafts import save, texts_of
from bot.editor.problems import locate_all
from bot.editor.rendering import go, render, runtime_of, start
from bot.editor.trial import example_warnings, try_sentence
from bot.library.reload import check
from scripts_zh.loader import LibraryError
from scripts_zh.versions import StaleDraft, VersionError

log = logging.getLogger(__name__)


async def try_page(request: web.Request) -> web.Response:
    session, ws = await start(request, post=request.method == "POST")
    runtime = runtime_of(request)
    text = ""
    if request.method == "POST":
        text = forms.clean(str((await request.post()).get("text", "")))
    library, problems = await check(ws.texts)
    ctx: dict[str, Any] = {"text": text, "trial": None, "misplaced": [], "duplicates": [],
                           "problems": locate_all(problems, ws.texts), "too_long": False,
                           "broken": library is None}
    if len(text) > forms.MAX_CHARS["sentence"]:
        ctx["too_long"] = True
        return await render(request, session, ws, "editor_try.html", ctx, status=400)
    if library is not None and runtime.reloader is not None:
        try:
            brain = await runtime.reloader.brain_for(ws.texts)
        except LibraryError:
            ctx["broken"] = True
        else:
            if text:
                ctx["trial"] = await try_sentence(runtime.settings, brain, text)
            ctx["misplaced"], ctx["duplicates"] = await example_warnings(brain)
    return await render(request, session, ws, "editor_try.html", ctx)



async def publish(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    runtime = runtime_of(request)
    post = await request.post()
    note = forms.clean(str(post.get("note", "")))[:forms.MAX_CHARS["note"]]
    if not ws.dirty:
        raise go("/editor", "nothing")
    _, problems = await check(ws.texts)
    located = locate_all(problems, ws.texts)
    if any(p.error for p in located):
        return await render(request, session, ws, "editor_publish.html",
                           {"problems": located, "stale": None, "note": note}, status=422)
    if runtime.reloader is None:
        raise web.HTTPServiceUnavailable(text="live reload is not running in this process")
    try:
        version = await runtime.reloader.publish(ws.texts, session.user, note, ws.draft.base)
    except StaleDraft as exc:
        return await render(request, session, ws, "editor_publish.html",
                           {"problems": [], "stale": exc, "note": note}, status=409)
    except VersionError as exc:
        log.error("publish failed: %s", exc)
        raise web.HTTPServiceUnavailable(text=f"503: could not publish: {exc}") from None
    await runtime.versions.delete_draft(session.user)
    raise go("/editor/versions", "published", version.number)


async def discard(request: web.Request) -> web.Response:
    session, _ = await start(request, post=True)
    await runtime_of(request).versions.delete_draft(session.user)
    raise go("/editor", "discarded")


async def rebase_draft(request: web.Request) -> web.Response:
    """Carry my changed files over to the live version (conflicts: I choose a side)."""
    session, ws = await start(request, post=True)
    runtime = runtime_of(request)
    prefer = str((await request.post()).get("prefer", ""))
    theirs = await texts_of(runtime, ws.current) or {}
    merged, conflicts = rebase(ws.base_texts, ws.texts, theirs)
    if conflicts and prefer not in ("mine", "theirs"):
        return await render(request, session, ws, "editor_publish.html",
                           {"problems": [], "stale": None, "conflicts": conflicts, "note": ""},
                           status=409)
    if prefer == "mine":
        for rel in conflicts:
            if rel in ws.texts:
                merged[rel] = ws.texts[rel]
            else:
                merged.pop(rel, None)
    await save(runtime, ws, merged, base=ws.current)
    raise go("/editor", "rebased", ws.current)


async def versions_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    infos = await runtime_of(request).versions.list()
    return await render(request, session, ws, "editor_versions.html", {"versions": infos})


async def diff_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    runtime = runtime_of(request)

    async def side(value: str) -> tuple[str, dict[str, str] | None]:
        if value == "draft":
            return "draft", ws.texts
        try:
            number = int(value)
        except ValueError:
            return value, None
        return f"v{number}", await texts_of(runtime, number)

    a_label, a = await side(request.query.get("from", str(ws.draft.base)))
    b_label, b = await side(request.query.get("to", "draft"))
    if a is None or b is None:
        raise web.HTTPNotFound(text="404: no such version")
    return await render(request, session, ws, "editor_diff.html", {
        "a": a_label, "b": b_label, "files": diff_texts(a, b)})


async def rollback(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    runtime = runtime_of(request)
    post = await request.post()
    try:
        number = int(str(post.get("version", "")))
        base = int(str(post.get("base", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="400: version and base must be numbers") from None
    if runtime.reloader is None:
        raise web.HTTPServiceUnavailable(text="live reload is not running in this process")
    try:
        version = await runtime.reloader.rollback(number, session.user, base)
    except KeyError:
        raise web.HTTPNotFound(text=f"404: no version {number}") from None
    except LibraryError as exc:
        return await render(request, session, ws, "editor_publish.html", {
            "problems": locate_all(exc.problems, {}), "stale": None, "note": ""}, status=422)
    except StaleDraft as exc:
        return await render(request, session, ws, "editor_publish.html",
                           {"problems": [], "stale": exc, "note": ""}, status=409)
    raise go("/editor/versions", "rolled_back", version.number)
