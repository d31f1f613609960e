"""Checks across the whole library that a per-file schema cannot see.

Unknown template variables, template syntax, duplicate examples across intents, prompts an
action needs, and the required system texts. Each problem is located as ``file:line``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from scripts_zh.locations import LazyLines, locate
from scripts_zh.models import REQUIRED_PROMPTS, REQUIRED_SYSTEM, Library, Problem
from scripts_zh.renderer import (
    TEMPLATE_VARIABLES,
    TemplateProblem,
    TemplateTooBig,
    internal_names,
    render,
    undeclared,
)

MIN_EXAMPLES = 20
#: A topic is found by its phrasings: fewer than this many and it is rarely matched.
MIN_PHRASINGS = 8


def _template_problems(rel: str, index: LazyLines,
                       path: tuple[object, ...], template: str) -> list[Problem]:
    try:
        unknown = undeclared(template) - TEMPLATE_VARIABLES
    except TemplateProblem as exc:
        return [Problem(rel, locate(index, path), str(exc))]
    if unknown:
        names = ", ".join(sorted(unknown))
        return [Problem(rel, locate(index, path), f"unknown template variable: {names}")]
    internal = internal_names(template)
    if internal:
        return [Problem(rel, locate(index, path),
                        "templates may not use internal names: " + ", ".join(sorted(internal)))]
    try:
        render(template, SAMPLE)
    except TemplateTooBig as exc:
        return [Problem(rel, locate(index, path), f"template too big: {exc}")]
    except Exception as exc:  # a template that cannot render is the problem itself
        return [Problem(rel, locate(index, path),
                        f"template fails with sample values: {type(exc).__name__}: {exc}")]
    return []


#: Values like the bot's, to render every template once before it is accepted.
SAMPLE: dict[str, object] = {
    **{name: "示例" for name in TEMPLATE_VARIABLES},
    "slots": {"height": 170, "weight": 120, "order_id": "1234567890"},
    "height": 170, "weight": 120, "options": ["选项一", "选项二"], "position": 3,
    "wait_minutes": 5, "rating": 5, "count": 2, "anger": 0.5, "capacity": 3,
    "transcript": "顾客：你好\n客服：您好",
}


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _phrasing_key(text: str) -> str:
    """What two topics' phrasings share when they read the same: letters and digits; a line
    of emoji or signs only reads as any other such line (the matcher sees [表情])."""
    return _key(text) or ("<symbols>" if text.strip() else "")


def check_library(library: Library, texts: Mapping[str, str]) -> list[Problem]:
    """Cross-file checks; severity 'error' blocks loading, 'warning' is advice."""
    problems: list[Problem] = []
    owners: dict[str, tuple[str, str]] = {}
    for name, intent in sorted(library.intents.items()):
        rel = f"intents/{name}.yaml"
        index = LazyLines(texts.get(rel, ""))
        for field in ("replies", "quick_replies"):
            for i, template in enumerate(getattr(intent, field)):
                problems += _template_problems(rel, index, (field, i), template)
        for key, variants in intent.prompts.items():
            for i, template in enumerate(variants):
                problems += _template_problems(rel, index, ("prompts", key, i), template)
        for key in REQUIRED_PROMPTS.get(intent.action, ()):
            if key not in intent.prompts:
                problems.append(Problem(rel, locate(index, ("prompts",)),
                                        f"prompts.{key}: required by {intent.action}"))
        if len(intent.examples) < MIN_EXAMPLES:
            problems.append(Problem(rel, locate(index, ("examples",)),
                                    f"examples: only {len(intent.examples)}; write at least "
                                    f"{MIN_EXAMPLES} varied phrasings", severity="warning"))
        for i, example in enumerate(intent.examples):
            key = _key(example)
            if not key:
                continue
            if key in owners:
                other, _ = owners[key]
                where = "this intent" if other == name else f"intent {other}"
                problems.append(Problem(rel, locate(index, ("examples", i)),
                                        f"duplicate example {example!r} (also in {where})"))
            else:
                owners[key] = (name, example)
    problems += _topic_problems(library, texts)
    rel = "system.yaml"
    index = LazyLines(texts.get(rel, ""))
    if "system.yaml" in texts:
        for key in REQUIRED_SYSTEM:
            if key not in library.system:
                problems.append(Problem(rel, 1, f"{key}: missing system text"))
    for key, variants in library.system.items():
        for i, template in enumerate(variants):
            problems += _template_problems(rel, index, (key, i), template)
    return problems


def _topic_problems(library: Library, texts: Mapping[str, str],
                    today: date | None = None) -> list[Problem]:
    """Topics: unique ids, answers that render, enough phrasings, none shared, dates in order."""
    today = today or date.today()
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    owners: dict[str, str] = {}
    for name, intent in sorted(library.intents.items()):
        rel = f"intents/{name}.yaml"
        index = LazyLines(texts.get(rel, ""))
        for t, topic in enumerate(intent.topics):
            here = ("topics", t)
            if topic.id in ids:
                problems.append(Problem(rel, locate(index, (*here, "id")),
                                        f"topics.{topic.id}: id already used in intent "
                                        f"{ids[topic.id]}"))
            ids.setdefault(topic.id, name)
            for field in ("answers", "quick_replies"):
                for i, template in enumerate(getattr(topic, field)):
                    problems += _template_problems(rel, index, (*here, field, i), template)
            if len(topic.phrasings) < MIN_PHRASINGS:
                problems.append(Problem(rel, locate(index, (*here, "phrasings")),
                                        f"topics.{topic.id}.phrasings: only "
                                        f"{len(topic.phrasings)}; write at least "
                                        f"{MIN_PHRASINGS} as shoppers write them",
                                        severity="warning"))
            for i, phrasing in enumerate([topic.question, *topic.phrasings]):
                key = _phrasing_key(phrasing)
                if not key:
                    continue
                owner = owners.get(key)
                if owner is not None and owner != topic.id:
                    problems.append(Problem(rel, locate(index, (*here, "phrasings", i - 1)),
                                            f"topics.{topic.id}: phrasing {phrasing!r} is "
                                            f"also a phrasing of topic {owner}"))
                owners.setdefault(key, topic.id)
            if topic.valid_from and topic.valid_until and topic.valid_until < topic.valid_from:
                problems.append(Problem(rel, locate(index, (*here, "valid_until")),
                                        f"topics.{topic.id}.valid_until: before valid_from"))
            elif topic.valid_until and topic.valid_until < today:
                problems.append(Problem(rel, locate(index, (*here, "valid_until")),
                                        f"topics.{topic.id}: expired on {topic.valid_until}; "
                                        "its answer is no longer said", severity="warning"))
    return problems
