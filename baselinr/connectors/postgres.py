"""PostgreSQL (and wire-compatible engines): TABLESAMPLE, percentile_cont, pg_class,
parallel scalar aggregates, and histograms from one ``width_bucket`` per value."""

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement, Grouping
from sqlalchemy.sql.selectable import FromClause

from baselinr.connectors.base import ColumnInfo, Dialect, Sampled, binary_scaled
from baselinr.errors import ProfilingError
from baselinr.profiling.metrics import NUMERIC, STRING
from baselinr.profiling.sketch import PRECISION, DistinctSketch, from_postgresql_hll
from baselinr.values import Moment

_HLL_REACHABLE = sa.text(
    "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hll'"
    " AND extnamespace::regnamespace::text = ANY (current_schemas(false))"
)
_FLOAT_ARRAY = postgresql.ARRAY(postgresql.DOUBLE_PRECISION)
_NUMERIC_ARRAY = postgresql.ARRAY(sa.Numeric())
_MAX_DOUBLE = Decimal("1.7976931348623157e308")
# Types whose min/max/order follow the column's collation: compared in "C" (code
# point) order instead, the order of SQLite and DuckDB, whatever the database's locale.
_COLLATED = ("TEXT", "CHARACTER", "VARCHAR", "CHAR(", "BPCHAR")


def _field_base(max_rows: int) -> int:
    """A power of ten above any bucket count: ``max_rows`` with room to grow."""
    return 10 ** len(str(max(max_rows, 1) * 4))


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


# Column names and the types Postgres itself prints (the inspector reports types it
# does not know, like point or xml, as NullType); domains as their base type, enums
# marked as such.
_LIST_COLUMNS = sa.text(
    """
    SELECT a.attname,
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
                ELSE format_type(a.atttypid, a.atttypmod) END,
           t.typtype = 'e'
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
    """
)


