"""Settings from environment variables (twelve-factor), built once at the entry point."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["MissingDatabaseUrl", "Settings"]


class MissingDatabaseUrl(RuntimeError):
    pass


Coding = Literal["zstd", "br", "gzip"]


def _all_codings() -> list[Coding]:
    return ["zstd", "br", "gzip"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    env: Literal["dev", "prod"] = Field(
        default="prod", description="`dev` enables introspection and anonymous access."
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "GATEWAY_DATABASE_URL"),
        description="postgresql://user:pass@host:port/db; unset in dev = embedded PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: str = Field(default=".data", description="Where the embedded PostgreSQL lives.")

    # Processes and connections (docs/limits.md, "Connection pools"): `serve` runs
    # `workers` processes; all of them together hold at most `db_max_connections`, each
    # worker's share split into 2 listener connections, its ingest pool and its read pool.
    workers: int = Field(default=1, ge=1, description="Worker processes of `serve`.")
    db_max_connections: int = Field(
        default=16, ge=4, description="Connections all workers together may open."
    )
    db_ingest_connections: int = Field(
        default=2, ge=1, description="Each worker's ingest pool (sample writes, deletions)."
    )
    # Pool and timeouts (docs/operations.md, Failure behaviour).
    db_pool_timeout_s: float = Field(default=3.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=100)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)

    # Request limits.
    max_ingest_points: int = Field(default=100_000, ge=1)
    max_request_points: int = Field(default=100_000, ge=1)
    max_page_size: int = Field(default=1000, ge=1)

    # GraphQL document limits (docs/limits.md).
    max_depth: int = Field(default=8, ge=1)
    max_aliases: int = Field(default=15, ge=0)
    max_tokens: int = Field(default=2000, ge=10)
    max_root_fields: int = Field(default=10, ge=1)
    max_fields: int = Field(
        default=500, ge=1, description="Fields in one operation, fragments expanded."
    )
    # Request bodies: the small limit for everyone, the large one for keys with the ingest
    # scope (a 100k-point columnar ingest is about 5 MB).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_ingest_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    # Persisted queries (docs/api.md, "Persisted queries"): Apollo's automatic persisted
    # queries, a per-process LRU of documents by hash; documents registered at start-up
    # (a .graphql file, a directory of them, or a JSON manifest); and the allow-list mode.
    persisted_queries: bool = Field(
        default=True, description="Accept `extensions.persistedQuery` (Apollo's APQ)."
    )
    persisted_queries_size: int = Field(
        default=1000, ge=0, description="Documents kept by hash per process (LRU)."
    )
    persisted_documents: str | None = Field(
        default=None,
        description="Registered documents: a .graphql file, a directory of them, or a JSON "
        "manifest (Apollo's, or {id: document}).",
    )
    persisted_queries_only: bool = Field(
        default=False,
        description="Allow-list mode: only the registered documents run; needs "
        "`persisted_documents`.",
    )

    # Connections (docs/limits.md): a request's headers must arrive within
    # `header_timeout_s` of the connection opening (or of its first byte on a kept-alive
    # connection) and stay under `max_header_bytes`; its body within `body_timeout_s`; an
    # idle kept-alive connection closes after `keep_alive_timeout_s`.
    header_timeout_s: float = Field(default=10.0, gt=0)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    body_timeout_s: float = Field(default=60.0, gt=0)
    keep_alive_timeout_s: int = Field(default=5, ge=1)
    # /graphql requests served at once (past the checks); more get 503 at once. /healthz,
    # /readyz and /metrics are not counted.
    max_graphql_requests: int = Field(default=64, ge=1)
    # Queries only: a query still running after this many seconds is cancelled, statements
    # included, and answered 504 READ_TIMEOUT (docs/limits.md, "Read time limit").
    read_timeout_s: float = Field(default=10.0, gt=0)
    # `ingest` calls one tenant (one key until tenants exist) may run at once in a process;
    # one more is refused with 429 CONCURRENCY_LIMITED (docs/limits.md, "Ingest concurrency").
    ingest_max_concurrent: int = Field(default=2, ge=1)

    # Per-key cost (docs/limits.md): points (buckets, samples, KPI steps as the request
    # budget charges them) per window, `limits` syntax, unset = off; and how many requests
    # above `expensive_points` one key may run at once.
    key_cost_budget: str | None = "5000000/minute"
    key_max_expensive: int = Field(default=2, ge=1)
    # One at a time: each holds the event loop for its decoding and serialisation, so two at
    # once doubled the wait of every small query (docs/limits.md, "Per-key cost").
    max_expensive_requests: int = Field(
        default=1, ge=1, description="Expensive requests of all keys at once (bounds memory)."
    )
    expensive_points: int = Field(default=10_000, ge=1)

    # Response compression (docs/api.md, "Compression"): bodies from `compress_min_bytes` on,
    # in the first of `compress_codings` the client ranks highest; an empty list turns it off.
    # 1,400 bytes is about one TCP segment: below, compressing saves no packet, only CPU.
    compress_min_bytes: int = Field(default=1400, ge=0, le=4096)
    compress_codings: list[Coding] = Field(
        default_factory=_all_codings,
        description='Content codings offered, preferred first, JSON list: ["zstd","br","gzip"].',
    )

    # Result cache of closed aggregate and KPI ranges (docs/cache.md): in process, bounded
    # by approximate bytes, unless `cache_redis_url` names a Redis shared by all replicas.
    cache_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="In-process cache size; 0 turns it off."
    )
    cache_redis_url: SecretStr | None = Field(
        default=None, description="redis://host:port/db: keep the cache in Redis instead."
    )
    cache_redis_prefix: str = Field(
        default="gwc", min_length=1, description="Prefix of the cache's Redis keys."
    )
    cache_ttl_s: int = Field(
        default=3600, ge=1, description="Lifetime of an entry in Redis (renewed when stored)."
    )

    # Subscriptions over WebSocket (docs/limits.md, Subscriptions).
    ws_init_timeout_s: float = Field(
        default=10.0, gt=0, description="A socket without `connection_init` by then: 4408."
    )
    max_subscriptions_per_connection: int = Field(default=20, ge=1)
    max_ws_connections_per_key: int = Field(default=100, ge=1)
    subscription_queue_size: int = Field(
        default=64,
        ge=1,
        description="Updates waiting for one subscription's client; one more: the "
        "connection is dropped as a slow consumer (1008).",
    )

    # Access and exposure.
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Allowed browser origins, JSON list: ["https://a"]. Empty in dev mode: '
        "http://localhost:* and http://127.0.0.1:*.",
    )
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without a key (only on a private network)."
    )
    key_touch_every_s: float = Field(default=60.0, ge=0, description="last_used_at granularity.")
    # Verified keys are cached this long (0 = off): the longest a revocation made by another
    # process can take to reach this one when the NOTIFY listener is down (docs/security.md).
    key_cache_ttl_s: float = Field(default=30.0, ge=0, le=3600)
    key_cache_size: int = Field(default=10_000, ge=1)
    # The role requests run as so that row-level security binds them (migration 0081); the
    # login role must be a member. Empty: requests run as the login role, which must then be
    # neither superuser nor the tables' owner (docs/security.md, Row-level security).
    db_tenant_role: str = Field(default="gateway_tenant", max_length=63)
    # Rate limits ("20/second;1000/minute", `limits` syntax); unset = off. Per key: every
    # operation except ingest calls, and ingest calls; per client IP: requests without a key.
    rate_limit_requests: str | None = None
    rate_limit_ingest: str | None = None
    rate_limit_anonymous: str | None = None

    # Failure behaviour and lifecycle.
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After on 503 responses.")
    readiness_timeout_s: float = Field(default=1.0, gt=0)
    require_durability: bool = Field(
        default=True,
        description="Readiness fails unless fsync, full_page_writes and synchronous_commit "
        "are on (a commit acknowledged to a client must survive a crash).",
    )
    shutdown_timeout_s: float = Field(default=25.0, gt=0)
    # uvicorn's connection limit (sockets, idle ones too): a last guard for file descriptors,
    # well above `max_graphql_requests` so idle sockets cannot lock the gateway out.
    max_concurrency: int | None = Field(default=2048, ge=1)
    log_level: str = "INFO"

    @field_validator("cache_redis_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose passes `${GATEWAY_CACHE_REDIS_URL:-}` through: empty means no Redis.
        return None if value == "" else value

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise MissingDatabaseUrl("DATABASE_URL is not set")
        return self.database_url.get_secret_value()
