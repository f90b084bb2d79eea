"""PostgreSQL (and wire-compatible engines): TABLESAMPLE, percentile_cont, pg_class."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from baselinr.connectors.base import Dialect, Sampled

# Tables, partitioned tables, views, materialized views, foreign tables — but not the
# children of a partitioned table: those are profiled through their parent.
_LIST_TABLES = sa.text(
    """
    SELECT c.relname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND NOT c.relispartition
    ORDER BY c.relname
    """
)


class PostgresDialect(Dialect):
    name = "postgresql"

    def list_schemas(self, conn: Connection) -> list[str]:
        return [
            s
            for s in super().list_schemas(conn)
            if s != "information_schema" and not s.startswith("pg_")
        ]

    def list_tables(self, conn: Connection, schema: str | None) -> list[str]:
        schema = schema or self.default_schema(conn)
        return [row[0] for row in conn.execute(_LIST_TABLES, {"schema": schema})]

    def database_name(self, conn: Connection) -> str:
        return str(conn.execute(sa.text("SELECT current_database()")).scalar())

    def finite(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        # NaN sorts above every number in Postgres, so NaN < Infinity is false too.
        return sa.func.abs(col) < sa.literal(float("inf"), postgresql.DOUBLE_PRECISION)

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, postgresql.DOUBLE_PRECISION)

    def length(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.char_length(col)

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        fractions = sa.literal(list(levels), postgresql.ARRAY(postgresql.DOUBLE_PRECISION))
        return sa.func.percentile_cont(fractions).within_group(self.as_float(col))

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        percent = sa.literal(fraction * 100.0, postgresql.DOUBLE_PRECISION)
        # SYSTEM samples pages (reads only ~fraction of the table); BERNOULLI samples
        # rows (reads all of it). REPEATABLE keeps the sample stable across passes.
        method_fn = sa.func.bernoulli if method in ("bernoulli", "random") else sa.func.system
        sampled = sa.tablesample(table, method_fn(percent), seed=sa.literal(seed))
        return Sampled(sampled)
