"""SQLAlchemy Core descriptions of the tables the migrations create."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, Interval, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["metadata", "samples", "series"]

metadata = MetaData()

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("resolution", Text),
    Column("labels", JSONB, nullable=False),
    Column("source", Text),
    Column("integration", Text),
    Column("max_gap", Interval),
    Column("meter_modulus", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("value", Float, nullable=False),
)
