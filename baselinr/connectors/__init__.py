"""Engines and per-dialect SQL. ``dialect_for`` picks the module for an engine (the
registry is ``baselinr.engines``)."""

from sqlalchemy.engine import Connection, Engine

from baselinr.connectors.base import ColumnInfo, Dialect, Sampled, categorize
from baselinr.connectors.engine import build_url, connect, create_engine, describe, first_line


def dialect_for(bind: Engine | Connection) -> Dialect:
    """The dialect module for an engine; unknown engines get ANSI defaults."""
    from baselinr.engines import dialect_for as registered

    return registered(bind)


__all__ = [
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
