"""Accounts with hashed passwords (argon2), in a file (embedded default) or in Redis.

``kefu users add`` runs in another process than ``kefu serve``, so even the embedded
default persists: a JSON file in the data folder, written atomically.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from config import Settings
from config.backend import Backend

Role = Literal["agent", "manager"]
ROLES: tuple[Role, ...] = ("agent", "manager")
NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()


class UserError(ValueError):
    """A bad name, role or password, or an unknown user."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    display_name: str = ""
    #: The Telegram user who acts as this account in the agents' group (None: not linked).
    telegram_id: int | None = None

    def can(self, role: Role) -> bool:
        """Managers can do everything agents can."""
        return self.role == "manager" or self.role == role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal names."""
    target = user.password_hash if user else _DUMMY_HASH
    try:
        ok = bool(_hasher.verify(target, password))
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and user is not None


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def new_user(name: str, role: str, password: str, display_name: str = "",
             telegram_id: int | None = None) -> User:
    if not NAME.match(name):
        raise UserError("name: 2-32 letters, digits, '_', '.', '-' or Chinese characters")
    checked: Role
    if role == "agent":
        checked = "agent"
    elif role == "manager":
        checked = "manager"
    else:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if telegram_id is not None and (isinstance(telegram_id, bool) or telegram_id <= 0):
        raise UserError("telegram id: a Telegram user id, a positive number")
    return User(name, checked, hash_password(password), display_name or name, telegram_id)


class UserStore(ABC):
    @abstractmethod
    async def get(self, name: str) -> User | None: ...

    @abstractmethod
    async def put(self, user: User) -> None: ...

    @abstractmethod
    async def delete(self, name: str) -> bool: ...

    @abstractmethod
    async def all(self) -> list[User]: ...


class FileUserStore(UserStore):
    """users.json in the data folder. Every staff request checks the account, so the parsed
    file is kept and read again only when it changed (a new inode, size or mtime: every
    write, this process's or ``kefu users`` in a shell, replaces the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._cache: tuple[tuple[int, int, int], dict[str, User]] | None = None

    def _read(self) -> dict[str, User]:
        try:
            stat = self.path.stat()
            key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._cache is not None and self._cache[0] == key:
                return dict(self._cache[1])
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            users = {name: User(**data) for name, data in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise UserError(f"{self.path}: unreadable user file: {exc}") from exc
        self._cache = (key, users)
        return dict(users)

    def _write(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({n: asdict(u) for n, u in users.items()}, handle, ensure_ascii=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    async def get(self, name: str) -> User | None:
        return self._read().get(name)

    async def put(self, user: User) -> None:
        async with self._lock:
            users = self._read()
            users[user.name] = user
            self._write(users)

    async def delete(self, name: str) -> bool:
        async with self._lock:
            users = self._read()
            gone = users.pop(name, None) is not None
            self._write(users)
            return gone

    async def all(self) -> list[User]:
        return sorted(self._read().values(), key=lambda u: u.name)


class RedisUserStore(UserStore):
    """One hash ``{prefix}:users``: every bot process sees the same accounts."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu") -> None:
        self.redis = redis
        self.prefix = prefix
        self.key = f"{prefix}:users"

    async def get(self, name: str) -> User | None:
        try:
            raw = await self.redis.hget(self.key, name)
        except (RedisError, OSError) as exc:
            raise UserError(f"user store unavailable: {exc}") from exc
        return User(**json.loads(raw)) if raw else None

    async def put(self, user: User) -> None:
        await self.redis.hset(self.key, user.name, json.dumps(asdict(user), ensure_ascii=False))

    async def delete(self, name: str) -> bool:
        return bool(await self.redis.hdel(self.key, name))

    async def all(self) -> list[User]:
        raws = await self.redis.hvals(self.key)
        return sorted((User(**json.loads(r)) for r in raws), key=lambda u: u.name)


def make_user_store(settings: Settings, backend: Backend) -> UserStore:
    """On the backend's Redis (every process sees the same accounts), else the data folder."""
    if backend.redis is not None:
        return RedisUserStore(backend.redis, prefix=backend.prefix)
    return FileUserStore(settings.data_dir / "users.json")
