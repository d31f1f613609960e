"""Change fields of a library YAML text without losing its comments, order or quoting.

ruamel.yaml's round-trip mode keeps comments attached to keys and list items; lists are
edited in place (a diff of old against new items), so a comment stays next to the item it
was written for. A text whose values do not change is returned byte for byte.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    ScalarString,
    SingleQuotedScalarString,
)

#: Where a missing key goes in a new or sparse intent file (the shipped files' order).
INTENT_ORDER = ("name", "title", "description", "action", "skill", "examples", "keywords",
                "replies", "quick_replies", "prompts", "topics")


class EditError(ValueError):
    """The text is not YAML the form can edit (it was broken in the raw editor)."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text: str) -> CommentedMap:
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        raise EditError(f"not valid YAML: {exc}") from exc
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise EditError("the file must be a mapping of keys to values")
    return data


def dump(data: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _styled(value: str, like: Any) -> str:
    """``value`` in the quoting style of ``like`` (double quotes when there is no example)."""
    if "\n" in value:
        return LiteralScalarString(value) if isinstance(like, LiteralScalarString) else \
            DoubleQuotedScalarString(value)
    if isinstance(like, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    if isinstance(like, ScalarString) or like is None:
        return DoubleQuotedScalarString(value)
    return value


def _edit_seq(seq: CommentedSeq, new: Sequence[str]) -> bool:
    """Make ``seq`` equal ``new`` with minimal inserts and deletes; True if it changed.

    Entries compare without surrounding blanks (the loader strips them too), so a block
    scalar's final newline is not a change.
    """
    old = [str(v).strip() for v in seq]
    if old == list(new):
        return False
    like = seq[0] if len(seq) else None
    matcher = difflib.SequenceMatcher(a=old, b=list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        for i in range(i2 - 1, i1 - 1, -1):
            del seq[i]
        for offset, value in enumerate(new[j1:j2]):
            seq.insert(i1 + offset, _styled(value, like))
    if len(seq):
        seq.fa.set_block_style()
    return True


def _new_seq(values: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq([_styled(v, None) for v in values])
    seq.fa.set_block_style()
    return seq


def _insert_key(data: CommentedMap, key: str, value: Any, order: Sequence[str]) -> None:
    """Add ``key`` before the first existing key that comes after it in ``order``."""
    later = order[order.index(key) + 1:] if key in order else ()
    for position, existing in enumerate(data):
        if existing in later:
            data.insert(position, key, value)
            return
    data[key] = value


def _set(data: CommentedMap, key: str, value: str | Sequence[str],
         order: Sequence[str] = INTENT_ORDER) -> bool:
    """Set one key (text or list of texts); True if the file changed."""
    old = data.get(key)
    if isinstance(value, str):
        if old is not None and str(old).strip() == value.strip():
            return False
        if old is None and not value:
            return False
        styled = _styled(value, old)
        if key in data:
            data[key] = styled
        else:
            _insert_key(data, key, styled, order)
        return True
    values = list(value)
    if isinstance(old, CommentedSeq):
        return _edit_seq(old, values)
    if old is None and not values:
        return False
    if isinstance(old, str) and len(values) == 1:
        return _set(data, key, values[0], order)
    if key in data:
        data[key] = _new_seq(values)
    else:
        _insert_key(data, key, _new_seq(values), order)
    return True


def set_fields(text: str, fields: Mapping[str, str | Sequence[str]],
               order: Sequence[str] = INTENT_ORDER) -> str:
    """``text`` with top-level ``fields`` replaced; unchanged fields keep every byte."""
    data = load(text)
    changed = False
    for key, value in fields.items():
        changed = _set(data, key, value, order) or changed
    return dump(data) if changed else text


def set_nested(text: str, parent: str, fields: Mapping[str, Sequence[str]]) -> str:
    """Replace lists under a mapping key (an intent's ``prompts``)."""
    data = load(text)
    inner = data.get(parent)
    if not isinstance(inner, CommentedMap):
        if not any(fields.values()):
            return text
        inner = CommentedMap()
        _insert_key(data, parent, inner, INTENT_ORDER)
    changed = False
    for key, value in fields.items():
        changed = _set(inner, key, value, list(inner)) or changed
    return dump(data) if changed else text


def new_intent(name: str, title: str) -> str:
    """A fresh intent file; the validator will ask for examples and replies."""
    data = CommentedMap()
    data["name"] = name
    data["title"] = DoubleQuotedScalarString(title)
    data["description"] = DoubleQuotedScalarString("")
    data["examples"] = _new_seq([])
    data["keywords"] = _new_seq([])
    data["replies"] = _new_seq([])
    return dump(data)


#: Where a missing key goes in a topic (the shipped files' order).
TOPIC_ORDER = ("id", "question", "phrasings", "answers", "quick_replies", "valid_from",
               "valid_until", "notify_agent", "lookup")


def _topics(data: CommentedMap) -> CommentedSeq:
    topics = data.get("topics")
    if topics is None:
        topics = _new_seq([])
        _insert_key(data, "topics", topics, INTENT_ORDER)
    if not isinstance(topics, CommentedSeq):
        raise EditError("topics must be a list")
    return topics


def _topic(data: CommentedMap, topic_id: str) -> CommentedMap:
    for item in _topics(data):
        if isinstance(item, CommentedMap) and str(item.get("id")) == topic_id:
            return item
    raise KeyError(topic_id)


def topic_ids(text: str) -> list[str]:
    """The ids of the topics in an intent file, in order."""
    topics = load(text).get("topics")
    if not isinstance(topics, CommentedSeq):
        return []
    return [str(t.get("id")) for t in topics if isinstance(t, CommentedMap)]


def set_topic(text: str, topic_id: str, fields: Mapping[str, str | Sequence[str]]) -> str:
    """Replace fields of one topic (KeyError if the file has no such topic)."""
    data = load(text)
    topic = _topic(data, topic_id)
    changed = False
    for key, value in fields.items():
        changed = _set(topic, key, value, TOPIC_ORDER) or changed
    return dump(data) if changed else text


def add_phrasing(text: str, topic_id: str, phrasing: str) -> str:
    """Append one 相似问法 to a topic; unchanged if it is there already."""
    data = load(text)
    topic = _topic(data, topic_id)
    old = topic.get("phrasings")
    values = [str(v).strip() for v in old] if isinstance(old, list) else []
    if phrasing in values:
        return text
    _set(topic, "phrasings", [*values, phrasing], TOPIC_ORDER)
    return dump(data)


def remove_phrasing(text: str, topic_id: str, phrasing: str) -> str:
    """Remove one 相似问法 from a topic (unchanged if it is not there)."""
    data = load(text)
    topic = _topic(data, topic_id)
    old = topic.get("phrasings")
    if not isinstance(old, CommentedSeq):
        return text
    return dump(data) if _edit_seq(old, [str(v).strip() for v in old
                                         if str(v).strip() != phrasing]) else text


def add_topic(text: str, topic_id: str, question: str, phrasings: Sequence[str],
              answers: Sequence[str]) -> str:
    """A new topic at the end of the intent's topics."""
    data = load(text)
    topics = _topics(data)
    topic = CommentedMap()
    topic["id"] = topic_id
    topic["question"] = DoubleQuotedScalarString(question)
    topic["phrasings"] = _new_seq(list(phrasings))
    topic["answers"] = _new_seq(list(answers))
    topics.append(topic)
    topics.fa.set_block_style()
    return dump(data)
