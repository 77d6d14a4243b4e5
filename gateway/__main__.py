"""Command line: `python -m gateway {serve,dev,migrate,keys,audit,export-schema}`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from types import ModuleType

from pydantic import SecretStr

from db.migrate import apply_migrations
from gateway.app import database_from
from gateway.audit_cli import add_audit_parser, run_audit
from gateway.embedded import start_embedded_postgres
from gateway.keys_cli import add_keys_parser, run_keys
from gateway.pool_plan import BudgetTooSmall, plan_pools
from gateway.schema import served_schema
from gateway.serve import serve
from gateway.settings import MissingDatabaseUrl, Settings
from gateway.workers import Supervisor
from resolvers.schema import build_schema

__all__ = ["main"]

log = logging.getLogger("gateway")


def _migrate(url: str) -> None:
    applied = asyncio.run(apply_migrations(url))
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none (up to date)"
    print(f"migrations applied: {names}")


def _serve(settings: Settings, host: str, port: int) -> None:
    plan_pools(settings)  # refuse a configuration over the connection budget before starting
    if settings.workers > 1:
        raise SystemExit(Supervisor(settings, host, port).run())
    serve(settings, host, port)


# The demo data set is a development tool (devtools/ in a clone), not part of the wheel.
NO_DEMO = (
    "demo data not loaded: the demo data set lives in devtools/ of a clone of the repository, "
    "which the gateway wheel does not ship. For a gateway with demo data, clone the repository "
    "and run scripts/dev (docs/deployment.md, 'Development tools')."
)


def _demo() -> ModuleType | None:
    try:
        from devtools import demo
    except ModuleNotFoundError as exc:
        if exc.name not in ("devtools", "devtools.demo"):
            raise  # a broken demo module is a bug, not a missing one
        return None
    return demo


async def _load_demo(settings: Settings, demo: ModuleType) -> int:
    database = database_from(settings)
    try:
        await database.start()
        points: int = await demo.load_demo(served_schema(settings), database)
        return points
    finally:
        await database.dispose()


def _dev(settings: Settings, host: str, port: int) -> None:
    embedded = None
    if settings.database_url is None:
        embedded = start_embedded_postgres(settings.data_dir)
        url = embedded.url
        print(f"embedded PostgreSQL running, data in {Path(settings.data_dir).resolve()}")
    else:
        url = settings.require_database_url()
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into KeyboardInterrupt
    # (like Ctrl+C) so the embedded server below is stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        settings = settings.model_copy(update={"database_url": SecretStr(url), "env": "dev"})
        _migrate(url)
        demo = _demo()
        if demo is not None:
            points = asyncio.run(_load_demo(settings, demo))
            print(f"demo data loaded: {points} points through the ingest mutation")
        else:
            print(NO_DEMO)
        print(f"\nDashboard: http://{host}:{port}/  (built by scripts/frontend)")
        print(f"GraphiQL: http://{host}:{port}/graphql\n")
        if demo is not None:
            print(f"Try this query:\n{demo.EXAMPLE_QUERY}\n")
        _serve(settings, host, port)
    except KeyboardInterrupt:
        pass
    finally:
        if embedded is not None:
            embedded.stop()
            print("embedded PostgreSQL stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the gateway (DATABASE_URL required)"),
        ("dev", "run with demo data, anonymous reads; embedded PostgreSQL if no DATABASE_URL"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default=None)
        command.add_argument("--port", type=int, default=None)
        if name == "serve":
            command.add_argument(
                "--workers",
                type=int,
                default=None,
                help="worker processes sharing the port and GATEWAY_DB_MAX_CONNECTIONS "
                "(default: GATEWAY_WORKERS, 1)",
            )
    commands.add_parser("migrate", help="apply pending database migrations")
    add_keys_parser(commands)
    add_audit_parser(commands)
    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o", type=Path, default=None)
    args = parser.parse_args(argv)

    settings = Settings()
    if getattr(args, "workers", None) is not None:
        settings = settings.model_copy(update={"workers": args.workers})
    try:
        _run(args, settings)
    except MissingDatabaseUrl as exc:
        parser.exit(2, f"error: {exc}; set it to postgresql://user@host:port/database\n")
    except BudgetTooSmall as exc:
        parser.exit(2, f"error: {exc}\n")


def _run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "export-schema":
        sdl = build_schema().as_str() + "\n"
        if args.output:
            args.output.write_text(sdl)
        else:
            sys.stdout.write(sdl)
        return
    if args.command == "migrate":
        _migrate(settings.require_database_url())
        return
    if args.command == "keys":
        raise SystemExit(run_keys(args, settings.require_database_url()))
    if args.command == "audit":
        raise SystemExit(run_audit(args, settings.require_database_url()))
    host = args.host or settings.host
    port = args.port or settings.port
    if args.command == "dev":
        _dev(settings, host, port)
    else:
        _serve(settings, host, port)


if __name__ == "__main__":
    main()
