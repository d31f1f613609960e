"""Compiled libraries kept next to the versions, so other processes switch without work.

Training the default library takes a second or more and parsing its YAML a few hundred
milliseconds; reading a compiled blob back takes a few milliseconds. That is what lets every
bot process switch to a published version well within a second. A blob holds the validated
library as JSON (re-validated by the pydantic models on load) and the classifier as plain
numpy arrays (``allow_pickle=False``): never pickle, so a blob in Redis cannot run code.
Each blob carries probe predictions: if this process's classifier code computes different
features (an upgrade between publisher and reader), the blob is refused and the reader
parses and trains instead.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from intents.classifier import IntentClassifier
from scripts_zh.models import Intent, Library
from scripts_zh.size_charts import SizeChart

log = logging.getLogger(__name__)

#: 2: the classifier's idf and weights end with the zero row for unknown features.
#: 3: one table of idf·weights and idf² (with that zero row) replaces idf and weights,
#:    and one keyword scan (regex + features per keyword) the per-intent patterns.
#: 4: the topic classifier beside the intent classifier.
FORMAT = 4
#: Old versions stay rollback-able for this long before a rollback trains again.
REDIS_TTL = 90 * 24 * 3600
KEEP_FILES = 30


def _probabilities(classifier: IntentClassifier, texts: Sequence[str]) -> np.ndarray:
    rows = []
    for text in texts:
        ranking = {s.intent: s.confidence for s in classifier.predict(text).ranking}
        rows.append([ranking.get(label, 0.0) for label in classifier.labels])
    return np.asarray(rows, dtype=np.float64)


def probes(library: Library) -> list[str]:
    """Sentences whose predictions check a stored classifier against this process's code."""
    return [i.examples[0] for i in library.intents.values() if i.examples][:20]


def _library_json(library: Library) -> str:
    return json.dumps({
        "intents": {n: i.model_dump() for n, i in library.intents.items()},
        "system": library.system,
        "size_charts": {n: c.model_dump(mode="json") for n, c in library.size_charts.items()},
        "digest": library.digest, "source": library.source}, ensure_ascii=False)


def _library(raw: str) -> Library:
    data = json.loads(raw)
    return Library(
        intents={n: Intent.model_validate(d) for n, d in data["intents"].items()},
        system={str(k): [str(v) for v in vs] for k, vs in data["system"].items()},
        size_charts={n: SizeChart.model_validate(d) for n, d in data["size_charts"].items()},
        source=str(data["source"]), digest=str(data["digest"]))


def _to_json(value: Any) -> Any:
    if isinstance(value, re.Pattern):
        return {"__re__": value.pattern, "flags": int(value.flags)}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _from_json(data: dict[str, Any]) -> Any:
    if "__re__" in data:
        return re.compile(data["__re__"], data["flags"])
    return data


