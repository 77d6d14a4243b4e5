"""The schema as served: the resolvers' schema plus the gateway's extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import DisableIntrospection

from gateway.documents import PreparedDocument
from gateway.errors import ErrorMasking
from gateway.limits import limit_extensions
from gateway.settings import Settings
from resolvers.schema import ExtensionFactory, build_schema

__all__ = ["served_schema"]


def served_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[ExtensionFactory] = [
        lambda: ErrorMasking(suggestions=settings.dev),
        *limit_extensions(settings),
        # The document the pipeline parsed, analysed and validated once (no second parse).
        PreparedDocument,
    ]
    if not settings.dev:
        extensions.append(DisableIntrospection)
    return build_schema(extensions, field_suggestions=settings.dev)
