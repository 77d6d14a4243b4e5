"""Limits on GraphQL documents: tokens (the parser stops counting past them), and depth,
aliases (fragment spreads multiplied, CVE-2026-47707) and root fields, which the endpoint
checks with one linear walk before validation (`gateway.analysis`). Each rejects the whole
document with a message naming the limit; none runs a resolver. The point budget per request
lives in `resolvers.context.Budget`, the body size limit in `gateway.pipeline`; docs/limits.md
lists them all.
"""

from __future__ import annotations

from strawberry.extensions import MaxTokensLimiter

from gateway.analysis import DocumentLimits
from gateway.settings import Settings
from resolvers.schema import ExtensionFactory

__all__ = ["document_limits", "limit_extensions"]


def document_limits(settings: Settings) -> DocumentLimits:
    return DocumentLimits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
        max_fields=settings.max_fields,
    )


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Factories, so each request gets fresh extension instances. Depth, aliases and root
    fields are not validation rules any more: strawberry's limiters walked every fragment
    spread again (exponential in the nesting of spreads, issue 10)."""
    return [lambda: MaxTokensLimiter(max_token_count=settings.max_tokens)]
