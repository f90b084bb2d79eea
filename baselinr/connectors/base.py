"""What every dialect module provides, and the defaults most SQL engines share.

A dialect module subclasses ``Dialect`` and overrides only what differs: how to
reflect columns, test a float for finiteness, sample a table, compute the second
moment, or take quantiles. The profiler asks the dialect; it never checks names.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from baselinr.profiling.metrics import BOOLEAN, DATETIME, NUMERIC, OTHER, STRING


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str
    category: str
    floating: bool = False  # may hold NaN or +/-infinity


@dataclass(frozen=True)
class Sampled:
    """A FROM clause restricted to a sample, plus a predicate when the dialect has
    no TABLESAMPLE of its own."""

    source: FromClause
    predicate: ColumnElement[bool] | None = None


_NUMERIC_WORDS = (
    "INT",
    "NUMERIC",
    "DECIMAL",
    "NUMBER",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "SERIAL",
    "MONEY",
)
_FLOAT_WORDS = ("FLOAT", "DOUBLE", "REAL", "NUMERIC", "DECIMAL", "NUMBER")
_STRING_WORDS = ("CHAR", "TEXT", "STRING", "CLOB", "UUID", "CITEXT", "NAME", "ENUM")
_DATETIME_WORDS = ("DATE", "TIME")
_BOOLEAN_WORDS = ("BOOL",)
_OTHER_WORDS = (
    "INTERVAL",
    "[]",
    "ARRAY",
    "JSON",
    "BLOB",
    "BYTEA",
    "BINARY",
    "STRUCT",
    "MAP",
    "LIST",
    "GEOMETRY",
    "XML",
    "INET",
    "BIT",
)


def categorize(type_name: str) -> tuple[str, bool]:
    """Map a database type name to a profiling category and whether it is floating."""
    name = type_name.upper()
    if any(w in name for w in _OTHER_WORDS):
        return OTHER, False
    if any(w in name for w in _BOOLEAN_WORDS):
        return BOOLEAN, False
    if any(w in name for w in _DATETIME_WORDS):
        return DATETIME, False
    if "POINT" in name:  # DOUBLE PRECISION matched above; POINT is geometry
        return OTHER, False
    if any(w in name for w in _NUMERIC_WORDS):
        return NUMERIC, any(w in name for w in _FLOAT_WORDS)
    if any(w in name for w in _STRING_WORDS):
        return STRING, False
    return OTHER, False


class Dialect:
    """SQL that differs between engines. The base class is ANSI-ish."""

    name: ClassVar[str] = "generic"
    #: True when ``m2_expression`` works in one pass; False means the profiler
    #: computes the centered second moment in its second pass.
    one_pass_variance: ClassVar[bool] = True
    #: True when quantiles can be an aggregate in the select list.
    aggregate_quantiles: ClassVar[bool] = True

    # --- reflection ---------------------------------------------------------------
    def default_schema(self, conn: Connection) -> str | None:
        return sa.inspect(conn).default_schema_name

    def list_schemas(self, conn: Connection) -> list[str]:
        return list(sa.inspect(conn).get_schema_names())

    def list_tables(self, conn: Connection, schema: str | None) -> list[str]:
        insp = sa.inspect(conn)
        return sorted(
            set(insp.get_table_names(schema=schema)) | set(insp.get_view_names(schema=schema))
        )

    def list_columns(self, conn: Connection, schema: str | None, table: str) -> list[ColumnInfo]:
        columns = sa.inspect(conn).get_columns(table, schema=schema)
        return [self._column_info(c["name"], self.type_name(c["type"])) for c in columns]

    def type_name(self, sa_type: Any) -> str:
        try:
            return str(sa_type.compile(dialect=None))
        except Exception:  # NullType and friends cannot compile
            return type(sa_type).__name__.upper()

    @staticmethod
    def _column_info(name: str, type_name: str) -> ColumnInfo:
        category, floating = categorize(type_name)
        return ColumnInfo(name=name, type_name=type_name, category=category, floating=floating)

    def database_name(self, conn: Connection) -> str:
        url = conn.engine.url
        return url.database or ""

    # --- expressions --------------------------------------------------------------
    def finite(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """True for values that are neither NaN nor infinite."""
        return sa.func.isfinite(col)

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.Float)

    def m2_expression(self, col: ColumnElement[Any]) -> ColumnElement[Any] | None:
        """Sum of squared deviations from the mean, computed stably in one pass."""
        x = self.as_float(col)
        return sa.func.var_pop(x) * sa.func.count(x)

    def sum(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.sum(col)

    def length(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.length(col)

    def as_text(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.Text)

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        raise NotImplementedError

    def count_where(self, cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return sa.func.count().filter(cond)

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        """A sample of about ``fraction`` of the rows, the same rows on every pass."""
        raise NotImplementedError
