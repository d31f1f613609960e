"""The managers' script editor: edit the library in a browser, try it, publish, roll back.

:func:`bot.editor.routes.setup` mounts the pages (:mod:`~bot.editor.draft_pages`,
:mod:`~bot.editor.publishing`, sharing :mod:`~bot.editor.rendering`) with their templates
and static files beside them. This package imports nothing on purpose: the engine imports
:mod:`bot.editor.hits` for its one counting call and must not pull in the web pages.
"""
