"""Refuse templates that reach for Python internals, with a message at the field.

Rendering already happens in Jinja2's SandboxedEnvironment, which raises on ``__class__``
and the like, but only when such a reply is sent (the shopper then gets the error text).
Checking the template's syntax tree before publishing turns that into a clear problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from scripts_zh.loader import line_index, locate
from scripts_zh.models import Library, Problem

_env = SandboxedEnvironment()


def _internal_names(template: str) -> set[str]:
    try:
        tree = _env.parse(template)
    except TemplateSyntaxError:
        return set()  # the validator reports syntax errors
    found = set()
    for attr in tree.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):
            found.add(attr.attr)
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and str(item.arg.value).startswith("_"):
            found.add(str(item.arg.value))
    return found


def _templates(library: Library) -> Iterator[tuple[str, tuple[object, ...], str]]:
    for name, intent in library.intents.items():
        rel = f"intents/{name}.yaml"
        for field in ("replies", "quick_replies"):
            for i, template in enumerate(getattr(intent, field)):
                yield rel, (field, i), template
        for key, variants in intent.prompts.items():
            for i, template in enumerate(variants):
                yield rel, ("prompts", key, i), template
    for key, variants in library.system.items():
        for i, template in enumerate(variants):
            yield "system.yaml", (key, i), template


def unsafe_templates(library: Library, texts: Mapping[str, str]) -> list[Problem]:
    problems = []
    indexes: dict[str, dict[tuple[object, ...], int]] = {}
    for rel, path, template in _templates(library):
        names = _internal_names(template)
        if names:
            if rel not in indexes:
                indexes[rel] = line_index(texts.get(rel, ""))
            problems.append(Problem(rel, locate(indexes[rel], path),
                                    "templates may not use internal names: "
                                    + ", ".join(sorted(names))))
    return problems
