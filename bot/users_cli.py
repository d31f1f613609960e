"""``kefu users add|remove|list``: accounts for the agent console and the script editor."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.auth import UserError, make_user_store
from bot.auth.users import new_user
from config import Settings
from config.backend import open_backend


async def run_users(settings: Settings, args: argparse.Namespace) -> int:
    backend = open_backend(settings)
    store = make_user_store(settings, backend)
    try:
        if args.users_command == "list":
            for user in await store.all():
                linked = f"\ttelegram:{user.telegram_id}" if user.telegram_id else ""
                print(f"{user.name}\t{user.role}\t{user.display_name}{linked}")
            return 0
        if args.users_command == "remove":
            if await store.delete(args.name):
                print(f"removed {args.name}")
                return 0
            print(f"kefu users: no user {args.name!r}", file=sys.stderr)
            return 1
        password = _read_password(args.password_stdin)
        before = await store.get(args.name)
        telegram_id = getattr(args, "telegram_id", None)
        if telegram_id is None and before is not None:
            telegram_id = before.telegram_id  # a password reset keeps the Telegram link
        user = new_user(args.name, args.role, password, args.display_name, telegram_id)
        existed = before is not None
        await store.put(user)
        print(f"{'updated' if existed else 'added'} {user.name} ({user.role})")
        return 0
    except UserError as exc:
        print(f"kefu users: {exc}", file=sys.stderr)
        return 2
    finally:
        await backend.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UserError("the two passwords differ")
    return first
