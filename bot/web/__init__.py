"""The web app: the shoppers' chat, /health and logins, plus the staff features it mounts.

:func:`bot.web.app.create_app` composes it: the chat (:mod:`bot.web.chat`), health, the
login pages (:mod:`bot.web.login`; accounts themselves live in :mod:`bot.auth`), the agents'
console (:mod:`bot.console`) and the managers' editor (:mod:`bot.editor`), each with its own
``setup(app)``. Features read the Services through :mod:`bot.web.keys` and
never import the app, so this package imports nothing on purpose.
"""
