"""The committed schema.graphql is the published contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from resolvers.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_is_up_to_date() -> None:
    expected = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == expected, (
        "schema.graphql is stale: run `python -m gateway export-schema -o schema.graphql`"
    )


def test_contract_names_exist() -> None:
    sdl = SCHEMA_FILE.read_text()
    for fragment in (
        "series(key: String!): Series",
        "seriesList(filter: SeriesFilter",
        "upsertSeries(input: SeriesInput!): Series!",
        "ingest(input: IngestInput!): IngestResult!",
        "deleteSamples(",
        "enum SeriesKind",
        "enum OnConflict",
        "enum Fill",
        "scalar DateTime",
        "scalar JSON",
    ):
        assert fragment in sdl, fragment
