"""``kefu actions``: the same actions behind rasa-sdk's own action server.

A Rasa assistant's endpoints.yml points ``action_endpoint`` at ``http://HOST:PORT/webhook``;
it gets exactly the events and responses the in-process engine applies.
"""

from __future__ import annotations

import logging
import os

from rasa_sdk import endpoint

from bot.actions import build_executor
from bot.brain import Brain, BrainHolder
from config import Settings
from scripts_zh.loader import load_library

log = logging.getLogger(__name__)


def run_action_server(settings: Settings, *, port: int, host: str) -> None:
    library = load_library(settings.library_dir)
    executor = build_executor(BrainHolder(Brain.build(library, settings.shop_name)))
    os.environ.setdefault("SANIC_HOST", host)
    log.info("rasa action server for %d actions on http://%s:%d/webhook",
             len(executor.actions), host, port)
    endpoint.run(executor, port=port)
