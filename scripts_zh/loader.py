"""Read the library from YAML files (on disk or as texts) into a validated Library.

A library is a mapping of relative paths to YAML texts: ``system.yaml``,
``intents/<name>.yaml`` and ``size_charts/<name>.yaml``. Keeping it as texts lets the editor
store versions byte for byte (comments included) and lets ``scripts import/export`` round-trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scripts_zh.locations import LazyLines, line_index, locate
from scripts_zh.models import Intent, Library, Problem
from scripts_zh.validator import check_library

__all__ = ["LazyLines", "LibraryError", "line_index", "load_library", "locate", "parse_library",
           "read_texts", "validate_texts"]

MAX_FILE_BYTES = 2_000_000
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LibraryError(Exception):
    """The library has errors; ``problems`` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_texts(directory: str | Path) -> dict[str, str]:
    """The library's YAML files under ``directory`` as {relative path: text}."""
    root = Path(directory)
    if not root.is_dir():
        raise LibraryError([Problem(str(root), 0, "library folder not found")])
    texts: dict[str, str] = {}
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LibraryError([Problem(rel, 0, "file is larger than 2 MB")])
        try:
            texts[rel] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LibraryError([Problem(rel, 0, "file is not UTF-8 text")]) from None
    return texts


def parse_yaml(rel: str, text: str) -> tuple[Any, list[Problem]]:
    """Parse one file, turning YAML syntax errors into a located Problem."""
    try:
        return yaml.load(text, Loader=_Loader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(rel, line, f"YAML syntax: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(rel, 1, f"YAML syntax: {exc}")]


def model_problems(rel: str, text: str, exc: ValidationError) -> list[Problem]:
    """Pydantic errors as located Problems naming the field."""
    index = line_index(text)
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(file)"
        problems.append(Problem(rel, locate(index, loc), f"{field}: {err['msg']}"))
    return problems


def _validated(model: type[BaseModel], rel: str, text: str, data: Any) -> tuple[Any, list[Problem]]:
    if not isinstance(data, dict):
        return None, [Problem(rel, 1, "the file must be a mapping of keys to values")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, model_problems(rel, text, exc)


def parse_library(
    texts: Mapping[str, str], source: str = ""
) -> tuple[Library | None, list[Problem]]:
    """Build a Library from texts; returns it with every problem found (errors and warnings)."""
    from scripts_zh.size_charts import SizeChart

    problems: list[Problem] = []
    intents: dict[str, Intent] = {}
    charts: dict[str, Any] = {}
    system: dict[str, list[str]] = {}
    if "system.yaml" not in texts:
        problems.append(Problem("system.yaml", 0, "missing: the system texts file is required"))
    for rel, text in sorted(texts.items()):
        data, errs = parse_yaml(rel, text)
        problems.extend(errs)
        if errs:
            continue
        stem = Path(rel).stem
        if rel == "system.yaml":
            parsed, errs = _system(rel, text, data)
            problems.extend(errs)
            system = parsed
        elif rel.startswith("intents/"):
            intent, errs = _validated(Intent, rel, text, data)
            problems.extend(errs)
            if intent is not None:
                if intent.name != stem:
                    problems.append(
                        Problem(rel, locate(line_index(text), ("name",)),
                                f"name: {intent.name!r} must match the file name {stem!r}")
                    )
                intents[intent.name] = intent
        elif rel.startswith("size_charts/"):
            chart, errs = _validated(SizeChart, rel, text, data)
            problems.extend(errs)
            if chart is not None:
                charts[chart.name] = chart
        else:
            problems.append(Problem(rel, 1, "unknown file: expected system.yaml, "
                                            "intents/*.yaml or size_charts/*.yaml",
                                    severity="warning"))
    if not intents:
        problems.append(Problem("intents/", 0, "no intents: the library needs at least one"))
    digest = hashlib.sha256(
        "\0".join(f"{k}\0{v}" for k, v in sorted(texts.items())).encode()
    ).hexdigest()[:12]
    library = Library(intents=intents, system=system, size_charts=charts, source=source,
                      digest=digest)
    problems.extend(check_library(library, texts))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return library, problems


def _system(rel: str, text: str, data: Any) -> tuple[dict[str, list[str]], list[Problem]]:
    index = line_index(text)
    if not isinstance(data, dict):
        return {}, [Problem(rel, 1, "the file must be a mapping of keys to lists of texts")]
    system: dict[str, list[str]] = {}
    problems = []
    for key, value in data.items():
        variants = [value] if isinstance(value, str) else value
        if (not isinstance(variants, list) or not variants
                or not all(isinstance(v, str) and v.strip() for v in variants)):
            problems.append(Problem(rel, locate(index, (key,)),
                                    f"{key}: must be a text or a list of non-empty texts"))
            continue
        system[str(key)] = [v.strip() for v in variants]
    return system, problems


def load_library(directory: str | Path) -> Library:
    """Load and validate the library in ``directory``; raise LibraryError if it is broken."""
    texts = read_texts(directory)
    library, problems = parse_library(texts, source=str(directory))
    if library is None:
        raise LibraryError([p for p in problems if p.severity == "error"])
    return library


def validate_texts(texts: Mapping[str, str]) -> list[Problem]:
    """Everything wrong with a library given as texts (used by the CLI and the editor)."""
    _, problems = parse_library(texts)
    return problems
