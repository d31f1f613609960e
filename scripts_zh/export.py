"""Write a library (texts) back to a folder of YAML files: ``kefu scripts export``.

The texts are written byte for byte, so exporting a version and importing the folder again
gives the same texts (comments, order and quoting included).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


class ExportError(ValueError):
    """A path in the texts would leave the target folder, or the folder cannot be written."""


@dataclass
class ExportResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: YAML files in the folder that are not part of the library (kept unless pruned).
    extra: list[str] = field(default_factory=list)


def safe_relpath(rel: str) -> PurePosixPath:
    """A library path (``intents/refund.yaml``) that stays inside its folder."""
    path = PurePosixPath(rel)
    if (path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts)
            or path.suffix != ".yaml" or "\\" in rel):
        raise ExportError(f"{rel!r}: not a library file path")
    return path


def write_texts(texts: Mapping[str, str], directory: str | Path, *,
                prune: bool = False) -> ExportResult:
    """Write every text under ``directory``; with ``prune`` delete YAML files not in ``texts``."""
    root = Path(directory)
    checked = {rel: safe_relpath(rel) for rel in texts}
    result = ExportResult()
    try:
        for rel, text in sorted(texts.items()):
            target = root.joinpath(*checked[rel].parts)
            if target.is_file() and target.read_bytes() == text.encode("utf-8"):
                result.unchanged.append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".export.")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.replace(tmp, target)
            result.written.append(rel)
        for path in sorted(root.rglob("*.yaml")):
            rel = path.relative_to(root).as_posix()
            if rel in texts:
                continue
            if prune:
                path.unlink()
                result.removed.append(rel)
            else:
                result.extra.append(rel)
    except OSError as exc:
        raise ExportError(f"{root}: cannot write: {exc}") from exc
    return result