def _attributes(classifier: IntentClassifier, prefix: str
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A classifier's attributes: numpy arrays (named ``prefix`` + attribute) and the rest."""
    fields = vars(classifier)
    arrays = {f"{prefix}{k}": v for k, v in fields.items() if isinstance(v, np.ndarray)}
    return arrays, {k: v for k, v in fields.items() if not isinstance(v, np.ndarray)}


def _restore(others: dict[str, Any], arrays: Any, prefix: str) -> IntentClassifier:
    classifier = object.__new__(IntentClassifier)
    vars(classifier).update(others)
    vars(classifier).update({name[len(prefix):]: arrays[name] for name in arrays.files
                             if name.startswith(prefix)})
    return classifier


def encode(library: Library, classifier: IntentClassifier,
           topics: IntentClassifier | None = None) -> bytes:
    """The library, its intent classifier and its topic classifier.

    A classifier has no export of its own, so its attributes are stored one by one (numpy
    arrays as arrays, everything else as JSON) and put back without calling its constructor;
    an attribute of a kind this cannot store raises TypeError (the caller then simply does
    not keep a blob, and other processes train).
    """
    arrays, others = _attributes(classifier, "attr_")
    checks = probes(library)
    meta: dict[str, Any] = {"format": FORMAT, "attributes": others, "probes": checks}
    extra: dict[str, Any] = {}
    if topics is not None:
        topic_arrays, topic_others = _attributes(topics, "topic_attr_")
        meta["topic_attributes"] = topic_others
        extra = {**topic_arrays, "topic_expected": _probabilities(topics, checks)}
    buffer = io.BytesIO()
    stored: dict[str, Any] = {
        "meta": np.array(json.dumps(meta, ensure_ascii=False, default=_to_json)),
        "library": np.array(_library_json(library)),
        "expected": _probabilities(classifier, checks), **arrays, **extra}
    np.savez_compressed(buffer, **stored)
    return buffer.getvalue()


Compiled = tuple[Library, IntentClassifier, IntentClassifier | None]


def decode(blob: bytes, digest: str) -> Compiled | None:
    """Library and classifiers back, or None when the blob is unreadable, is for other texts
    or does not match this code."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]), object_hook=_from_json)
            if meta.get("format") != FORMAT:
                return None
            library = _library(str(arrays["library"]))
            classifier = _restore(meta["attributes"], arrays, "attr_")
            topics = (_restore(meta["topic_attributes"], arrays, "topic_attr_")
                      if "topic_attributes" in meta else None)
            expected = arrays["expected"]
            topic_expected = arrays["topic_expected"] if topics is not None else None
        if not classifier.well_formed() or (topics is not None and not topics.well_formed()):
            return None
        pairs = [(_probabilities(classifier, meta["probes"]), expected)]
        if topics is not None and topic_expected is not None:
            pairs.append((_probabilities(topics, meta["probes"]), topic_expected))
    except Exception as exc:  # any damage means "parse and train instead", never a failed reload
        log.warning("stored library unreadable, building it instead: %s", exc)
        return None
    if library.digest != digest:
        log.warning("stored library is for %s, not %s; building it instead", library.digest,
                    digest)
        return None
    for got, wanted in pairs:
        if got.shape != wanted.shape or not np.allclose(got, wanted, rtol=0, atol=1e-9):
            log.info("stored classifier was made by other classifier code; training instead")
            return None
    return library, classifier, topics


class TrainedStore(ABC):
    """Blobs by library digest."""

    @abstractmethod
    async def get(self, digest: str) -> bytes | None: ...

    @abstractmethod
    async def put(self, digest: str, blob: bytes) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Nothing to release by default."""


class FileTrainedStore(TrainedStore):
    """``trained/<digest>.npz`` in the library data folder; the newest few are kept."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        if not digest.isalnum():
            raise ValueError(f"bad digest {digest!r}")
        return self.root / f"{digest}.npz"

    def _put(self, digest: str, blob: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, self._path(digest))
        old = sorted(self.root.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in old[KEEP_FILES:]:
            path.unlink(missing_ok=True)

    async def get(self, digest: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(digest).read_bytes)
        except OSError:
            return None

    async def put(self, digest: str, blob: bytes) -> None:
        try:
            await asyncio.to_thread(self._put, digest, blob)
        except OSError as exc:
            log.warning("could not keep the trained classifier: %s", exc)


class RedisTrainedStore(TrainedStore):
    """``{prefix}:library:trained:{digest}``, expiring after :data:`REDIS_TTL`."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu") -> None:
        self.redis = redis
        self.prefix = f"{prefix}:library:trained:"

    async def get(self, digest: str) -> bytes | None:
        try:
            raw = await self.redis.get(self.prefix + digest)
        except (RedisError, OSError) as exc:
            log.warning("trained classifier unavailable: %s", exc)
            return None
        if raw is None:
            return None
        return raw if isinstance(raw, bytes) else str(raw).encode()

    async def put(self, digest: str, blob: bytes) -> None:
        try:
            await self.redis.set(self.prefix + digest, blob, ex=REDIS_TTL)
        except (RedisError, OSError) as exc:
            log.warning("could not keep the trained classifier: %s", exc)
