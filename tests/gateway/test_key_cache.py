"""The in-process key cache: hits skip the database, revocation reaches this process at once
and other processes through NOTIFY (or within the cache lifetime), expiry is honoured from the
cache, and neither cache grows past its bound."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from db import keys as db_keys
from db.engine import Database
from gateway.auth import Authenticator, AuthError
from gateway.key_cache import REFUSALS_SIZE
from gateway.keys import digest, issue_key, mint_token, revoke_key
from resolvers.auth import Scope
from tests.gateway.conftest import bearer, running_app, settings_for

QUERY = {"query": "{ seriesList { nodes { key } } }"}


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


def _closed_port_database() -> Database:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Database(f"postgresql://postgres@127.0.0.1:{port}/x")


def _authenticator(database: Database, ttl_s: float, size: int = 100) -> Authenticator:
    return Authenticator(
        database, allow_anonymous=False, touch_every_s=60, cache_ttl_s=ttl_s, cache_size=size
    )


async def test_a_cached_key_needs_no_database(database: Database) -> None:
    issued = await issue_key(database, [Scope.READ], name="cached")
    auth = _authenticator(database, ttl_s=30)
    first = await auth.authenticate(f"Bearer {issued.token}")
    auth.database = _closed_port_database()  # any lookup now fails with a connection error
    try:
        assert await auth.authenticate(f"Bearer {issued.token}") == first
        uncached = _authenticator(auth.database, ttl_s=0)
        with pytest.raises(OSError):
            await uncached.authenticate(f"Bearer {issued.token}")
    finally:
        await auth.database.dispose()


async def test_revocation_by_another_process_takes_at_most_the_lifetime(
    database: Database,
) -> None:
    """No listener here: only the entry's lifetime bounds a revocation made elsewhere
    (db_keys.revoke_key alone is what another process's revocation looks like to this one)."""
    issued = await issue_key(database, [Scope.READ], name="ttl")
    auth = _authenticator(database, ttl_s=1.0)
    await auth.authenticate(f"Bearer {issued.token}")
    assert await db_keys.revoke_key(database, issued.key.id)
    await auth.authenticate(f"Bearer {issued.token}")  # still cached: the documented delay
    await asyncio.sleep(1.1)
    with pytest.raises(AuthError):
        await auth.authenticate(f"Bearer {issued.token}")


async def test_a_lifetime_of_zero_disables_the_cache(database: Database) -> None:
    issued = await issue_key(database, [Scope.READ], name="nocache")
    auth = _authenticator(database, ttl_s=0)
    await auth.authenticate(f"Bearer {issued.token}")
    assert await db_keys.revoke_key(database, issued.key.id)
    with pytest.raises(AuthError):
        await auth.authenticate(f"Bearer {issued.token}")
    assert len(auth.cache) == 0


async def test_an_expired_key_is_refused_even_when_cached(database: Database) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1)
    issued = await issue_key(database, [Scope.READ], name="expiring", expires_at=expires)
    auth = _authenticator(database, ttl_s=3600)
    await auth.authenticate(f"Bearer {issued.token}")
    assert auth.cache.known(digest(issued.token)) is not None
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
    with pytest.raises(AuthError):
        await auth.authenticate(f"Bearer {issued.token}")


async def test_both_caches_are_bounded(database: Database) -> None:
    issued = [await issue_key(database, [Scope.READ], name=f"bound-{i}") for i in range(5)]
    auth = _authenticator(database, ttl_s=30, size=3)
    for key in issued:
        await auth.authenticate(f"Bearer {key.token}")
    assert len(auth.cache) == 3
    # A flood of well-formed, made-up tokens fills only the refusals, up to their bound,
    # and never pushes out a real client's key.
    for _ in range(REFUSALS_SIZE + 200):
        with pytest.raises(AuthError):
            await auth.authenticate(f"Bearer {mint_token([Scope.READ])}")
    assert len(auth.cache) == 3 + REFUSALS_SIZE
    assert auth.cache.known(digest(issued[-1].token)) is not None


async def test_revocation_in_this_process_is_immediate(database_url: str) -> None:
    settings = settings_for(database_url, key_cache_ttl_s=3600)
    async with running_app(settings) as (app, client):
        database = app.state.database
        await app.state.authenticator.listening.wait()  # it clears the cache when it connects
        issued = await issue_key(database, [Scope.READ], name="same-process")
        ok = await client.post("/graphql", json=QUERY, headers=bearer(issued.token))
        assert ok.status_code == 200
        assert app.state.authenticator.cache.known(digest(issued.token)) is not None
        assert await revoke_key(database, issued.key.id)
        response = await client.post("/graphql", json=QUERY, headers=bearer(issued.token))
        assert response.status_code == 401


async def test_revocation_reaches_another_process_through_notify(
    start_gateway: Any, database: Database
) -> None:
    """A real second gateway process with an hour-long cache: only the NOTIFY can evict."""
    gateway = start_gateway("listener", key_cache_ttl_s="3600")
    issued = await issue_key(database, [Scope.READ], name="other-process")
    async with httpx.AsyncClient(base_url=gateway.base, timeout=10) as client:
        for _ in range(2):  # the second answer comes from that process's cache
            ok = await client.post("/graphql", json=QUERY, headers=bearer(issued.token))
            assert ok.status_code == 200
        assert await revoke_key(database, issued.key.id)  # this process: the test's
        deadline = time.monotonic() + 20  # a bound for a loaded CI machine, not a latency claim
        while True:
            response = await client.post("/graphql", json=QUERY, headers=bearer(issued.token))
            if response.status_code == 401:
                break
            assert response.status_code == 200
            assert time.monotonic() < deadline, "the revocation never reached the other process"
            await asyncio.sleep(0.05)
