"""One way to open Redis for every kefu store, with the limits a bot needs.

Short timeouts (a Redis that went away must fail fast, not hang a shopper's turn) and a
*blocking* pool: with hundreds of simultaneous shoppers a turn waits a moment for a free
connection instead of failing with "Too many connections".
"""

from __future__ import annotations

from redis import asyncio as aioredis

MAX_CONNECTIONS = 64
POOL_WAIT = 10.0


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT, socket_connect_timeout=2,
        socket_timeout=5, health_check_interval=30)
    return aioredis.Redis(connection_pool=pool)
