"""Helpers for the gateway's security and operations tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app with its lifespan running and an in-process client for it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield app, c


def settings_for(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"env": "prod", "database_url": SecretStr(url)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
