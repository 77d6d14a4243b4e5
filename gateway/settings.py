"""Settings from environment variables (twelve-factor), built once at the entry point."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["MissingDatabaseUrl", "Settings"]


class MissingDatabaseUrl(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    env: Literal["dev", "prod"] = Field(
        default="prod", description="`dev` enables GraphiQL, introspection and anonymous access."
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "GATEWAY_DATABASE_URL"),
        description="postgresql://user:pass@host:port/db; unset in dev = embedded PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: str = Field(default=".data", description="Where the embedded PostgreSQL lives.")

    # Pool and timeouts (reliability.md §2c).
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout_s: float = Field(default=3.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=100)

    # Request limits.
    max_ingest_points: int = Field(default=100_000, ge=1)
    max_request_points: int = Field(default=100_000, ge=1)
    max_page_size: int = Field(default=1000, ge=1)

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set")
        return self.database_url.get_secret_value()
