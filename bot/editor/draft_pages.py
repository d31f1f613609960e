"""The pages that edit the draft: intents, system texts, size charts and raw YAML files.

Every save goes to the manager's draft; a form with errors is shown again as typed, with
the errors next to the fields, and nothing is saved.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from aiohttp import web

from bot.editor import forms, yamledit
from bot.editor.drafts import Workspace, intent_rows, read_yaml, save
from bot.editor.problems import locate_all
from bot.editor.rendering import by_field, go, render, runtime_of, start
from bot.editor.topic_views import topics_context
from bot.library.reload import check
from bot.web.login import Session
from scripts_zh.export import ExportError, safe_relpath
from scripts_zh.models import REQUIRED_SYSTEM


async def index(request: web.Request) -> web.Response:
    session, ws = await start(request)
    runtime = runtime_of(request)
    _, problems = await check(ws.texts)
    located = locate_all(problems, ws.texts)
    rows = intent_rows(ws.texts, ws.changed())
    return await render(request, session, ws, "editor.html", {
        "rows": rows, "hits": await runtime.hits.counts(), "problems": located,
        "new_errors": [], "new_name": "", "new_title": "",
        "system_changed": "system.yaml" in ws.changed()})


async def intent_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    name = request.match_info["name"]
    rel = f"intents/{name}.yaml"
    if rel not in ws.texts:
        raise web.HTTPNotFound(text=f"404: no intent {name!r} in your draft")
    data = read_yaml(ws.texts[rel])
    if not isinstance(data, dict):
        raise go("/editor/files/" + quote(rel), "broken")
    return await _intent(request, session, ws, name, forms.IntentForm.from_data(data), [],
                         str(data.get("action") or "action_reply"))


async def _intent(request: web.Request, session: Session, ws: Workspace, name: str,
                  form: forms.IntentForm, errors: list[forms.FieldError], action: str,
                  status: int = 200, typed: dict[str, forms.TopicForm] | None = None,
                  topic_errors: list[forms.FieldError] | None = None,
                  new_id: str = "") -> web.Response:
    rel = f"intents/{name}.yaml"
    _, problems = await check(ws.texts)
    located = locate_all(problems, ws.texts)
    field_errors: dict[str, list[forms.FieldError]] = defaultdict(list)
    for error in errors:
        field_errors[error.field].append(error)
    return await render(request, session, ws, "editor_intent.html", {
        "name": name, "rel": rel, "form": form, "action": action, "errors": field_errors,
        "problems": by_field(located, rel), "changed": rel in ws.changed(),
        **await topics_context(request, ws, name, located, typed, topic_errors, new_id)}, status)


async def intent_again(request: web.Request, name: str, typed: dict[str, forms.TopicForm],
                       topic_errors: list[forms.FieldError], new_id: str = "") -> web.Response:
    """The intent page with a topic form shown as typed, its errors next to the fields."""
    session, ws = await start(request)
    data = read_yaml(ws.texts[f"intents/{name}.yaml"])
    if not isinstance(data, dict):
        raise go("/editor/files/" + quote(f"intents/{name}.yaml"), "broken")
    return await _intent(request, session, ws, name, forms.IntentForm.from_data(data), [],
                         str(data.get("action") or "action_reply"), 400, typed, topic_errors,
                         new_id)


async def intent_save(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    name = request.match_info["name"]
    rel = f"intents/{name}.yaml"
    if rel not in ws.texts:
        raise web.HTTPNotFound(text=f"404: no intent {name!r} in your draft")
    form, errors = forms.parse_intent(await request.post())
    data = read_yaml(ws.texts[rel])
    action = str(data.get("action") or "action_reply") if isinstance(data, dict) else ""
    if errors:
        return await _intent(request, session, ws, name, form, errors, action, status=400)
    try:
        text = yamledit.set_fields(ws.texts[rel], form.top_fields())
        if form.prompts:
            text = yamledit.set_nested(text, "prompts", form.prompts)
    except yamledit.EditError:
        raise go("/editor/files/" + quote(rel), "broken") from None
    if text != ws.texts[rel]:
        await save(runtime_of(request), ws, {**ws.texts, rel: text})
    raise go(f"/editor/intents/{quote(name)}", "saved")


async def intent_new(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    existing = {rel[len("intents/"):-5] for rel in ws.texts if rel.startswith("intents/")}
    name, title, errors = forms.parse_new_intent(await request.post(), existing)
    if errors:
        runtime = runtime_of(request)
        _, problems = await check(ws.texts)
        return await render(request, session, ws, "editor.html", {
            "rows": intent_rows(ws.texts, ws.changed()), "hits": await runtime.hits.counts(),
            "problems": locate_all(problems, ws.texts), "new_errors": errors,
            "new_name": name, "new_title": title,
            "system_changed": "system.yaml" in ws.changed()}, status=400)
    await save(runtime_of(request), ws, {**ws.texts,
                                       f"intents/{name}.yaml": yamledit.new_intent(name, title)})
    raise go(f"/editor/intents/{quote(name)}", "created")


def _system_values(ws: Workspace) -> tuple[list[str], dict[str, list[str]]]:
    data = read_yaml(ws.texts.get("system.yaml", "")) or {}
    if not isinstance(data, dict):
        data = {}
    values: dict[str, list[str]] = {}
    for key, value in data.items():
        values[str(key)] = [value] if isinstance(value, str) else \
            [str(v) for v in value] if isinstance(value, list) else []
    keys = list(values) + [k for k in REQUIRED_SYSTEM if k not in values]
    return keys, values


async def system_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    if read_yaml(ws.texts.get("system.yaml", "")) is None and "system.yaml" in ws.texts:
        raise go("/editor/files/system.yaml", "broken")
    keys, values = _system_values(ws)
    return await _system(request, session, ws, keys, values, [])


async def _system(request: web.Request, session: Session, ws: Workspace, keys: list[str],
                  values: dict[str, list[str]], errors: list[forms.FieldError],
                  status: int = 200) -> web.Response:
    _, problems = await check(ws.texts)
    field_errors: dict[str, list[forms.FieldError]] = defaultdict(list)
    for error in errors:
        field_errors[error.field].append(error)
    return await render(request, session, ws, "editor_system.html", {
        "keys": keys, "values": values, "errors": field_errors,
        "problems": by_field(locate_all(problems, ws.texts), "system.yaml"),
        "required": REQUIRED_SYSTEM}, status)


async def system_save(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    texts, errors = forms.parse_system(await request.post())
    keys, _ = _system_values(ws)
    if errors:
        return await _system(request, session, ws, keys, texts, errors, status=400)
    old = ws.texts.get("system.yaml", "")
    try:
        text = yamledit.set_fields(old, texts, order=keys)
    except yamledit.EditError:
        raise go("/editor/files/system.yaml", "broken") from None
    if text != old:
        await save(runtime_of(request), ws, {**ws.texts, "system.yaml": text})
    raise go("/editor/system", "saved")


async def charts_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    charts = []
    for rel in sorted(ws.texts):
        if rel.startswith("size_charts/"):
            data = read_yaml(ws.texts[rel])
            charts.append({"rel": rel, "data": data if isinstance(data, dict) else None,
                           "changed": rel in ws.changed()})
    return await render(request, session, ws, "editor_charts.html", {"charts": charts})


def _file_rel(request: web.Request, ws: Workspace, must_exist: bool = True) -> str:
    rel = request.match_info["path"]
    try:
        safe_relpath(rel)
    except ExportError:
        raise web.HTTPNotFound(text=f"404: {rel!r} is not a library file") from None
    if must_exist and rel not in ws.texts:
        raise web.HTTPNotFound(text=f"404: {rel!r} is not in your draft")
    return rel


async def file_page(request: web.Request) -> web.Response:
    session, ws = await start(request)
    rel = _file_rel(request, ws)
    return await _file(request, session, ws, rel, ws.texts[rel], "")


async def _file(request: web.Request, session: Session, ws: Workspace, rel: str, text: str,
                error: str, status: int = 200) -> web.Response:
    _, problems = await check(ws.texts)
    return await render(request, session, ws, "editor_file.html", {
        "rel": rel, "text": text, "error": error,
        "problems": [p for p in locate_all(problems, ws.texts) if p.problem.file == rel],
        "lines": text.count("\n") + 1, "max_chars": forms.MAX_FILE_CHARS,
        "changed": rel in ws.changed()}, status)


async def file_save(request: web.Request) -> web.Response:
    session, ws = await start(request, post=True)
    rel = _file_rel(request, ws)
    post = await request.post()
    text = str(post.get("text", "")).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > forms.MAX_FILE_CHARS:
        return await _file(request, session, ws, rel, text, "too_long", status=400)
    if not text.strip():
        return await _file(request, session, ws, rel, text, "empty", status=400)
    if not text.endswith("\n"):
        text += "\n"
    if text != ws.texts[rel]:
        await save(runtime_of(request), ws, {**ws.texts, rel: text})
    raise go("/editor/files/" + quote(rel), "saved")


async def file_delete(request: web.Request) -> web.Response:
    _, ws = await start(request, post=True)
    rel = _file_rel(request, ws)
    if rel == "system.yaml":
        raise web.HTTPBadRequest(text="400: system.yaml is required and cannot be deleted")
    await save(runtime_of(request), ws, {k: v for k, v in ws.texts.items() if k != rel})
    raise go("/editor", "deleted")


async def chart_new(request: web.Request) -> web.Response:
    _, ws = await start(request, post=True)
    post = await request.post()
    name = forms.clean(str(post.get("name", "")))
    if not forms.INTENT_NAME.match(name) or f"size_charts/{name}.yaml" in ws.texts:
        raise go("/editor/charts", "bad_chart_name")
    rel = f"size_charts/{name}.yaml"
    template = ws.texts.get("size_charts/men_tops.yaml")
    text = yamledit.set_fields(template, {"name": name}, order=()) if template else \
        f"name: {name}\n"
    await save(runtime_of(request), ws, {**ws.texts, rel: text})
    raise go("/editor/files/" + quote(rel), "created")
