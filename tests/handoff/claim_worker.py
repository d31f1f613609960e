"""A separate OS process racing claims for one ticket (used by test_redis_resilience).

Usage: python -m tests.handoff.claim_worker URL PREFIX TICKET_ID AGENT_PREFIX TRIES
It reports readiness on ``{PREFIX}:ready``, waits for a token on ``{PREFIX}:go`` so both
processes start together, then prints the JSON list of agents whose claim won.
"""

from __future__ import annotations

import asyncio
import json
import sys

from redis import asyncio as aioredis

from handoff import RedisHandoffStore


async def race(url: str, prefix: str, ticket_id: str, agent_prefix: str, tries: int) -> None:
    client = aioredis.Redis.from_url(url)
    store = RedisHandoffStore(client, prefix=prefix)
    await client.rpush(f"{prefix}:ready", agent_prefix)
    if not await client.blpop([f"{prefix}:go"], timeout=20):
        raise SystemExit("no go signal")
    agents = [f"{agent_prefix}{i}" for i in range(tries)]
    results = await asyncio.gather(*(store.claim(ticket_id, a, 5, now=0.0) for a in agents))
    print(json.dumps([a for a, won in zip(agents, results, strict=True) if won]))
    await client.aclose()


if __name__ == "__main__":
    url, prefix, ticket_id, agent_prefix, tries = sys.argv[1:6]
    asyncio.run(race(url, prefix, ticket_id, agent_prefix, int(tries)))
