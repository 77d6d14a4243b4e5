"""The result cache's versions and entries in Redis, shared by every gateway replica
(docs/cache.md). A writer bumps the versions in Redis after its commit and before it answers,
so a read through any replica after that sees the new data at once.

Versions come from one Redis counter, so they increase across all replicas. A tag is given a
version the first time a read needs it; from then on a missing version key can only mean
Redis evicted or expired it, and counts as a miss (and gets a new, higher version). So Redis
may evict any key at any time (`maxmemory-policy allkeys-lru`): that costs hits, never
correctness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from resolvers.cache import Entry
from resolvers.cache_codecs import CODECS

__all__ = ["RedisStore"]

# One round trip: take the next version and set it on every tag.
_BUMP = """
local v = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], v, 'EX', ARGV[1]) end
return v
"""
# Give the tags that have none a new version (unless one raced us to it); their versions.
_INIT = """
local v = redis.call('INCR', KEYS[1])
local out = {}
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], v, 'NX', 'EX', ARGV[1])
  out[i - 1] = redis.call('GET', KEYS[i])
end
return out
"""


class RedisStore:
    def __init__(self, url: str, *, ttl_s: int, prefix: str = "gwc", timeout_s: float = 0.5):
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._bump = self.client.register_script(_BUMP)
        self._init = self.client.register_script(_INIT)

    def _tag(self, tag: str) -> str:
        return f"{self.prefix}:v:{tag}"

    def _entry(self, key: str) -> str:
        kind = key.partition("|")[0]
        return f"{self.prefix}:e:{kind}:{hashlib.sha256(key.encode()).hexdigest()}"

    async def fetch(
        self, items: Sequence[tuple[str, list[str]]]
    ) -> list[tuple[tuple[int, ...], Any | None]]:
        async with self.client.pipeline(transaction=False) as pipe:
            for key, tags in items:
                pipe.mget([self._tag(t) for t in tags])
                pipe.get(self._entry(key))
            replies = await pipe.execute()
        versions: list[list[Any]] = replies[0::2]
        missing = sorted(
            {
                t
                for (_, tags), vs in zip(items, versions, strict=True)
                for t, v in zip(tags, vs, strict=True)
                if v is None
            }
        )
        if missing:
            keys = [f"{self.prefix}:seq", *(self._tag(t) for t in missing)]
            given = dict(
                zip(missing, await self._init(keys=keys, args=[2 * self.ttl_s]), strict=True)
            )
            versions = [
                [given[t] if v is None else v for t, v in zip(tags, vs, strict=True)]
                for (_, tags), vs in zip(items, versions, strict=True)
            ]
        out: list[tuple[tuple[int, ...], Any | None]] = []
        for (key, _tags), vs, raw in zip(items, versions, replies[1::2], strict=True):
            entry = None
            if raw is not None:
                data = orjson.loads(raw)
                decode = CODECS[key.partition("|")[0]][1]
                entry = Entry(tuple(data["v"]), decode(data["x"]))
            out.append((tuple(int(v) for v in vs), entry))
        return out

    async def versions(self, tags: list[str]) -> tuple[int, ...]:
        # A missing key (evicted meanwhile) reads as 0, which no entry captured.
        return tuple(int(v or 0) for v in await self.client.mget([self._tag(t) for t in tags]))

    async def put(self, key: str, entry: Entry[Any]) -> None:
        encode = CODECS[key.partition("|")[0]][0]
        body = orjson.dumps({"v": list(entry.versions), "x": encode(entry.value)})
        await self.client.set(self._entry(key), body, ex=self.ttl_s)

    async def bump(self, tags: list[str]) -> None:
        keys = [f"{self.prefix}:seq", *(self._tag(t) for t in tags)]
        await self._bump(keys=keys, args=[2 * self.ttl_s])

    async def clear(self) -> None:
        # Shared entries are checked against shared versions: nothing was missed.
        return None

    def sizes(self) -> tuple[int, int] | None:
        return None

    async def close(self) -> None:
        await self.client.aclose()
