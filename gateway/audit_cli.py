"""`python -m gateway audit`: print the audit trail, one event per line, oldest first.

Columns, tab-separated: time (UTC, microseconds), actor (key id or `cli`), action, target,
tenant (`-` while tenants do not exist), request id (`-` outside a request).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from db import audit as db_audit
from db.engine import Database

__all__ = ["add_audit_parser", "format_event", "run_audit"]


def _aware(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no time zone; add one, e.g. 2026-03-29T00:00:00+01:00 or ...Z"
        )
    return moment


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit",
        help="print the audit trail (key creation and revocation, deletions)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument(
        "--since", type=_aware, default=None,
        help="only events at or after this ISO 8601 time with zone, e.g. 2026-11-30T00:00:00Z",
    )  # fmt: skip
    audit.add_argument(
        "--limit", type=_positive, default=100, help="the latest N events (default 100)"
    )


def format_event(event: db_audit.AuditEvent) -> str:
    at = event.at.astimezone(UTC)
    return "\t".join(
        (
            at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            event.actor,
            event.action,
            event.target,
            event.tenant or "-",
            event.request_id or "-",
        )
    )


def run_audit(args: argparse.Namespace, url: str) -> int:
    async def run() -> int:
        database = Database(url)
        try:
            events = await db_audit.list_events(database, since=args.since, limit=args.limit)
        finally:
            await database.dispose()
        for event in events:
            print(format_event(event))
        return 0

    return asyncio.run(run())
