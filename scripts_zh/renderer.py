"""Render reply templates in a Jinja2 sandbox, in Simplified or Traditional script.

Templates are written by managers, so they run in a sandbox: a template cannot reach Python
internals or change a value in place, and a missing variable renders as empty instead of
failing a reply. Its work is bounded too, so one template cannot freeze every conversation:
``range`` sizes, repeated strings and lists, large powers and products, the number of steps
(template lines run) and the output's length; going past a bound raises TemplateTooBig.
"""

from __future__ import annotations

import operator
import re
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import FrameType
from typing import Any

import opencc
from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

#: Bounds of one render: items from range(), characters or items of a computed value,
#: bits of a computed integer, template lines run, characters of output.
MAX_RANGE = 1_000
MAX_ITEMS = 10_000
MAX_INT_BITS = 256
MAX_STEPS = 20_000
MAX_OUTPUT = 10_000

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

class TemplateProblem(ValueError):
    """A template does not parse or uses a variable that is not provided."""


class TemplateTooBig(TemplateProblem, SecurityError):
    """A template asked for more work or output than a reply may take."""


def _sized(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise TemplateTooBig(f"a number in the template is too large (over {MAX_INT_BITS} "
                                 "bits)")
    elif isinstance(value, (str, list, tuple)) and len(value) > MAX_ITEMS:
        raise TemplateTooBig(f"a value in the template is too long (over {MAX_ITEMS})")
    return value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Checks the size of what an operator would build before building it."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and (
                    right * max(1, _bits(abs(left))) > MAX_INT_BITS):
                raise TemplateTooBig(f"a power in the template is too large (over "
                                     f"{MAX_INT_BITS} bits)")
            return _sized(left ** right)
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if _length(seq) and isinstance(times, int) and _length(seq) * times > MAX_ITEMS:
                    raise TemplateTooBig(f"a repeated text in the template is too long (over "
                                         f"{MAX_ITEMS})")
            if isinstance(left, int) and isinstance(right, int) and (
                    _bits(abs(left)) + _bits(abs(right)) > MAX_INT_BITS):
                raise TemplateTooBig(f"a product in the template is too large (over "
                                     f"{MAX_INT_BITS} bits)")
            return _sized(left * right)
        if operator_ == "+":
            if _length(left) + _length(right) > MAX_ITEMS:
                raise TemplateTooBig(f"a joined text in the template is too long (over "
                                     f"{MAX_ITEMS})")
            return _sized(left + right)
        if operator_ == "%" and isinstance(left, str):
            return _percent(left, right)
        return super().call_binop(context, operator_, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``'{:>100000000}'.format(x)`` would allocate the width before any check."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        for _, _, spec, _ in string.Formatter().parse(value.__self__):
            if spec and any(int(n) > MAX_ITEMS for n in re.findall(r"\d+", spec)):
                raise TemplateTooBig("a format width in the template is too large")
        return wrapped


_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


def _percent(template: str, args: Any) -> str:
    """``'%5s' % x`` with no huge width or precision (``'%100000000s'`` would allocate it)."""
    for width in _WIDTH.findall(template):
        for part in width:
            if part == "*" or (part and int(part) > MAX_ITEMS):
                raise TemplateTooBig("a format width in the template is too large")
    return _sized(operator.mod(template, args))


def _range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise TemplateTooBig(f"range() in a template gives at most {MAX_RANGE} numbers")
    return found


def _no_huge_width(name: str, filter_: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        for number in (*args, *kwargs.values()):
            if isinstance(number, int) and number > MAX_ITEMS:
                raise TemplateTooBig(f"the {name} filter's width in the template is too large")
        return _sized(filter_(value, *args, **kwargs))
    return bounded


_env = _BoundedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
_env.globals["range"] = _range
_env.globals.pop("namespace", None)  # no value that grows across loop turns
for _name in ("center", "indent", "wordwrap", "truncate", "format"):
    _env.filters[_name] = _no_huge_width(_name, _env.filters[_name])
_s2t = opencc.OpenCC("s2t")


class _Steps:
    """Counts the template's own lines as they run (sys.settrace, this thread only)."""

    def __init__(self) -> None:
        self.left = MAX_STEPS

    def call(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self.line if frame.f_code.co_filename == "<template>" else None

    def line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.left -= 1
            if self.left < 0:
                raise TemplateTooBig(f"the template runs too long (over {MAX_STEPS} steps)")
        return self.line


def _bounded_render(template: str, context: Mapping[str, Any]) -> str:
    steps, previous = _Steps(), sys.gettrace()
    sys.settrace(steps.call)
    try:
        chunks, size = [], 0
        for chunk in _compiled(template).generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateTooBig(f"the template's text is too long (over {MAX_OUTPUT} "
                                     "characters)")
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        sys.settrace(previous)


def undeclared(template: str) -> set[str]:
    """Variables a template uses; raises TemplateProblem on a syntax error."""
    try:
        ast = _env.parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax (line {exc.lineno}): {exc.message}") from None
    return set(meta.find_undeclared_variables(ast))


def internal_names(template: str) -> set[str]:
    """Attributes and keys starting with ``_`` that a template reaches for.

    The sandbox refuses them at render time, when a shopper would get the error text;
    finding them in the syntax tree makes them a clear problem before publishing.
    """
    try:
        tree = _env.parse(template)
    except TemplateSyntaxError:
        return set()  # ``undeclared`` reports syntax errors
    found = {attr.attr for attr in tree.find_all(nodes.Getattr) if attr.attr.startswith("_")}
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and str(item.arg.value).startswith("_"):
            found.add(str(item.arg.value))
    return found


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
        text = _bounded_render(template, context).strip()
    else:  # no tag, no expression: Jinja would return it as is, after setting up a context
        text = template.strip()
    return to_traditional(text) if traditional else text
