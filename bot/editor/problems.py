"""Point each library problem (``file:line: message``) at the form field that holds it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scripts_zh.loader import line_index
from scripts_zh.models import Problem


@dataclass(frozen=True)
class Located:
    """A problem plus the field (``examples``, ``prompts.ask_order``, ``welcome``) and entry."""

    problem: Problem
    field: str
    item: int  # 1-based entry in a list field; 0 for the field or file as a whole
    url: str

    @property
    def error(self) -> bool:
        return self.problem.severity == "error"


def page_of(rel: str) -> str:
    """The editor page where ``rel`` is edited."""
    if rel == "system.yaml":
        return "/editor/system"
    if rel.startswith("intents/") and rel.endswith(".yaml"):
        return "/editor/intents/" + quote(rel[len("intents/"):-len(".yaml")])
    return "/editor/files/" + quote(rel)


def _path_at(index: Mapping[tuple[Any, ...], int], line: int) -> tuple[Any, ...]:
    """The deepest key path starting on ``line``, else the nearest one above it."""
    best: tuple[Any, ...] = ()
    best_line = 0
    for path, at in index.items():
        if at > line:
            continue
        if at > best_line or (at == best_line and len(path) > len(best)):
            best, best_line = path, at
    return best


def _field(rel: str, path: tuple[Any, ...]) -> tuple[str, int]:
    if not path or not (rel == "system.yaml" or rel.startswith("intents/")):
        return "", 0
    head = str(path[0])
    rest = path[1:]
    if head == "prompts" and rest and isinstance(rest[0], str):
        head, rest = f"prompts.{rest[0]}", rest[1:]
    item = rest[0] + 1 if rest and isinstance(rest[0], int) else 0
    return head, item


def locate_all(problems: Iterable[Problem], texts: Mapping[str, str]) -> list[Located]:
    indexes: dict[str, Mapping[tuple[Any, ...], int]] = {}
    located = []
    for problem in problems:
        text = texts.get(problem.file)
        field, item = "", 0
        if text is not None and problem.line > 0:
            if problem.file not in indexes:
                indexes[problem.file] = line_index(text)
            field, item = _field(problem.file, _path_at(indexes[problem.file], problem.line))
        url = page_of(problem.file) if problem.file in texts else "/editor"
        if field and not url.startswith("/editor/files/"):
            url += f"#f-{field}"
        elif url.startswith("/editor/files/") and problem.line > 0:
            url += f"#L{problem.line}"
        located.append(Located(problem, field, item, url))
    return located
