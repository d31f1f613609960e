"""Reading the editor's forms: size limits, blank lines, and errors named by field.

Errors are codes, not sentences; the templates word them (UI texts live in the HTML). A
form with errors is shown again with what the manager typed, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Longest entry (characters) and most entries per field.
MAX_CHARS = {"title": 20, "description": 500, "examples": 200, "keywords": 40,
             "replies": 500, "quick_replies": 40, "prompts": 500, "system": 2000,
             "note": 200, "sentence": 500, "question": 60, "phrasings": 200, "answers": 500}
MAX_ITEMS = {"examples": 2000, "keywords": 200, "replies": 50, "quick_replies": 6,
             "prompts": 20, "system": 20, "phrasings": 200, "answers": 20}
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
#: A raw YAML file edited as text.
MAX_FILE_CHARS = 200_000
#: The biggest request body the web app accepts: the editor's largest intent form (2,000
#: examples of 200 characters, each character percent-encoded as 9 bytes: 3.6 MB) fits.
MAX_BODY = 4 * 1024 * 1024
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class FieldError:
    """``code`` is one of required, too_long, too_many, bad_name, exists."""

    field: str
    code: str
    limit: int = 0
    item: int = 0  # 1-based entry number, 0 for the field as a whole


@dataclass
class IntentForm:
    title: str = ""
    description: str = ""
    examples: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)
    prompts: dict[str, list[str]] = field(default_factory=dict)

    def top_fields(self) -> dict[str, str | list[str]]:
        return {"title": self.title, "description": self.description,
                "examples": self.examples, "keywords": self.keywords,
                "replies": self.replies, "quick_replies": self.quick_replies}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> IntentForm:
        """The form's values from a parsed intent file (tolerating wrong types)."""
        def texts(value: Any) -> list[str]:
            if isinstance(value, str):
                return [value]
            return [str(v) for v in value] if isinstance(value, list) else []

        prompts = data.get("prompts")
        return cls(title=str(data.get("title") or ""),
                   description=str(data.get("description") or ""),
                   examples=texts(data.get("examples")), keywords=texts(data.get("keywords")),
                   replies=texts(data.get("replies")),
                   quick_replies=texts(data.get("quick_replies")),
                   prompts={str(k): texts(v) for k, v in prompts.items()}
                   if isinstance(prompts, dict) else {})


