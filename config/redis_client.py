"""One way to open Redis for a kefu process, with the limits a bot needs.

Called once per process, by :func:`config.backend.open_backend`: every store shares the
client it returns. Short timeouts (a Redis that went away must fail fast, not hang a
shopper's turn) and a *blocking* pool: with hundreds of simultaneous shoppers a turn waits a
moment for a free connection instead of failing with "Too many connections".
"""

from __future__ import annotations

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

MAX_CONNECTIONS = 64
POOL_WAIT = 10.0
#: What a store turns into "unavailable" (a polite reply), not a traceback.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT, socket_connect_timeout=2,
        socket_timeout=5, health_check_interval=30)
    return aioredis.Redis(connection_pool=pool)
