"""The managers' script editor: edit the library in a browser, try it, publish, roll back.

:func:`bot.editor.routes.setup` mounts the pages (:mod:`~bot.editor.draft_pages`,
:mod:`~bot.editor.publishing`, sharing :mod:`~bot.editor.rendering`) with their templates
and static files beside them; the managers' CLI is :mod:`~bot.editor.cli`. What a
running bot does with the library (versions, publishing, reload, hit counts) is
:mod:`bot.library`, not these pages.
"""
