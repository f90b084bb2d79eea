"""DuckDB: reflection through information_schema (duckdb-engine's inspector follows
Postgres catalogs DuckDB does not have), isfinite(), quantile_cont()."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from baselinr.connectors.base import ColumnInfo, Dialect, Sampled
from baselinr.values import Moment

_HASH_BUCKETS = 1_000_000


class DuckDBDialect(Dialect):
    name = "duckdb"

    def default_schema(self, conn: Connection) -> str | None:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar())

    def list_schemas(self, conn: Connection) -> list[str]:
        rows = conn.execute(
            sa.text(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE catalog_name = current_database() ORDER BY schema_name"
            )
        )
        return [r[0] for r in rows]

    def list_tables(self, conn: Connection, schema: str | None) -> list[str]:
        rows = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = :schema "
                "ORDER BY table_name"
            ),
            {"schema": schema or self.default_schema(conn)},
        )
        return [r[0] for r in rows]

    def list_columns(self, conn: Connection, schema: str | None, table: str) -> list[ColumnInfo]:
        rows = conn.execute(
            sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = :schema "
                "AND table_name = :table ORDER BY ordinal_position"
            ),
            {"schema": schema or self.default_schema(conn), "table": table},
        )
        return [self._column_info(name, type_name) for name, type_name in rows]

    def database_name(self, conn: Connection) -> str:
        return Path(conn.engine.url.database or "memory").stem

    def finite(
        self, col: ColumnElement[Any], column: ColumnInfo | None = None
    ) -> ColumnElement[bool]:
        if column is not None and column.decimal:
            return sa.true()  # DECIMAL holds neither NaN nor infinities
        return sa.func.isfinite(self.as_float(col))

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.Double)

    def single_precision(self, type_name: str) -> bool:
        return type_name.upper() in ("FLOAT", "REAL", "FLOAT4")

    def temporal_value(self, expr: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # Python reads DuckDB's infinities as datetime.max/min and BC dates as text;
        # epoch microseconds (and 'infinity'/'-infinity' as text) keep them all
        return sa.case(
            (sa.func.isinf(expr), sa.cast(expr, sa.String)),
            else_=sa.cast(sa.func.epoch_us(expr), sa.String),
        )

    def read_temporal(self, raw: Any, column: ColumnInfo) -> Any:
        if raw is None:
            return None
        found = Moment.from_micros(raw, column.temporal == "date")
        return found if found is not None else raw

    def count_where(self, cond: ColumnElement[bool]) -> ColumnElement[Any]:
        # FILTER clauses cost DuckDB ~13x a CASE: 220 histogram counts over 1M rows took
        # 8.7 s as count(*) FILTER (WHERE ...) and 0.66 s as count(CASE WHEN ... THEN 1)
        return sa.func.count(sa.case((cond, 1)))

    def sketch_hash(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        return sa.func.hash(col)  # UBIGINT

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        fractions: ColumnElement[Any] = sa.literal_column(
            "[" + ", ".join(repr(float(p)) for p in levels) + "]"
        )
        return sa.func.quantile_cont(self.as_float(col), fractions)

    def order_statistics(
        self, col: ColumnElement[Any], fractions: Sequence[float]
    ) -> ColumnElement[Any]:
        levels: ColumnElement[Any] = sa.literal_column(
            "[" + ", ".join(repr(float(q)) for q in fractions) + "]"
        )
        return sa.func.quantile_disc(self.as_float(col), levels)

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        bucket = sa.func.hash(sa.literal_column("rowid") + seed) % _HASH_BUCKETS
        return Sampled(table, bucket < int(fraction * _HASH_BUCKETS))
