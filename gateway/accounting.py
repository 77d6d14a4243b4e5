"""Counts what each `ingest` call did, for the access log and `ingest_rows_total`.

A schema extension sees the root `ingest` field's arguments and its result; it writes
`rows = {inserted, updated, unchanged}` (or `rejected` / `failed` with the points sent) into
the request state. A `resolve` hook wraps every field of a request (about 1 µs each), so the
HTTP endpoint, which already knows the operation's root fields, says through a context
variable when no `ingest` can run and the factory then leaves the hook out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

__all__ = ["IngestAccounting", "accounting_extension", "ingest_expected"]

# True unless the endpoint has seen the document and found no root `ingest` field.
ingest_expected: ContextVar[bool] = ContextVar("ingest_expected", default=True)


def _points(arguments: Mapping[str, Any]) -> int:
    data = arguments.get("input")
    if not isinstance(data, Mapping):
        return 0
    series = data.get("series") or []
    return sum(len(s.get("timestamps") or []) for s in series if isinstance(s, Mapping))


def _rows(result: Any, sent: int) -> dict[str, int]:
    if getattr(result, "user_errors", None):
        return {"rejected": sent}
    return {
        "inserted": int(getattr(result, "inserted", 0)),
        "updated": int(getattr(result, "updated", 0)),
        "unchanged": int(getattr(result, "unchanged", 0)),
    }


class IngestAccounting(SchemaExtension):
    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: str,
        **kwargs: Any,
    ) -> Any:
        if info.path.prev is not None or info.field_name != "ingest":
            return _next(root, info, *args, **kwargs)
        return self._account(_next(root, info, *args, **kwargs), info, kwargs)

    async def _account(self, pending: Any, info: GraphQLResolveInfo[Any], kwargs: Any) -> Any:
        state = getattr(info.context, "state", None)
        rows: dict[str, int] = state.setdefault("rows", {}) if isinstance(state, dict) else {}
        sent = _points(kwargs)
        try:
            result = await pending if inspect.isawaitable(pending) else pending
        except BaseException:
            rows["failed"] = rows.get("failed", 0) + sent
            raise
        for outcome, count in _rows(result, sent).items():
            rows[outcome] = rows.get(outcome, 0) + count
        return result


class _Idle(SchemaExtension):
    """Stands in for IngestAccounting when the operation cannot ingest."""


def accounting_extension() -> SchemaExtension:
    return IngestAccounting() if ingest_expected.get() else _Idle()