class PostgresDialect(Dialect):
    name = "postgresql"
    # count(DISTINCT ...) and percentile_cont() keep a whole statement on one core;
    # apart from them, the scalar aggregates get parallel workers.
    separate_serial_pass = True
    concurrent_statements = True
    relation_group_column = "tableoid"

    def list_schemas(self, conn: Connection) -> list[str]:
        return [
            s
            for s in super().list_schemas(conn)
            if s != "information_schema" and not s.startswith("pg_")
        ]

    def list_tables(self, conn: Connection, schema: str | None) -> list[str]:
        schema = schema or self.default_schema(conn)
        return [row[0] for row in conn.execute(_LIST_TABLES, {"schema": schema})]

    def list_columns(self, conn: Connection, schema: str | None, table: str) -> list[ColumnInfo]:
        schema = schema or self.default_schema(conn)
        rows = conn.execute(_LIST_COLUMNS, {"schema": schema, "table": table}).all()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table}")
        columns = []
        for name, type_name, is_enum in rows:
            info = self._column_info(name, type_name)
            if is_enum:  # ordered labels: profiled like strings
                info = ColumnInfo(name, type_name, STRING)
            columns.append(info)
        return columns

    def database_name(self, conn: Connection) -> str:
        return str(conn.execute(sa.text("SELECT current_database()")).scalar())

    def finite(
        self, col: ColumnElement[Any], column: ColumnInfo | None = None
    ) -> ColumnElement[bool]:
        if column is not None and column.decimal:
            # numeric NaN and +-Infinity (PG 14+) give NaN here; no cast to double,
            # which fails for numerics beyond its range
            return (col - col) == 0
        # NaN sorts above every number in Postgres, so NaN < Infinity is false too.
        return sa.func.abs(col) < sa.literal(float("inf"), postgresql.DOUBLE_PRECISION)

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, postgresql.DOUBLE_PRECISION)

    def single_precision(self, type_name: str) -> bool:
        return type_name.lower() in ("real", "float4")

    def to_double(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        if not column.decimal:
            return self.as_float(col)
        limit = sa.literal(_MAX_DOUBLE, sa.Numeric())
        return sa.case(
            (col > limit, sa.literal(float("inf"), postgresql.DOUBLE_PRECISION)),
            (col < -limit, sa.literal(float("-inf"), postgresql.DOUBLE_PRECISION)),
            else_=self.as_float(col),
        )

    def temporal_value(self, expr: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # psycopg2 cannot read BC dates or years beyond 9999 and turns +-infinity into
        # datetime.max/min; the epoch (exact numeric seconds, 'Infinity') keeps them all.
        return sa.cast(sa.extract("epoch", expr), sa.Text)

    def read_temporal(self, raw: Any, column: ColumnInfo) -> Any:
        if raw is None:
            return None
        found = Moment.from_epoch(raw, column.temporal == "date")
        return found if found is not None else raw

    def length(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        # no char_length(uuid) or (enum); the cast is free for text columns
        return sa.func.char_length(sa.cast(col, sa.Text))

    def comparable(self, col: ColumnElement[Any], type_name: str) -> ColumnElement[Any]:
        upper = type_name.upper()
        # there is no min(uuid); its text (lowercase hex) sorts the same way
        if upper.startswith("UUID"):
            return sa.cast(col, sa.Text)
        return col.collate("C") if upper.startswith(_COLLATED) else col

    def histogram_aggregates(
        self, value: ColumnElement[Any], edges: Sequence[float], label: str, max_rows: int
    ) -> list[ColumnElement[Any]]:
        """One aggregate per column instead of one per edge: ``width_bucket`` finds the
        bucket of each value (0 underflow, 1..n the bins, n+1 overflow) and the sum of
        ``base ** bucket`` packs every bucket's count into one exact numeric, a digit
        field per bucket. ``base`` exceeds any count the table can give
        (``histogram_counts`` checks). About twice as fast as n+1 FILTER counts."""
        # The last bin is closed: a value equal to the last edge is below the next float.
        thresholds = [*edges[:-1], math.nextafter(edges[-1], math.inf)]
        weights = [_field_base(max_rows) ** k for k in range(len(edges) + 1)]
        bucket = sa.func.width_bucket(
            self.as_float(value), sa.cast(sa.literal(thresholds), _FLOAT_ARRAY)
        )
        weight_array = Grouping(sa.cast(sa.literal(weights), _NUMERIC_ARRAY))
        packed = weight_array[bucket + 1]
        return [sa.func.sum(packed).label(f"{label}_packed")]

    def histogram_counts(
        self,
        row: Mapping[str, Any],
        label: str,
        edges: Sequence[float],
        max_rows: int,
        counted: int,
    ) -> tuple[int, list[int], int]:
        packed, base = int(row[f"{label}_packed"] or 0), _field_base(max_rows)
        buckets = []
        for _ in range(len(edges) + 1):
            packed, count = divmod(packed, base)
            buckets.append(count)
        if packed or sum(buckets) != counted:
            raise ProfilingError(
                "histogram counts do not add up: the table changed during the profile"
            )
        return buckets[0], buckets[1:-1], buckets[-1]

    def distinct_bitmap(self, col: ColumnElement[Any], low: int) -> ColumnElement[Any]:
        # bit_or runs in parallel workers; count(DISTINCT) sorts on one core
        offset = sa.cast(col, sa.Integer) if low == 0 else sa.cast(col - low, sa.Integer)
        return sa.func.bit_or(sa.cast(sa.literal(1), sa.BigInteger).op("<<")(offset))

    def second_moment_aggregates(
        self,
        value: ColumnElement[Any],
        center: ColumnElement[Any],
        integer: bool,
        scale: int,
        label: str,
    ) -> list[ColumnElement[Any]]:
        """var_pop of the deviations from a center near the mean: as exact as sums of
        d and d*d, but Postgres raises on a float product that underflows (d*d for
        d < 1e-162) and var_pop's accumulator does not. Values so large or spreads
        so small that squares leave float range are taken exactly as numeric (their
        text is the shortest exact decimal)."""
        if scale:
            exact = sa.cast(sa.cast(value, sa.Text), sa.Numeric)
            return [sa.func.var_pop(exact).label(f"{label}_vp")]
        return [sa.func.var_pop(self.deviation(value, center, integer)).label(f"{label}_vp")]

    def second_moment(
        self, row: Mapping[str, Any], label: str, counted: int, scale: int
    ) -> tuple[float, int] | None:
        variance = row[f"{label}_vp"]
        if variance is None:
            return None
        if isinstance(variance, Decimal):
            return binary_scaled(variance * counted)
        m2 = float(variance) * counted
        return (m2, 0) if math.isfinite(m2) else None

    # --- distinct sketches ----------------------------------------------------------
    def prepare_sketches(self, conn: Connection) -> bool:
        # the hll extension (Debian: postgresql-15-hll), created in this database and
        # reachable on the search path, builds sketches in the aggregate pass itself
        return conn.execute(_HLL_REACHABLE).first() is not None

    def sketch_family(self, native: bool) -> str:
        return "postgresql-hll" if native else "postgresql"

    def sketch_aggregate(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # log2m 14, 5-bit registers, explicit and sparse forms off: always the full form
        hashed = sa.func.hll_hash_bigint(self.sketch_hash(col, column))
        built = sa.func.hll_add_agg(hashed, PRECISION, 5, 0, 0)
        return sa.cast(built, sa.Text)

    def read_sketch(self, raw: Any) -> DistinctSketch:
        if raw is None:  # no values
            return DistinctSketch.empty(self.sketch_family(True))
        return from_postgresql_hll(str(raw), self.sketch_family(True))

    def sketch_hash(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # Postgres's own hash functions, which treat values as equality does (0 and -0,
        # 1.0 and 1.00); the hll extension hashes their value once more
        seed = sa.literal(0, sa.BigInteger)
        if column.decimal:
            return sa.func.hash_numeric_extended(col, seed)
        if column.floating:
            return sa.func.hashfloat8extended(self.as_float(col), seed)
        if column.category == NUMERIC:
            return sa.func.hashint8extended(sa.cast(col, sa.BigInteger), seed)
        if column.temporal:  # without printing every value as text
            upper = column.type_name.upper()
            if "WITH TIME ZONE" in upper or upper.startswith("TIMESTAMPTZ"):
                col = sa.func.timezone("UTC", col)  # the same instant in any session
            return sa.func.timestamp_hash_extended(sa.cast(col, postgresql.TIMESTAMP), seed)
        if column.type_name.upper() == "UUID":
            return sa.func.uuid_hash_extended(col, seed)
        return sa.func.hashtextextended(sa.cast(col, sa.Text), seed)

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        fractions = sa.literal(list(levels), postgresql.ARRAY(postgresql.DOUBLE_PRECISION))
        return sa.func.percentile_cont(fractions).within_group(self.as_float(col))

    def order_statistics(
        self, col: ColumnElement[Any], fractions: Sequence[float]
    ) -> ColumnElement[Any]:
        levels = sa.literal(list(fractions), _FLOAT_ARRAY)
        return sa.func.percentile_disc(levels).within_group(self.as_float(col))

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        percent = sa.literal(fraction * 100.0, postgresql.DOUBLE_PRECISION)
        # SYSTEM samples pages (reads only ~fraction of the table); BERNOULLI samples
        # rows (reads all of it). REPEATABLE keeps the sample stable across passes.
        method_fn = sa.func.bernoulli if method in ("bernoulli", "random") else sa.func.system
        sampled = sa.tablesample(table, method_fn(percent), seed=sa.literal(seed))
        return Sampled(sampled)

    # --- engine behaviour ------------------------------------------------------------
    @contextlib.contextmanager
    def isolated(self, conn: Connection) -> Iterator[None]:
        # a failed statement aborts the whole transaction: keep it in a savepoint
        with conn.begin_nested():
            yield

    def upsert(
        self, conn: Connection, table: sa.Table, row: Mapping[str, Any], keys: Sequence[str]
    ) -> None:
        self._on_conflict_update(conn, postgresql.insert(table), row, keys)

    def lock_for_migration(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})


MIGRATION_LOCK_KEY = 0x62617365  # "base": one advisory lock id for Baselinr migrations
