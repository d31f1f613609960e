"""Render reply templates in a Jinja2 sandbox, in Simplified or Traditional script.

Templates are written by managers, so they run in a SandboxedEnvironment: a template cannot
reach Python internals, and a missing variable renders as empty instead of failing a reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import opencc
from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

#: Every variable a template may use; the validator rejects any other name.
TEMPLATE_VARIABLES = frozenset(
    {
        "shop_name",
        "customer_name",
        "slots",
        "size",
        "alt_size",
        "alt_fit",
        "height",
        "weight",
        "fit",
        "reason",
        "order_id",
        "options",
        "position",
        "wait_minutes",
        "agent_name",
        "chart_title",
        "rating",
        "opens_at",
        "count",
        # the agents' side in Telegram (tg_* system texts)
        "text",
        "summary",
        "anger",
        "transcript",
        "ticket_id",
        "channel",
        "skill",
        "contact",
        "presence",
        "capacity",
    }
)

_env = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
_s2t = opencc.OpenCC("s2t")


class TemplateProblem(ValueError):
    """A template does not parse or uses a variable that is not provided."""


def undeclared(template: str) -> set[str]:
    """Variables a template uses; raises TemplateProblem on a syntax error."""
    try:
        ast = _env.parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax (line {exc.lineno}): {exc.message}") from None
    return set(meta.find_undeclared_variables(ast))


@lru_cache(maxsize=4096)
def _compiled(template: str) -> Any:
    return _env.from_string(template)


def to_traditional(text: str) -> str:
    """Simplified → Traditional for shoppers who write Traditional."""
    return str(_s2t.convert(text))


def pick(variants: Sequence[str], seed: int) -> str:
    """Choose a variant deterministically; ``seed`` rotates through them turn by turn."""
    return variants[seed % len(variants)]


def render(template: str, context: Mapping[str, Any], *, traditional: bool = False) -> str:
    """Render one template. Errors become an empty string; the caller falls back to a safe text."""
    if "{" in template:
        text = str(_compiled(template).render(**context)).strip()
    else:  # no tag, no expression: Jinja would return it as is, after setting up a context
        text = template.strip()
    return to_traditional(text) if traditional else text
