"""The editor's routes under /editor (managers only; agents get 403, strangers /login).

Every POST checks the session's CSRF token. The pages live in :mod:`bot.editor.draft_pages`
(editing the draft) and :mod:`bot.editor.publishing` (try, publish, versions, rollback),
their templates in ``templates/`` and the script and styles in ``static/`` beside them.
The library they edit lives on in :mod:`bot.library`, which the web app starts and stops.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.editor.draft_pages import (
    chart_new,
    charts_page,
    file_delete,
    file_page,
    file_save,
    index,
    intent_new,
    intent_page,
    intent_save,
    system_page,
    system_save,
)
from bot.editor.publishing import (
    diff_page,
    discard,
    publish,
    rebase_draft,
    rollback,
    try_page,
    versions_page,
)
from bot.editor.topic_pages import phrasing_move, topic_new, topic_save
from bot.editor.unanswered_pages import add_phrasing, forget, unanswered_page
from bot.web import assets


def setup(app: web.Application) -> None:
    assets.add_feature(app, "editor", Path(__file__).resolve().parent)
    r = app.router
    r.add_get("/editor", index)
    r.add_post("/editor/intents", intent_new)
    r.add_get("/editor/intents/{name}", intent_page)
    r.add_post("/editor/intents/{name}", intent_save)
    r.add_post("/editor/intents/{name}/topics", topic_new)
    r.add_post("/editor/intents/{name}/topics/{topic}", topic_save)
    r.add_post("/editor/intents/{name}/topics/{topic}/move", phrasing_move)
    r.add_get("/editor/system", system_page)
    r.add_post("/editor/system", system_save)
    r.add_get("/editor/charts", charts_page)
    r.add_post("/editor/charts", chart_new)
    r.add_post("/editor/files/{path:.+}/delete", file_delete)
    r.add_get("/editor/files/{path:.+}", file_page)
    r.add_post("/editor/files/{path:.+}", file_save)
    r.add_get("/editor/unanswered", unanswered_page)
    r.add_post("/editor/unanswered/add", add_phrasing)
    r.add_post("/editor/unanswered/forget", forget)
    r.add_get("/editor/try", try_page)
    r.add_post("/editor/try", try_page)
    r.add_post("/editor/publish", publish)
    r.add_post("/editor/discard", discard)
    r.add_post("/editor/rebase", rebase_draft)
    r.add_get("/editor/versions", versions_page)
    r.add_get("/editor/diff", diff_page)
    r.add_post("/editor/rollback", rollback)
