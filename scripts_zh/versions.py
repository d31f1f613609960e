"""Published versions of the script library, and each manager's unpublished draft.

A version is the library as texts ({relative path: YAML text}, what ``read_texts`` returns),
so comments survive byte for byte and ``scripts export/import`` round-trip exactly. Numbers
grow by one per publish; history is linear (a rollback publishes the old texts again).
Version 0 means "nothing published yet": the bot runs the YAML shipped in the library folder.

``publish(..., base=N)`` is compare-and-set: it is refused with :class:`StaleDraft` when
somebody published after N, so two managers never silently overwrite each other.

Two backends behind one contract: files in the data folder (embedded default, survives
restarts) and Redis (production; every bot process hears about a publish via pub/sub).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError, WatchError

log = logging.getLogger(__name__)

Texts = dict[str, str]


def texts_digest(texts: Mapping[str, str]) -> str:
    """The same 12-hex digest the loader gives a Library built from these texts."""
    joined = "\0".join(f"{k}\0{v}" for k, v in sorted(texts.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class VersionInfo:
    """Who published what and when (everything but the texts, for lists)."""

    number: int
    author: str
    created_at: float
    note: str
    digest: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Version(VersionInfo):
    """One published library."""

    texts: Texts = field(default_factory=dict)

    @property
    def info(self) -> VersionInfo:
        return VersionInfo(self.number, self.author, self.created_at, self.note, self.digest)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Version:
        return cls(int(data["number"]), str(data["author"]), float(data["created_at"]),
                   str(data["note"]), str(data["digest"]), dict(data.get("texts") or {}))


@dataclass(frozen=True)
class Draft:
    """A manager's unpublished edits: the texts, and the version they started from."""

    user: str
    base: int
    texts: Texts
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Draft:
        data = json.loads(raw)
        return cls(str(data["user"]), int(data["base"]), dict(data["texts"]),
                   float(data.get("updated_at", 0.0)))


class VersionError(RuntimeError):
    """The version store cannot be read or written (disk, Redis)."""


class StaleDraft(Exception):
    """Somebody published after the version a draft started from; nothing was written."""

    def __init__(self, base: int, since: list[VersionInfo]) -> None:
        self.base = base
        self.since = since
        latest = since[-1] if since else None
        if latest is None:
            text = f"version {base} does not exist"
        else:
            who = ", ".join(f"v{v.number} by {v.author}" + (f" ({v.note})" if v.note else "")
                            for v in since)
            text = (f"your draft started from version {base}, but {who} was published since; "
                    f"nothing was overwritten: review version {latest.number} and publish again")
        super().__init__(text)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


