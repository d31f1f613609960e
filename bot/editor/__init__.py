"""The managers' script editor: edit the library in a browser, try it, publish, roll back.

Kept light on purpose: the engine imports :mod:`bot.editor.hits` for its one counting call.
"""
