"""The script library's life cycle in a running bot: versions, publishing, live reload,
hit counts and the lines nobody answered.

:class:`~bot.library.runtime.LibraryRuntime` is built once per process on its storage
backend (``Services.build``); the engine reports to it as its ``RouteObserver``, the web
app starts and stops it, and the managers' editor (:mod:`bot.editor`) works on it. The
library itself (YAML, models, validation, rendering, numbered versions) is
:mod:`scripts_zh`; this package is what a bot process does with it.
"""
