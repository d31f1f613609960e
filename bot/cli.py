"""The ``kefu`` command: serve, chat, actions, eval, size and scripts.

Every command reports configuration and library errors as one clear message and exit
status 2 (1 for "the thing you asked me to check is broken"), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from config import Settings, SettingsError, load_settings
from scripts_zh.loader import LibraryError

log = logging.getLogger("kefu")


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    return load_settings(getattr(args, "config", None),
                         **{k: v for k, v in overrides.items() if v is not None})


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.server import serve

    settings = _settings(args, web_host=args.host, web_port=args.port)
    asyncio.run(serve(settings))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.terminal import run_chat

    settings = _settings(args)
    return asyncio.run(run_chat(settings, as_json=args.json, at=args.at, name=args.name))


def cmd_actions(args: argparse.Namespace) -> int:
    from bot.rasa_server import run_action_server

    settings = _settings(args)
    run_action_server(settings, port=args.port, host=args.host)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.brain import Brain
    from intents.evaluate import evaluate, format_report, read_tsv
    from intents.normalize import normalize
    from scripts_zh.loader import load_library

    settings = _settings(args, library_dir=args.library)
    try:
        examples = read_tsv(args.file)
    except (OSError, ValueError) as exc:
        print(f"kefu eval: {exc}", file=sys.stderr)
        return 2
    brain = Brain.build(load_library(settings.library_dir), settings.shop_name)

    def predict(text: str) -> tuple[str, float]:
        p = brain.classifier.predict(normalize(text).text)
        return p.intent, p.confidence

    if args.leaks:
        from intents.evaluate import leaks

        found = leaks({i.name: list(i.examples) for i in brain.library.intents.values()},
                      examples)
        for leak in found:
            print(f"{leak['intent']}: {leak['example']!r} ~ line {leak['id']}"
                  f" ({leak['similarity']})")
        print(f"{len(found)} library example(s) nearly repeat evaluation lines")
        return 1 if found else 0
    report = evaluate(examples, predict, settings.classifier_threshold)
    answers = None
    if args.answers or args.replies:
        from bot.eval_answers import DEFAULT_AT, answer, format_answers, write_replies

        answers = asyncio.run(answer(settings, brain, examples, at=args.at or DEFAULT_AT,
                                     agents_online=args.agents_online))
        if args.replies:
            write_replies(answers, args.replies)
    if args.json:
        data = report.as_json()
        if answers is not None:
            data["answers"] = answers.as_json()
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(format_report(report, show_errors=10 if args.errors else 0))
        if answers is not None:
            print()
            print(format_answers(answers))
    return 0


def cmd_size(args: argparse.Namespace) -> int:
    from bot.sizing_cli import print_advice

    settings = _settings(args)
    return print_advice(settings, chart=args.chart, height=args.height, weight=args.weight,
                        weight_unit=args.unit, fit=args.fit)


def cmd_scripts_validate(args: argparse.Namespace) -> int:
    from scripts_zh.loader import read_texts, validate_texts

    directory = args.dir or str(_settings(args).library_dir)
    try:
        problems = validate_texts(read_texts(directory))
    except LibraryError as exc:
        problems = exc.problems
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        prefix = "" if problem.severity == "error" else "warning: "
        print(f"{Path(directory) / problem.file}:{problem.line}: {prefix}{problem.message}")
    if errors:
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print(f"ok: {directory}")
    return 0


def cmd_scripts_versions(args: argparse.Namespace) -> int:
    """export/import (bot/editor/cli.py)."""
    return int(asyncio.run(args.scripts_run(_settings(args), args)))


def cmd_users(args: argparse.Namespace) -> int:
    from bot.users_cli import run_users

    return asyncio.run(run_users(_settings(args), args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description="A shop's customer-service bot.")
    parser.add_argument("--config", help="YAML settings file (default: $KEFU_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web chat (and Telegram when a token is set)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("chat", help="chat with the bot in the terminal (or from stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per bot turn")
    p.add_argument("--at", help='run the chat at this shop-local time, e.g. "2026-11-25 23:30"')
    p.add_argument("--name", default="", help="the shopper's display name")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("actions", help="serve the actions to a Rasa assistant (rasa-sdk server)")
    p.add_argument("--port", type=int, default=5055)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_actions)

    p = sub.add_parser("eval", help="measure the classifier on ID<TAB>TEXT<TAB>LABEL lines")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors", action="store_true", help="show the most confused pairs")
    p.add_argument("--leaks", action="store_true",
                   help="list library examples that nearly repeat lines of FILE (exit 1 if any)")
    p.add_argument("--library", help="library folder (default: the configured one)")
    p.add_argument("--answers", action="store_true",
                   help="also send each line as the first message of a fresh chat and count "
                        "how it is answered (topic, 猜你想问, clarify, handoff, ...) per label")
    p.add_argument("--replies", metavar="OUT.jsonl",
                   help="write each line's answer (intent, topic, action, status, reply) as "
                        "JSON lines, for grading (implies --answers)")
    p.add_argument("--at", help="shop-local time of the --answers chats, e.g. "
                                  '"2026-11-25 23:30" (default: a Wednesday, 10:00)')
    p.add_argument("--agents-online", action="store_true",
                   help="one agent online who takes every handoff (default: nobody online)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("size", help="size advice from a chart")
    p.add_argument("--height", type=float, help="cm")
    p.add_argument("--weight", type=float, help="kg by default (see --unit)")
    p.add_argument("--unit", choices=("kg", "jin"), default="kg")
    p.add_argument("--chart", default="men_tops")
    p.add_argument("--fit", choices=("loose", "regular", "slim"))
    p.set_defaults(func=cmd_size)

    p = sub.add_parser("users", help="agents' and managers' accounts")
    users = p.add_subparsers(dest="users_command", required=True)
    u = users.add_parser("add", help="create or reset an account (asks for the password)")
    u.add_argument("name")
    u.add_argument("--role", choices=("agent", "manager"), required=True)
    u.add_argument("--display-name", default="")
    u.add_argument("--telegram-id", type=int, default=None,
                   help="the Telegram user id that acts as this account in the agents' group")
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin instead of prompting")
    u.set_defaults(func=cmd_users)
    u = users.add_parser("remove", help="delete an account")
    u.add_argument("name")
    u.set_defaults(func=cmd_users)
    u = users.add_parser("list", help="list accounts")
    u.set_defaults(func=cmd_users)

    p = sub.add_parser("scripts", help="the script library")
    scripts = p.add_subparsers(dest="scripts_command", required=True)
    v = scripts.add_parser("validate", help="check a library folder; file:line: problem")
    v.add_argument("dir", nargs="?")
    v.set_defaults(func=cmd_scripts_validate)
    from bot.editor.cli import add_commands

    add_commands(scripts, cmd_scripts_versions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("jieba", "aiohttp.access", "sanic.root", "rasa_sdk", "aiogram.event"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"kefu: {exc}", file=sys.stderr)
        return 2
    except LibraryError as exc:
        print(f"kefu: the script library has errors:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
