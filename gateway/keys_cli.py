"""`python -m gateway keys create|list|revoke`: manage API keys from the command line."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta

from db import keys as db_keys
from db.engine import Database
from gateway.keys import issue_key, revoke_key
from gateway.tenants import TENANT_NAME
from resolvers.auth import Scope

__all__ = ["add_keys_parser", "run_keys"]


def add_keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="create a key; the token is printed once")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        choices=[s.value for s in Scope],
        help="repeat for several scopes",
    )
    create.add_argument("--name", default="", help="who or what uses the key")
    create.add_argument(
        "--tenant",
        type=_tenant_name,
        default=None,
        help="the tenant the key belongs to (created with its first key); without it, a "
        "platform key",
    )
    create.add_argument("--expires-in-days", type=float, default=None)
    listing = actions.add_parser("list", help="list keys (never their tokens)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")


def _tenant_name(value: str) -> str:
    if TENANT_NAME.fullmatch(value) is None:
        raise argparse.ArgumentTypeError(
            "a tenant name is 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return value


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


async def _keys(args: argparse.Namespace, database: Database) -> int:
    if args.keys_command == "create":
        expires = None
        if args.expires_in_days is not None:
            expires = datetime.now(UTC) + timedelta(days=args.expires_in_days)
        issued = await issue_key(
            database,
            [Scope(s) for s in args.scopes],
            name=args.name,
            expires_at=expires,
            tenant=args.tenant,
        )
        print(f"key id:  {issued.key.id}")
        print(f"tenant:  {issued.key.tenant or '- (platform key)'}")
        print(f"scopes:  {','.join(issued.key.scopes)}")
        print(f"expires: {_when(issued.key.expires_at)}")
        print(f"token:   {issued.token}")
        print("Store the token now; only its SHA-256 is kept.")
        return 0
    if args.keys_command == "list":
        rows = await db_keys.list_keys(database, include_revoked=args.all)
        print(f"{'id':<17} {'tenant':<16} {'scopes':<18} {'created':<21} {'expires':<21} "
              f"{'last used':<21} {'revoked':<21} name")  # fmt: skip
        for k in rows:
            print(
                f"{k.id:<17} {k.tenant or '-':<16} {','.join(k.scopes):<18} "
                f"{_when(k.created_at):<21} "
                f"{_when(k.expires_at):<21} {_when(k.last_used_at):<21} "
                f"{_when(k.revoked_at):<21} {k.name}"
            )
        return 0
    if await revoke_key(database, args.key_id):
        print(f"revoked {args.key_id}")
        return 0
    print(f"no active key {args.key_id}")
    return 1


def run_keys(args: argparse.Namespace, url: str) -> int:
    async def run() -> int:
        database = Database(url)
        try:
            return await _keys(args, database)
        finally:
            await database.dispose()

    return asyncio.run(run())
