"""Engines and per-dialect SQL. ``dialect_for`` picks the module for an engine."""

from sqlalchemy.engine import Connection, Engine

from baselinr.connectors.base import ColumnInfo, Dialect, Sampled, categorize
from baselinr.connectors.duckdb import DuckDBDialect
from baselinr.connectors.engine import build_url, connect, create_engine, describe, first_line
from baselinr.connectors.postgres import PostgresDialect
from baselinr.connectors.sqlite import SQLiteDialect

DIALECTS: dict[str, Dialect] = {
    "sqlite": SQLiteDialect(),
    "postgresql": PostgresDialect(),
    "duckdb": DuckDBDialect(),
}


def dialect_for(bind: Engine | Connection) -> Dialect:
    """The dialect module for an engine; unknown engines get ANSI defaults."""
    return DIALECTS.get(bind.dialect.name, Dialect())


__all__ = [
    "DIALECTS",
    "ColumnInfo",
    "Dialect",
    "Sampled",
    "build_url",
    "categorize",
    "connect",
    "create_engine",
    "describe",
    "dialect_for",
    "first_line",
]
