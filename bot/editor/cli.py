"""``kefu scripts export DIR`` and ``kefu scripts import DIR``: YAML folders in and out.

The YAML files stay the exchange format: export writes a published version's texts byte for
byte (comments, order, quoting), import validates a folder and publishes it as a new version,
which running bots pick up like any publish from the editor.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scripts_zh.export import ExportError, write_texts
from scripts_zh.loader import LibraryError, parse_library, read_texts
from scripts_zh.versions import VersionError, texts_digest

if TYPE_CHECKING:
    from config import Settings


def _author(args: argparse.Namespace) -> str:
    if args.author:
        return str(args.author)
    try:
        return "cli:" + getpass.getuser()
    except (OSError, KeyError):
        return "cli"


async def export_library(settings: Settings, args: argparse.Namespace) -> int:
    from bot.library.runtime import make_stores
    from config.backend import open_backend

    backend = open_backend(settings)
    versions, trained, _ = make_stores(settings, backend)
    try:
        number = args.version if args.version is not None else await versions.current_number()
        if number == 0:
            texts, label = read_texts(settings.library_dir), "v0 (the library folder)"
        else:
            version = await versions.get(number)
            if version is None:
                print(f"kefu scripts export: no version {number}", file=sys.stderr)
                return 2
            texts, label = version.texts, f"v{number} by {version.author}"
        result = write_texts(texts, args.dir, prune=args.prune)
    except (ExportError, VersionError) as exc:
        print(f"kefu scripts export: {exc}", file=sys.stderr)
        return 2
    finally:
        await trained.close()
        await versions.close()
        await backend.close()
    for rel in result.removed:
        print(f"removed {rel}")
    for rel in result.extra:
        print(f"warning: {rel} is not part of {label} (kept; --prune removes it)")
    print(f"exported {label} ({texts_digest(texts)}) to {args.dir}: {len(result.written)} "
          f"written, {len(result.unchanged)} unchanged")
    return 0


async def import_library(settings: Settings, args: argparse.Namespace) -> int:
    from bot.brain import Brain
    from bot.library.runtime import make_stores
    from bot.library.trained import encode
    from config.backend import open_backend

    directory = Path(args.dir)
    try:
        texts = read_texts(directory)
    except LibraryError as exc:
        print(f"kefu scripts import: {exc}", file=sys.stderr)
        return 2
    library, problems = await asyncio.to_thread(parse_library, texts, str(directory))
    for problem in problems:
        prefix = "" if problem.severity == "error" else "warning: "
        print(f"{directory / problem.file}:{problem.line}: {prefix}{problem.message}")
    if library is None:
        errors = sum(1 for p in problems if p.severity == "error")
        print(f"{errors} error(s): nothing was published", file=sys.stderr)
        return 1
    backend = open_backend(settings)
    versions, trained, _ = make_stores(settings, backend)
    try:
        current = await versions.current()
        same = current.texts if current else read_texts(settings.library_dir)
        if same == texts:
            print(f"unchanged: {directory} is already v{current.number if current else 0}")
            return 0
        brain = await asyncio.to_thread(Brain.build, library, settings.shop_name)
        blob = await asyncio.to_thread(encode, library, brain.classifier,
                                       brain.reader.matcher.classifier)
        await trained.put(library.digest, blob)
        note = args.note or f"import from {directory}"
        version = await versions.publish(texts, _author(args), note, base=None)
    except VersionError as exc:
        print(f"kefu scripts import: {exc}", file=sys.stderr)
        return 2
    finally:
        await trained.close()
        await versions.close()
        await backend.close()
    print(f"published v{version.number} ({version.digest}); running bots switch to it now")
    return 0


def add_commands(scripts: argparse._SubParsersAction[argparse.ArgumentParser],
                 run: object) -> None:
    """Register export/import under ``kefu scripts``; ``run`` is the CLI's dispatcher."""
    e = scripts.add_parser("export", help="write a published version's YAML files to DIR")
    e.add_argument("dir")
    e.add_argument("--version", type=int, help="version number (default: the live one)")
    e.add_argument("--prune", action="store_true",
                   help="delete YAML files in DIR that are not part of the version")
    e.set_defaults(func=run, scripts_run=export_library)
    i = scripts.add_parser("import", help="validate DIR and publish it as a new version")
    i.add_argument("dir")
    i.add_argument("--note", default="", help="the version's note")
    i.add_argument("--author", default="", help="who publishes (default: cli:<login>)")
    i.set_defaults(func=run, scripts_run=import_library)
