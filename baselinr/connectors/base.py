"""What every dialect module provides, and the defaults most SQL engines share.

A dialect module subclasses ``Dialect`` and overrides only what differs: how to
reflect columns, test a float for finiteness, sample a table, count histogram bins,
or take quantiles. The profiler asks the dialect; it never checks names.
"""

import contextlib
import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from baselinr.profiling.metrics import BOOLEAN, DATETIME, NUMERIC, OTHER, STRING
from baselinr.profiling.sketch import DistinctSketch
from baselinr.values import Moment


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str
    category: str
    floating: bool = False  # may hold NaN or +/-infinity

    @property
    def decimal(self) -> bool:
        """An exact decimal type (numeric, decimal, number): summed and compared exactly."""
        upper = self.type_name.upper()
        return self.category == NUMERIC and any(w in upper for w in _DECIMAL_WORDS)

    @property
    def temporal(self) -> str | None:
        """``date`` or ``timestamp`` for the columns whose values are ``Moment``s;
        None otherwise (times of day keep Python's ``time``)."""
        if self.category != DATETIME:
            return None
        upper = self.type_name.upper()
        if "TIMESTAMP" in upper or "DATETIME" in upper:
            return "timestamp"
        return "date" if "DATE" in upper else None


@dataclass(frozen=True)
class Sampled:
    """A FROM clause restricted to a sample, plus a predicate when the dialect has
    no TABLESAMPLE of its own."""

    source: FromClause
    predicate: ColumnElement[bool] | None = None


def binary_scaled(value: Decimal) -> tuple[float, int]:
    """An exact decimal as (mantissa, even exponent): value = mantissa * 2**exponent,
    for numbers outside float range."""
    if value <= 0:
        return 0.0, 0
    exponent = int(value.adjusted() * 3.321928094887362)  # log2(10)
    exponent -= exponent % 2
    with localcontext() as ctx:
        ctx.prec = 40
        return float(value / Decimal(2) ** exponent), exponent


