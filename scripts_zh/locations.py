"""Where a key path of a YAML text stands (its line), for problems a person can find."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_index(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path (("examples", 3), ("replies",)) to its 1-based line in ``text``."""
    index: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return index

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                index[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
                index[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return index


class LazyLines:
    """A line index built only when a problem needs a line: a clean library never pays."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._index: dict[tuple[Any, ...], int] | None = None

    def get(self, key: tuple[Any, ...]) -> int | None:
        if self._index is None:
            self._index = line_index(self.text)
        return self._index.get(key)


def locate(index: Mapping[tuple[Any, ...], int] | LazyLines, path: tuple[Any, ...]) -> int:
    """The line of the deepest known prefix of ``path`` (1 if nothing matches)."""
    for cut in range(len(path), -1, -1):
        line = index.get(tuple(path[:cut]))
        if line is not None:
            return line
    return 1
