"""Verified API keys, cached in process (docs/security.md, Key cache and revocation delay).

Without it every authenticated request costs a database round trip. An entry lives at most
`ttl_s` seconds, so a revocation reaches every process within that time even when nothing
else tells it; a revocation made in this process evicts at once (`evict_everywhere`), and
gateways listening on PostgreSQL channel `api_keys` evict as soon as any process commits one.

Refusals (unknown, revoked or expired keys) are cached in a separate, smaller cache: a flood
of made-up tokens churns only that one and never pushes out the keys of real clients. A
refusal cannot hide a key created later: tokens are 256-bit random, so nobody presents a
token before it exists.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache

from resolvers.auth import Principal

__all__ = ["CachedKey", "KeyCache", "evict_everywhere"]

REFUSALS_SIZE = 1024

_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()


@dataclass(frozen=True)
class CachedKey:
    principal: Principal
    expires_at: datetime | None

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)


class KeyCache:
    """Token digest -> verified key, or a cached refusal. `ttl_s == 0` disables both."""

    def __init__(self, *, ttl_s: float, size: int) -> None:
        self.ttl_s = ttl_s
        self._known: TTLCache[bytes, CachedKey] = TTLCache(size, ttl_s or 1, timer=time.monotonic)
        self._refused: TTLCache[bytes, bool] = TTLCache(
            REFUSALS_SIZE, ttl_s or 1, timer=time.monotonic
        )
        _caches.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def known(self, digest: bytes) -> CachedKey | None:
        return self._known.get(digest) if self.enabled else None

    def refused(self, digest: bytes) -> bool:
        return self.enabled and digest in self._refused

    def remember(self, digest: bytes, key: CachedKey) -> None:
        if self.enabled:
            self._refused.pop(digest, None)
            self._known[digest] = key

    def refuse(self, digest: bytes) -> None:
        if self.enabled:
            self._known.pop(digest, None)
            self._refused[digest] = True

    def evict(self, key_id: str) -> None:
        """Forget the key with this id (revoked); revocations are rare, so a scan is fine."""
        for digest, entry in list(self._known.items()):
            if entry.principal.key_id == key_id:
                self._known.pop(digest, None)

    def clear(self) -> None:
        self._known.clear()
        self._refused.clear()

    def __len__(self) -> int:
        return len(self._known) + len(self._refused)


def evict_everywhere(key_id: str) -> None:
    """Evict a key from every cache in this process (the revoking process answers 401 at once)."""
    for cache in list(_caches):
        cache.evict(key_id)