_NUMERIC_WORDS = (
    "INT",
    "NUMERIC",
    "DECIMAL",
    "NUMBER",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "SERIAL",
)
_FLOAT_WORDS = ("FLOAT", "DOUBLE", "REAL", "NUMERIC", "DECIMAL", "NUMBER")
_DECIMAL_WORDS = ("NUMERIC", "DECIMAL", "NUMBER")
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
    "MONEY",  # Postgres: no arithmetic with numbers, and drivers return it as text
    "RANGE",  # int4range, daterange, ...
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
    #: True when quantiles can be an aggregate in the select list.
    aggregate_quantiles: ClassVar[bool] = True
    #: True to put the aggregates that cannot run in parallel (exact distinct counts,
    #: ordered-set quantiles) in a statement of their own, so that the engine can
    #: parallelise the scalar aggregates. False: one statement holds them all.
    separate_serial_pass: ClassVar[bool] = False
    #: A column every table has that names the leaf partition a row lives in, for
    #: grouping a declaratively partitioned table by partition (None: no such column).
    relation_group_column: ClassVar[str | None] = None
    #: True to take distinct counts, top values and quantiles of a column from one
    #: ``GROUP BY`` of its values (and its histogram and second moment from the same
    #: groups), for engines where sorting is the cost: SQLite sorts for every one of
    #: them and has no quantile aggregate.
    value_counts_pass: ClassVar[bool] = False
    #: True when statements of one profile gain from running side by side on separate
    #: sessions (the server runs each on its own backend); False for in-process engines
    #: that already spread one statement over every core.
    concurrent_statements: ClassVar[bool] = False

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
    def finite(
        self, col: ColumnElement[Any], column: ColumnInfo | None = None
    ) -> ColumnElement[bool]:
        """True for values that are neither NaN nor infinite."""
        return sa.func.isfinite(col)

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.Float)

    def single_precision(self, type_name: str) -> bool:
        """True for 4-byte float types, whose sums must be accumulated as doubles."""
        return False

    def double(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """A float column's values as doubles, for sums, extremes and comparisons:
        single precision widened (exactly) so that nothing accumulates in float4."""
        return self.as_float(col) if self.single_precision(column.type_name) else col

    def to_double(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """A numeric value as a double for histograms and quantiles (numpy compares
        float64). Decimals beyond the double range must become +-infinity, not fail."""
        return self.as_float(col)

    def temporal_value(self, expr: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """How a date or timestamp (a min, a max, a top value) is selected so that
        ``read_temporal`` gets it whole: BC years, years beyond 9999 and +-infinity
        included. Here: the value itself."""
        return expr

    def read_temporal(self, raw: Any, column: ColumnInfo) -> Any:
        """A ``Moment`` from what ``temporal_value`` selected; text that is no date
        stays text."""
        date_only = column.temporal == "date"
        if isinstance(raw, dt.datetime):
            return Moment.from_python(raw, date_only=date_only)
        if isinstance(raw, dt.date):
            return Moment.from_python(raw, date_only=True)
        if isinstance(raw, str):
            found = Moment.parse(raw, date_only)
            return found if found is not None else raw
        return raw

    def deviation(
        self, col: ColumnElement[Any], center: ColumnElement[Any], integer: bool, scale: int = 0
    ) -> ColumnElement[Any]:
        """``(col - center) * 2**-scale`` as a float (``center`` comes scaled).

        ``integer``: both are integers whose difference fits 64 bits, so subtract
        exactly before converting (a float cast first would round beyond 2**53).
        ``scale`` keeps squares of deviations inside float range for values beyond
        1e120 or spreads below 1e-120; scaling by a power of two is exact."""
        if integer:
            return self.as_float(col - center)
        if scale:
            return self.as_float(col) * self._float(math.ldexp(1.0, -scale)) - self.as_float(center)
        return self.as_float(col) - self.as_float(center)

    def second_moment_aggregates(
        self,
        value: ColumnElement[Any],
        center: ColumnElement[Any],
        integer: bool,
        scale: int,
        label: str,
    ) -> list[ColumnElement[Any]]:
        """Aggregates from which ``second_moment`` reads M2, the sum of squared
        deviations from the mean. Here: sums of deviations d from a center near the
        mean and of d*d (M2 = S(d*d) - S(d)**2 / n), which keeps every digit where
        sums of squares of the values (or var_pop in one pass) cancel them away."""
        d = self.deviation(value, center, integer, scale)
        return [self.sum(d).label(f"{label}_d1"), self.sum(d * d).label(f"{label}_d2")]

    def second_moment(
        self, row: Mapping[str, Any], label: str, counted: int, scale: int
    ) -> tuple[float, int] | None:
        """(m2, exponent) with M2 = m2 * 2**exponent, from ``second_moment_aggregates``
        over ``counted`` values; None if a NaN or infinity got in."""
        d1 = float(row[f"{label}_d1"] or 0.0)
        d2 = float(row[f"{label}_d2"] or 0.0)
        m2 = d2 - d1 * (d1 / counted)
        if not math.isfinite(m2):
            return None
        return max(m2, 0.0), 2 * scale

    def histogram_aggregates(
        self, value: ColumnElement[Any], edges: Sequence[float], label: str, max_rows: int
    ) -> list[ColumnElement[Any]]:
        """Aggregates from which ``histogram_counts`` reads the bin counts of ``value``
        against ``edges`` (numpy semantics: bins [e_k, e_k+1), the last one closed,
        compared as floats). Here: cumulative counts below each edge, n+1 per column."""
        x = self.as_float(value)
        items: list[ColumnElement[Any]] = [
            self.count_where(x < self._float(edges[0])).label(f"{label}_under")
        ]
        for k, edge in enumerate(edges[1:-1], start=1):
            items.append(self.count_where(x < self._float(edge)).label(f"{label}_lt{k}"))
        items.append(self.count_where(x <= self._float(edges[-1])).label(f"{label}_le"))
        return items

    def histogram_counts(
        self,
        row: Mapping[str, Any],
        label: str,
        edges: Sequence[float],
        max_rows: int,
        counted: int,
    ) -> tuple[int, list[int], int]:
        """(underflow, counts per bin, overflow) from a row of ``histogram_aggregates``;
        ``counted`` is the number of non-null values the same statement saw."""
        bins = len(edges) - 1
        under = int(row[f"{label}_under"] or 0)
        cumulative = [under] + [int(row[f"{label}_lt{k}"] or 0) for k in range(1, bins)]
        cumulative.append(int(row[f"{label}_le"] or 0))
        counts = [cumulative[k + 1] - cumulative[k] for k in range(bins)]
        return under, counts, counted - cumulative[-1]

    def _float(self, value: float) -> ColumnElement[Any]:
        """A float constant typed as one, so that comparing an integer column with it
        compares floats (an untyped literal may be read as an exact decimal)."""
        return self.as_float(sa.literal(float(value)))

    def distinct_bitmap(self, col: ColumnElement[Any], low: int) -> ColumnElement[Any] | None:
        """An aggregate whose set bits are the distinct values of ``col - low`` (which
        lie in 0..63), or None when the dialect has no bitwise OR aggregate. An exact
        distinct count without a sort, for integer columns of small range and
        booleans (``low`` 0, false/true as 0/1)."""
        return None

    # --- distinct sketches (approx_distinct_count, ``profiling.sketch``) ------------------
    def prepare_sketches(self, conn: Connection) -> bool:
        """Ready ``conn`` for sketches; True when ``sketch_aggregate`` builds a column's
        whole sketch in statement 1 (else ``sketch_hash`` and one ``GROUP BY``)."""
        return False

    def sketch_family(self, native: bool) -> str:
        """The name of the hash a sketch was built with (only equal families merge)."""
        return self.name

    def sketch_aggregate(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """One aggregate whose value is the column's whole sketch (``read_sketch``)."""
        raise NotImplementedError(f"{self.name} builds sketches from sketch_hash")

    def read_sketch(self, raw: Any) -> DistinctSketch:
        raise NotImplementedError(f"{self.name} builds sketches from sketch_hash")

    def sketch_hash(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """A well-mixed 64-bit integer hash of a value, equal for values the engine's
        ``count(DISTINCT)`` takes as equal."""
        raise NotImplementedError(f"no sketches on {self.name}")

    def sum(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.sum(col)

    def exact_sum(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        """The exact sum of an integer column (numeric or 128-bit on most engines)."""
        return sa.func.sum(col)

    def sum_overflowed(self, exc: BaseException) -> bool:
        """True when ``exact_sum`` failed because the sum left the engine's integers;
        the profiler then asks again with ``sum``."""
        return False

    def length(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        """Characters in the text of a value (uuid and enum columns included)."""
        return sa.func.length(sa.cast(col, sa.Text))

    def comparable(self, col: ColumnElement[Any], type_name: str) -> ColumnElement[Any]:
        """A string column as min() and max() can take it."""
        return col

    def as_text(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.Text)

    def top_value(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """A value as the top-values statement returns it: one type for all columns,
        text, exact (floats as doubles, dates as ``temporal_value``); the profiler
        turns it into the canonical text of ``profiling.values``."""
        if column.temporal:
            return self.as_text(self.temporal_value(col, column))
        if column.floating and not column.decimal:
            return self.as_text(self.double(col, column))
        return self.as_text(col)

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        raise NotImplementedError

    def order_statistics(
        self, col: ColumnElement[Any], fractions: Sequence[float]
    ) -> ColumnElement[Any]:
        """An aggregate giving, per fraction q, the value at 0-based rank
        ``ceil(q * n) - 1`` (a discrete quantile: a value of the data), as an array.
        Callers pass q = (rank + 0.5) / n, which leaves no room for rounding."""
        raise NotImplementedError

    def count_where(self, cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return sa.func.count().filter(cond)

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        """A sample of about ``fraction`` of the rows, the same rows on every pass."""
        raise NotImplementedError

    # --- engine behaviour (warehouse and result storage) -------------------------------
    @contextlib.contextmanager
    def isolated(self, conn: Connection) -> Iterator[None]:
        """Run statements that may fail without spoiling the connection's transaction
        (where a failed statement aborts it, a savepoint)."""
        yield

    def upsert(
        self, conn: Connection, table: sa.Table, row: Mapping[str, Any], keys: Sequence[str]
    ) -> None:
        """Insert ``row`` or replace the row with the same ``keys``."""
        conn.execute(table.delete().where(*[table.c[k] == row[k] for k in keys]))
        conn.execute(table.insert().values(**row))

    @staticmethod
    def _on_conflict_update(
        conn: Connection, insert: Any, row: Mapping[str, Any], keys: Sequence[str]
    ) -> None:
        """An upsert for dialects with ``INSERT … ON CONFLICT DO UPDATE`` (``insert`` is
        that dialect's ``insert(table)``)."""
        update = {k: v for k, v in row.items() if k not in keys}
        stmt = insert.values(**row).on_conflict_do_update(index_elements=list(keys), set_=update)
        conn.execute(stmt)

    def lock_for_migration(self, conn: Connection) -> None:
        """Serialise schema migrations of one database across processes: the lock is
        held until the connection's transaction ends."""

    def prepare_storage(self, engine: sa.Engine) -> None:
        """Settings a result-storage engine needs (called once per engine)."""