class VersionStore(ABC):
    """Published versions plus per-manager drafts, in one backend."""

    @abstractmethod
    async def current_number(self) -> int:
        """The live version's number; 0 when nothing was published."""

    @abstractmethod
    async def get(self, number: int) -> Version | None: ...

    @abstractmethod
    async def list(self) -> list[VersionInfo]:
        """Every version, newest first."""

    @abstractmethod
    async def _commit(self, texts: Texts, author: str, note: str,
                      base: int | None) -> Version: ...

    @abstractmethod
    async def get_draft(self, user: str) -> Draft | None: ...

    @abstractmethod
    async def save_draft(self, draft: Draft) -> None: ...

    @abstractmethod
    async def delete_draft(self, user: str) -> None: ...

    @abstractmethod
    def watch(self) -> AsyncIterator[int]:
        """Yield the current number at once, then each newly published number."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release for files
        """Release connections (nothing for files)."""

    async def current(self) -> Version | None:
        number = await self.current_number()
        return await self.get(number) if number else None

    async def publish(self, texts: Mapping[str, str], author: str, note: str = "",
                      base: int | None = None) -> Version:
        """Store ``texts`` as the next version; refuse (StaleDraft) unless ``base`` is current.

        ``base=None`` publishes over whatever is current (``kefu scripts import``).
        """
        if not texts:
            raise ValueError("a library needs at least one file")
        return await self._commit(dict(texts), author, note[:200], base)

    async def since(self, base: int) -> builtins.list[VersionInfo]:
        """Versions published after ``base``, oldest first."""
        return sorted((v for v in await self.list() if v.number > base), key=lambda v: v.number)


# --------------------------------------------------------------------------- files


class FileVersionStore(VersionStore):
    """``v000001.json`` per version plus ``current.json``, all written atomically.

    An exclusive lock file serialises publishes from several processes (the server and a
    ``kefu scripts import`` run at the same time); ``watch`` polls the pointer.
    """

    def __init__(self, root: Path, poll: float = 0.2) -> None:
        self.root = Path(root)
        self.poll = poll

    def _version_path(self, number: int) -> Path:
        return self.root / f"v{number:06d}.json"

    def _draft_path(self, user: str) -> Path:
        return self.root / "drafts" / f"{user.encode().hex()}.json"

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise VersionError(f"{path}: unreadable: {exc}") from exc

    def _number(self) -> int:
        data = self._read_json(self.root / "current.json")
        return int(data["number"]) if data else 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _commit_blocking(self, texts: Texts, author: str, note: str,
                         base: int | None) -> Version | int:
        with self._locked():
            number = self._number()
            if base is not None and base != number:
                return number
            version = Version(number + 1, author, time.time(), note, texts_digest(texts), texts)
            self._write(self._version_path(version.number), _dumps(asdict(version)))
            index = [v.to_json() for v in self._index(number)]
            self._write(self.root / "index.json", _dumps([version.info.to_json(), *index]))
            self._write(self.root / "current.json", _dumps({"number": version.number}))
            return version

    def _index(self, number: int) -> list[VersionInfo]:
        """The small list of infos, rebuilt from the version files if it is missing or behind."""
        try:
            data = self._read_json(self.root / "index.json") or []
            infos = [VersionInfo(**item) for item in data]
        except (VersionError, TypeError):
            infos = []
        if (infos[0].number if infos else 0) == number:
            return infos
        rebuilt = []
        for n in range(number, 0, -1):
            version = self._get_blocking(n)
            if version is not None:
                rebuilt.append(version.info)
        return rebuilt

    def _get_blocking(self, number: int) -> Version | None:
        data = self._read_json(self._version_path(number))
        return Version.from_json(data) if data else None

    def _list_blocking(self) -> list[VersionInfo]:
        number = self._number()
        return [v for v in self._index(number) if v.number <= number]

    async def current_number(self) -> int:
        return await asyncio.to_thread(self._number)

    async def get(self, number: int) -> Version | None:
        if number <= 0:
            return None
        return await asyncio.to_thread(self._get_blocking, number)

    async def list(self) -> list[VersionInfo]:
        return await asyncio.to_thread(self._list_blocking)

    async def _commit(self, texts: Texts, author: str, note: str,
                      base: int | None) -> Version:
        try:
            result = await asyncio.to_thread(self._commit_blocking, texts, author, note, base)
        except OSError as exc:
            raise VersionError(f"cannot write {self.root}: {exc}") from exc
        if isinstance(result, Version):
            return result
        raise StaleDraft(base or 0, await self.since(base or 0))

    async def get_draft(self, user: str) -> Draft | None:
        path = self._draft_path(user)
        try:
            raw = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VersionError(f"{path}: unreadable: {exc}") from exc
        return Draft.from_json(raw)

    async def save_draft(self, draft: Draft) -> None:
        await asyncio.to_thread(self._write, self._draft_path(draft.user), draft.to_json())

    async def delete_draft(self, user: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._draft_path(user).unlink)

    async def watch(self) -> AsyncIterator[int]:
        last = -1
        while True:
            try:
                number = await self.current_number()
            except VersionError as exc:
                log.warning("version pointer unreadable: %s", exc)
                number = last
            if number != last:
                last = number
                yield number
            await asyncio.sleep(self.poll)


# --------------------------------------------------------------------------- Redis


class RedisVersionStore(VersionStore):
    """Keys under ``{prefix}:library:``; a publish is WATCH/MULTI plus PUBLISH on a channel.

    ``current`` (int), ``v:{n}`` (JSON with texts), ``meta`` (hash n → JSON without texts),
    ``draft:{user}`` (JSON) and the channel ``{prefix}:library:published``.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu") -> None:
        self.redis = redis
        self.base_key = f"{prefix}:library"
        self.channel = f"{self.base_key}:published"

    def _key(self, part: str) -> str:
        return f"{self.base_key}:{part}"

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError) as exc:
            raise VersionError(f"Redis unavailable: {exc}") from exc

    async def current_number(self) -> int:
        raw = await self._call(self.redis.get(self._key("current")))
        return int(raw or 0)

    async def get(self, number: int) -> Version | None:
        if number <= 0:
            return None
        raw = await self._call(self.redis.get(self._key(f"v:{number}")))
        return Version.from_json(json.loads(raw)) if raw else None

    async def list(self) -> list[VersionInfo]:
        raw = await self._call(self.redis.hvals(self._key("meta")))
        infos = [VersionInfo(**json.loads(r)) for r in raw]
        return sorted(infos, key=lambda v: v.number, reverse=True)

    async def _commit(self, texts: Texts, author: str, note: str,
                      base: int | None) -> Version:
        current = self._key("current")
        for _ in range(50):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(current)
                    number = int(await pipe.get(current) or 0)
                    if base is not None and base != number:
                        await pipe.unwatch()
                        raise StaleDraft(base, await self.since(base))
                    version = Version(number + 1, author, time.time(), note,
                                      texts_digest(texts), texts)
                    pipe.multi()
                    pipe.set(self._key(f"v:{version.number}"), _dumps(asdict(version)))
                    pipe.hset(self._key("meta"), str(version.number),
                              _dumps(version.info.to_json()))
                    pipe.set(current, version.number)
                    pipe.publish(self.channel, str(version.number))
                    await pipe.execute()
                    return version
            except WatchError:
                continue
            except (RedisError, OSError) as exc:
                raise VersionError(f"Redis unavailable: {exc}") from exc
        raise VersionError("too many concurrent publishes; try again")

    async def get_draft(self, user: str) -> Draft | None:
        raw = await self._call(self.redis.get(self._key(f"draft:{user}")))
        return Draft.from_json(raw) if raw else None

    async def save_draft(self, draft: Draft) -> None:
        await self._call(self.redis.set(self._key(f"draft:{draft.user}"), draft.to_json()))

    async def delete_draft(self, user: str) -> None:
        await self._call(self.redis.delete(self._key(f"draft:{user}")))

    async def watch(self) -> AsyncIterator[int]:
        """Subscribe, then yield the current number (nothing missed), then each publish.

        When Redis goes away it retries with backoff and yields the current number again
        after reconnecting, so a publish made during the outage is still picked up.
        """
        delay = 0.2
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                yield await self.current_number()
                delay = 0.2
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg and msg.get("type") == "message":
                        yield int(msg["data"])
            except (RedisError, OSError, VersionError) as exc:
                log.warning("library channel lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def close(self) -> None:
        """Nothing: the client is the process's (``config.backend``), closed once by it."""