def clean(text: str) -> str:
    """Browser newlines to ``\\n`` and no surrounding blanks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def lines(text: str) -> list[str]:
    """One entry per non-blank line."""
    return [line.strip() for line in clean(text).split("\n") if line.strip()]


def variants(values: list[str]) -> list[str]:
    """Repeated text areas (one entry each, may span lines); blank ones are dropped."""
    return [v for v in (clean(x) for x in values) if v]


def check_list(name: str, items: list[str], errors: list[FieldError],
               limit_key: str | None = None) -> None:
    key = limit_key or name
    if len(items) > MAX_ITEMS[key]:
        errors.append(FieldError(name, "too_many", MAX_ITEMS[key]))
    for i, item in enumerate(items, start=1):
        if len(item) > MAX_CHARS[key]:
            errors.append(FieldError(name, "too_long", MAX_CHARS[key], i))


def check_text(name: str, value: str, errors: list[FieldError], required: bool = False) -> None:
    if required and not value:
        errors.append(FieldError(name, "required"))
    if len(value) > MAX_CHARS[name]:
        errors.append(FieldError(name, "too_long", MAX_CHARS[name]))


def _getall(post: Mapping[str, Any], name: str) -> list[str]:
    getall = getattr(post, "getall", None)
    values = getall(name, []) if getall else ([post[name]] if name in post else [])
    return [str(v) for v in values]


def prompt_keys(post: Mapping[str, Any], prefix: str) -> list[str]:
    """Keys of repeated fields named ``prefix.key`` (unknown shapes are ignored)."""
    keys = []
    for name in post:
        if name.startswith(prefix) and KEY.match(name[len(prefix):]):
            key = name[len(prefix):]
            if key not in keys:
                keys.append(key)
    return keys


def parse_intent(post: Mapping[str, Any]) -> tuple[IntentForm, list[FieldError]]:
    form = IntentForm(
        title=clean(str(post.get("title", ""))),
        description=clean(str(post.get("description", ""))),
        examples=lines(str(post.get("examples", ""))),
        keywords=lines(str(post.get("keywords", ""))),
        replies=variants(_getall(post, "reply")),
        quick_replies=lines(str(post.get("quick_replies", ""))),
        prompts={k: variants(_getall(post, f"prompt.{k}")) for k in prompt_keys(post, "prompt.")},
    )
    errors: list[FieldError] = []
    check_text("title", form.title, errors, required=True)
    check_text("description", form.description, errors)
    for name in ("examples", "keywords", "replies", "quick_replies"):
        check_list(name, getattr(form, name), errors)
    for key, items in form.prompts.items():
        check_list(f"prompts.{key}", items, errors, "prompts")
    return form, errors


def parse_system(post: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[FieldError]]:
    texts = {k: variants(_getall(post, f"sys.{k}")) for k in prompt_keys(post, "sys.")}
    errors: list[FieldError] = []
    for key, items in texts.items():
        check_list(key, items, errors, "system")
        if not items:
            errors.append(FieldError(key, "required"))
    return texts, errors


def parse_new_intent(post: Mapping[str, Any], existing: set[str]) -> tuple[str, str,
                                                                         list[FieldError]]:
    name = clean(str(post.get("name", "")))
    title = clean(str(post.get("title", "")))
    errors: list[FieldError] = []
    if not INTENT_NAME.match(name):
        errors.append(FieldError("name", "bad_name"))
    elif name in existing:
        errors.append(FieldError("name", "exists"))
    check_text("title", title, errors, required=True)
    return name, title, errors


@dataclass
class TopicForm:
    """One topic (问题) as the intent page edits it."""

    question: str = ""
    phrasings: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, str | list[str]]:
        return {"question": self.question, "phrasings": self.phrasings,
                "answers": self.answers, "quick_replies": self.quick_replies}


def parse_topic(post: Mapping[str, Any], prefix: str) -> tuple[TopicForm, list[FieldError]]:
    """A topic's fields; errors are named ``{prefix}question`` and so on."""
    form = TopicForm(question=clean(str(post.get("question", ""))),
                     phrasings=lines(str(post.get("phrasings", ""))),
                     answers=variants(_getall(post, "answer")),
                     quick_replies=lines(str(post.get("quick_replies", ""))))
    errors: list[FieldError] = []
    if len(form.question) < 2:
        errors.append(FieldError(prefix + "question", "required"))
    if len(form.question) > MAX_CHARS["question"]:
        errors.append(FieldError(prefix + "question", "too_long", MAX_CHARS["question"]))
    for name in ("phrasings", "answers"):
        if not getattr(form, name):
            errors.append(FieldError(prefix + name, "required"))
    found: list[FieldError] = []
    for name in ("phrasings", "answers", "quick_replies"):
        check_list(name, getattr(form, name), found)
    errors += [FieldError(prefix + e.field, e.code, e.limit, e.item) for e in found]
    return form, errors


def parse_new_topic(post: Mapping[str, Any], existing: set[str]
                    ) -> tuple[str, TopicForm, list[FieldError]]:
    """A new topic: its id, question, first phrasing and answer."""
    topic_id = clean(str(post.get("id", "")))
    form, errors = parse_topic(post, "new.")
    if not TOPIC_ID.match(topic_id):
        errors.insert(0, FieldError("new.id", "bad_topic_id"))
    elif topic_id in existing:
        errors.insert(0, FieldError("new.id", "topic_exists"))
    return topic_id, form, errors
