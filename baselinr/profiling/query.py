"""The SQL of a profile: a small, fixed number of statements per table.

1. **aggregates** — one ``SELECT`` with every scalar aggregate of every column
   (counts, min/max, sums, lengths, zero counts; exact distinct counts and quantiles
   too, unless the dialect wants them apart — see 3);
2. **distribution** — only when needed: histogram counts against fixed bin edges, and
   the second moment as sums of deviations from the mean found by statement 1. Built
   in aggregates (``var_pop``, ``stddev_samp``) lose digits when the mean is large
   against the spread (mean 1e9, stddev 1e-3); deviations from a nearby center do not,
   and integer deviations are taken exactly before any float conversion;
3. **serial aggregates** — on dialects that want them apart (Postgres): exact distinct
   counts and ordered-set quantiles, which keep a statement on one core, so that
   statements 1 and 2 can use parallel workers;
4. **values** — only for ``top_values`` (and quantiles on SQLite, by window functions).

Two more, when needed: **order statistics** for the quantile edges of a skewed
column's first histogram (before statement 2), and on SQLite the **value counts**
pass, which takes distinct counts, top values, quantiles, histograms and second
moments of the columns that need a sort anyway from one ``GROUP BY`` of each column's
values (instead of statements 2 to 4 for those columns).

The default metric set takes at most three statements, whatever the width of the
table (each statement is split only when a dialect limits the select list).
Identifiers are always quoted by SQLAlchemy; no SQL is built from strings.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, Select

from baselinr.catalog import TableRef
from baselinr.config.models import PartitionConfig, SamplingConfig
from baselinr.connectors import ColumnInfo, Dialect
from baselinr.profiling.edges import choose_edges
from baselinr.profiling.metrics import (
    BOOLEAN,
    NUMERIC,
    QUANTILE_LEVELS,
    STRING,
    metrics_for,
    needs_of,
)
from baselinr.profiling.sketch import PRECISION, RANK_MASK, REGISTERS

__all__ = ["Center", "ProfileQuery", "ProfileRequest", "choose_edges", "to_python"]

# Expressions per statement before we split by columns. Postgres allows 1664 target
# entries and SQLite 2000 result columns; stay well under both.
MAX_SELECT_ITEMS = 1000
# Integer deviations are exact when every |value - center| fits a signed 64-bit int.
_EXACT_INTEGER_RANGE = 2**62


@dataclass(frozen=True)
class ProfileRequest:
    """What to profile: a table, its columns, the metrics, and which rows."""

    table: TableRef
    columns: tuple[ColumnInfo, ...]
    metrics: tuple[str, ...]
    histogram_bins: int = 10
    top_values_k: int = 10
    partition: PartitionConfig | None = None
    sampling: SamplingConfig | None = None
    group_by: str | None = None
    histogram_edges: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # what the last profile found: each column's mean and the table's row count; with
    # them statement 1 takes the histograms and the second moments (the folded pass)
    centers: Mapping[str, float] = field(default_factory=dict)
    expected_rows: int | None = None

    def needs(self, column: ColumnInfo) -> frozenset[str]:
        """The partial aggregates this column needs for the requested metrics."""
        needs: set[str] = {"non_null"}
        for metric in metrics_for(column.category, self.metrics):
            needs |= needs_of(metric, self.metrics)
        if needs & {"histogram", "non_finite", "m2"}:
            needs.add("moments")  # the finite count (and the mean) are part of the moments
        if "histogram" in needs and column.name not in self.histogram_edges:
            needs |= {"min", "max"}
        if "m2" in needs:
            needs |= {"min", "max"}  # whether integer deviations can be taken exactly
        if self.group_by is not None:
            needs -= {"quantiles", "top_values"}
        return frozenset(needs)


def to_python(value: Any) -> Any:
    """Driver values -> plain Python numbers: an integral Decimal becomes an int, NaN
    and infinities floats; other decimals stay exact."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)
        return int(value) if value == value.to_integral_value() else value
    return value


@dataclass(frozen=True)
class Center:
    """Where statement 2 measures deviations from, per group: the mean, or for an
    integer column the integer nearest to it (so ``value - center`` is exact).
    Deviations are scaled by ``2**-scale`` (0 unless values are extreme)."""

    values: Mapping[Any, float | int]
    integer: bool
    scale: int = 0


@dataclass(frozen=True)
class ValueCountPlan:
    """What the value-counts pass takes from one column's groups of equal values:
    the distinct count, the top ``top_k``, the groups holding the finite values of
    ``ranks`` (order statistics), cumulative counts below ``edges`` and the second
    moment around ``center``, each weighted by the group's count."""

    distinct: bool = False
    top_k: int = 0
    ranks: tuple[int, ...] = ()
    edges: tuple[float, ...] | None = None
    center: Center | None = None


@dataclass(frozen=True)
class Fold:
    """What statement 1 also takes on a re-profile (the folded second pass): the
    histograms of columns whose edges are fixed, and second moments around the last
    profile's mean (``max_rows`` bounds the counts, for dialects that pack them)."""

    edges: Mapping[str, tuple[float, ...]]
    centers: Mapping[str, Center]
    max_rows: int


class ProfileQuery:
    """Builds the statements for one ``ProfileRequest`` and reads their rows back.

    Result columns get positional labels (``c3_min``), never column names, so hostile
    names cannot leak into SQL or collide.
    """

    def __init__(self, dialect: Dialect, request: ProfileRequest) -> None:
        self.dialect = dialect
        self.request = request
        extra = {request.group_by, request.partition.key if request.partition else None}
        names = [c.name for c in request.columns]
        names += sorted(n for n in extra if n is not None and n not in names)
        table = sa.table(
            request.table.table, *[sa.column(n) for n in names], schema=request.table.schema
        )
        self.table = table
        self.source: FromClause = table
        self.filters: list[ColumnElement[bool]] = []
        if request.sampling is not None and request.sampling.enabled:
            s = request.sampling
            sampled = dialect.sample(table, s.fraction, s.method, s.seed)
            self.source = sampled.source
            if sampled.predicate is not None:
                self.filters.append(sampled.predicate)
        if request.partition is not None:
            partition_filter = self._partition_filter(request.partition)
            if partition_filter is not None:
                self.filters.append(partition_filter)
        self.needs = {c.name: request.needs(c) for c in request.columns}
        # integer columns are summed exactly unless the dialect's integers overflow
        self.exact_integer_sums = True
        # columns whose distinct count (and top values, quantiles) come from the
        # value-counts pass instead (dialects with ``value_counts_pass``)
        self.value_counted: frozenset[str] = frozenset()
        # whether one aggregate of statement 1 builds a column's distinct sketch
        # (``Dialect.prepare_sketches``); else the sketch statement does
        self.native_sketches = False
        self.fold: Fold | None = None

    # --- building blocks -----------------------------------------------------------
    def col(self, name: str) -> ColumnElement[Any]:
        return self.source.c[name]

    def value(self, column: ColumnInfo, all_finite: bool = False) -> ColumnElement[Any]:
        """The column as used for numeric aggregates: NULL for NaN and infinities
        (``all_finite``: an earlier statement found none, so no test per row)."""
        col = self.col(column.name)
        d = self.dialect
        if column.floating and not all_finite:
            return sa.case((d.finite(col, column), d.double(col, column)), else_=sa.null())
        if column.floating:
            return d.double(col, column)
        if column.category == STRING:
            return d.comparable(col, column.type_name)
        return col

    def as_double(self, column: ColumnInfo, all_finite: bool = False) -> ColumnElement[Any]:
        """The column as a double, for histograms and quantiles (compared as float64,
        like numpy); only decimals need a conversion that cannot fail."""
        v = self.value(column, all_finite)
        return self.dialect.to_double(v, column) if column.decimal else v

    def extreme(self, aggregate: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        """A min or max as selected: dates and timestamps through the dialect so that
        every value (BC, +-infinity) can be read back."""
        if column.temporal:
            return self.dialect.temporal_value(aggregate, column)
        return aggregate

    def _partition_filter(self, partition: PartitionConfig) -> ColumnElement[bool] | None:
        key = self.col(partition.key)
        base_key = self.table.c[partition.key]
        if partition.strategy == "latest":
            return key == sa.select(sa.func.max(base_key)).scalar_subquery()
        if partition.strategy == "recent_n":
            recent = (
                sa.select(base_key)
                .where(base_key.is_not(None))
                .distinct()
                .order_by(base_key.desc())
                .limit(partition.recent_n)
            )
            return key.in_(recent.scalar_subquery())
        if partition.strategy == "specific_values":
            values = list(partition.values or [])
            has_null = any(v is None for v in values)
            condition = key.in_([v for v in values if v is not None])
            return sa.or_(condition, key.is_(None)) if has_null else condition
        return None

    def _select(self, items: list[ColumnElement[Any]]) -> Select[Any]:
        group = [self.col(self.request.group_by).label("g")] if self.request.group_by else []
        stmt = sa.select(*group, *items).select_from(self.source)
        for condition in self.filters:
            stmt = stmt.where(condition)
        if self.request.group_by:
            stmt = stmt.group_by(self.col(self.request.group_by))
        return stmt

    def _chunked(self, groups: list[list[ColumnElement[Any]]]) -> list[Select[Any]]:
        """One statement per run of whole groups (a group: one column's items) that
        fits ``MAX_SELECT_ITEMS``: a column's items are never split across statements,
        because each is read back from one row."""
        chunks: list[list[ColumnElement[Any]]] = []
        for group in groups:
            if not chunks or (chunks[-1] and len(chunks[-1]) + len(group) > MAX_SELECT_ITEMS):
                chunks.append([])
            chunks[-1].extend(group)
        return [self._select(chunk) for chunk in chunks or [[]]]

    def _serial_items(
        self, i: int, column: ColumnInfo, distinct: bool = True
    ) -> list[ColumnElement[Any]]:
        """Exact distinct count (unless known already) and aggregate quantiles."""
        d, need = self.dialect, self.needs[column.name]
        items: list[ColumnElement[Any]] = []
        if "distinct" in need and distinct and column.name not in self.value_counted:
            items.append(sa.func.count(sa.distinct(self.col(column.name))).label(f"c{i}_distinct"))
        if "quantiles" in need and d.aggregate_quantiles:
            items.append(
                d.quantiles(self.as_double(column), QUANTILE_LEVELS).label(f"c{i}_quantiles")
            )
        return items

    # --- statement 1: aggregates ------------------------------------------------------
    def aggregate_statements(self) -> list[Select[Any]]:
        d = self.dialect
        groups: list[list[ColumnElement[Any]]] = [[sa.func.count().label("rows")]]
        for i, column in enumerate(self.request.columns):
            need = self.needs[column.name]
            col, v = self.col(column.name), self.value(column)
            items: list[ColumnElement[Any]] = [sa.func.count(col).label(f"c{i}_non_null")]
            groups.append(items)
            if not d.separate_serial_pass:
                items += self._serial_items(i, column)
            elif i in self.bits_in_aggregates():
                bits = d.distinct_bitmap(col, 0)
                assert bits is not None
                items.append(bits.label(f"c{i}_bits"))
            if "sketch" in need and self.native_sketches:
                items.append(d.sketch_aggregate(col, column).label(f"c{i}_sketch"))
            if "min" in need:
                items.append(self.extreme(sa.func.min(v), column).label(f"c{i}_min"))
            if "max" in need:
                items.append(self.extreme(sa.func.max(v), column).label(f"c{i}_max"))
            if "moments" in need:
                exact = self.exact_integer_sums and not column.floating
                items.append((d.exact_sum(v) if exact else d.sum(v)).label(f"c{i}_sum"))
                if column.floating:
                    items.append(sa.func.count(v).label(f"c{i}_finite"))
            if self.fold is not None:
                items += self._folded_items(i, column, v)
            if "zeros" in need:
                items.append(d.count_where(col == 0).label(f"c{i}_zeros"))
            if "lengths" in need:
                length = d.length(col)
                items.append(sa.func.min(length).label(f"c{i}_len_min"))
                items.append(sa.func.max(length).label(f"c{i}_len_max"))
                items.append(d.sum(length).label(f"c{i}_len_sum"))
        return self._chunked(groups)

    def _folded_items(
        self, i: int, column: ColumnInfo, v: ColumnElement[Any]
    ) -> list[ColumnElement[Any]]:
        """Statement 2's items for one column, in statement 1 (``Fold``)."""
        fold, d = self.fold, self.dialect
        assert fold is not None
        column_edges, center = fold.edges.get(column.name), fold.centers.get(column.name)
        if column_edges is None and center is None:
            return []
        items: list[ColumnElement[Any]] = [sa.func.count(v).label(f"c{i}_n2")]
        if column_edges is not None:
            x = self.as_double(column)
            items += d.histogram_aggregates(x, column_edges, f"c{i}_h", fold.max_rows)
        if center is not None:
            items += d.second_moment_aggregates(
                v, self._group_constant(center), center.integer, center.scale, f"c{i}_m"
            )
        return items

    def bits_in_aggregates(self) -> frozenset[int]:
        """Columns (by index) whose distinct count statement 1 takes as a bitmap
        (booleans, on dialects that keep distinct counts apart)."""
        d = self.dialect
        if not d.separate_serial_pass:
            return frozenset()
        return frozenset(
            i
            for i, column in enumerate(self.request.columns)
            if "distinct" in self.needs[column.name]
            and column.category == BOOLEAN
            and d.distinct_bitmap(self.col(column.name), 0) is not None
        )

    # --- statement 2: distribution ------------------------------------------------------
    def distribution_statements(
        self,
        edges: Mapping[str, tuple[float, ...]],
        centers: Mapping[str, Center],
        max_rows: int,
        all_finite: frozenset[str] = frozenset(),
        bitmaps: Mapping[str, int] | None = None,
    ) -> list[Select[Any]]:
        """Histogram counts for ``edges``, the second moment around ``centers``
        (column -> per-group center), and distinct bitmaps of small-range integer
        columns (column -> smallest value). Columns in ``all_finite`` held no NaN or
        infinity in statement 1."""
        d = self.dialect
        groups: list[list[ColumnElement[Any]]] = []
        for i, column in enumerate(self.request.columns):
            items: list[ColumnElement[Any]] = []
            groups.append(items)
            if bitmaps and column.name in bitmaps:
                bits = d.distinct_bitmap(self.col(column.name), bitmaps[column.name])
                if bits is not None:
                    items.append(bits.label(f"c{i}_bits"))
            column_edges, center = edges.get(column.name), centers.get(column.name)
            if not column_edges and center is None:
                continue
            v = self.value(column, column.name in all_finite)
            items.append(sa.func.count(v).label(f"c{i}_n2"))
            if column_edges:
                x = self.as_double(column, column.name in all_finite)
                items += d.histogram_aggregates(x, column_edges, f"c{i}_h", max_rows)
            if center is not None:
                items += d.second_moment_aggregates(
                    v, self._group_constant(center), center.integer, center.scale, f"c{i}_m"
                )
        groups = [g for g in groups if g]
        return self._chunked(groups) if groups else []

    def needs_distribution_pass(self) -> bool:
        return any(
            {"histogram", "m2"} & self.needs[c.name] and c.category == "numeric"
            for c in self.request.columns
        )

    def _group_constant(self, center: Center) -> ColumnElement[Any]:
        """A per-group constant: the value itself, or CASE over the group key."""

        def constant(value: float | int) -> ColumnElement[Any]:
            if center.integer:
                return sa.literal(int(value))
            return self.dialect._float(math.ldexp(value, -center.scale))

        if self.request.group_by is None:
            return constant(center.values[None])
        key = self.col(self.request.group_by)
        whens = [
            (key.is_(None) if g is None else key == g, constant(value))
            for g, value in center.values.items()
        ]
        return sa.case(*whens, else_=sa.null())

    # --- statement 3: serial aggregates ---------------------------------------------------
    def serial_statements(
        self, known_distinct: frozenset[int] = frozenset(), parts: int = 1
    ) -> list[Select[Any]]:
        """Distinct counts and quantiles, when the dialect keeps them apart. Columns in
        ``known_distinct`` (by index) have their distinct count from the cheaper
        statements already (all null, one value, a bitmap). ``parts``: columns dealt
        round-robin into that many statements, to run side by side."""
        if not self.dialect.separate_serial_pass:
            return []
        groups = [
            self._serial_items(i, column, distinct=i not in known_distinct)
            for i, column in enumerate(self.request.columns)
        ]
        groups = [g for g in groups if g]
        if not groups:
            return []
        dealt = [groups[k :: max(parts, 1)] for k in range(min(max(parts, 1), len(groups)))]
        return [stmt for hand in dealt for stmt in self._chunked(hand)]

    # --- distinct sketches, where no aggregate builds them -----------------------------
    def sketch_columns(self) -> list[int]:
        return [i for i, c in enumerate(self.request.columns) if "sketch" in self.needs[c.name]]

    def sketch_statements(self) -> list[Select[Any]]:
        """Per column needing a sketch, its registers: ``GROUP BY`` the low bits of each
        value's hash, with the smallest of the remaining bits (``profiling.sketch``).
        Rows ``(g, i, idx, bits)``, one per column (and group): ``idx`` and ``bits``
        are arrays, without the registers no value was hashed to (NULL: no values)."""
        if self.native_sketches:
            return []
        group = self.request.group_by
        parts = []
        for i in self.sketch_columns():
            column = self.request.columns[i]
            col = self.col(column.name)
            keys = [self.col(group).label("g")] if group else []
            hashed = (
                sa.select(self.dialect.sketch_hash(col, column).label("h"), *keys)
                .select_from(self.source)
                .where(col.is_not(None), *self.filters)
                .subquery()
            )
            h = hashed.c.h
            index = h.op("&")(sa.literal(REGISTERS - 1, sa.BigInteger))
            bits = h.op(">>")(sa.literal(PRECISION, sa.Integer)).op("&")(
                sa.literal(RANK_MASK, sa.BigInteger)
            )
            by = [hashed.c.g] if group else []
            registers = (
                sa.select(*by, index.label("idx"), sa.func.min(bits).label("bits"))
                .group_by(*by, index)
                .subquery()
            )
            outer = [registers.c.g] if group else []
            parts.append(
                sa.select(
                    *outer,
                    sa.literal(i).label("i"),
                    sa.func.array_agg(registers.c.idx).label("idx"),
                    sa.func.array_agg(registers.c.bits).label("bits"),
                ).group_by(*outer)
            )
        if not parts:
            return []
        return [parts[0] if len(parts) == 1 else _union_all(parts)]

    # --- statement 4: values -------------------------------------------------------------
    def top_values_statement(self) -> Select[Any] | None:
        d, k = self.dialect, self.request.top_values_k
        parts = []
        for i, column in enumerate(self.request.columns):
            if "top_values" not in self.needs[column.name] or column.name in self.value_counted:
                continue
            col = self.col(column.name)
            n = sa.func.count().label("n")
            text = d.top_value(col, column)
            # ties by the value in the column's own order (numbers numerically, text in
            # code-point order), the same rule on every engine
            inner = (
                sa.select(sa.literal(i).label("i"), text.label("value"), n)
                .select_from(self.source)
                .where(col.is_not(None), *self.filters)
                .group_by(col)
                .order_by(sa.func.count().desc(), self._order_key(column))
                .limit(k)
                .subquery()
            )
            parts.append(sa.select(inner.c.i, inner.c.value, inner.c.n))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)  # type: ignore[return-value]

    def _order_key(self, column: ColumnInfo) -> ColumnElement[Any]:
        col = self.col(column.name)
        if column.category == STRING:
            return self.dialect.comparable(col, column.type_name)
        return col

    def order_statistics_statement(self, fractions: Mapping[int, Sequence[float]]) -> Any:
        """Discrete quantiles (values at ranks) of the whole request, ungrouped, as one
        aggregate per column (column index -> fractions), for dialects that have one."""
        items = [
            self.dialect.order_statistics(
                self.as_double(self.request.columns[i]), list(levels)
            ).label(f"c{i}_os")
            for i, levels in fractions.items()
        ]
        stmt = sa.select(*items).select_from(self.source)
        for condition in self.filters:
            stmt = stmt.where(condition)
        return stmt

    def window_quantile_statement(self, positions: Mapping[int, Sequence[int]]) -> Any:
        """Order statistics at ``positions`` (column index -> 0-based ranks), for
        dialects without a quantile aggregate."""
        parts = []
        for i, ranks in positions.items():
            column = self.request.columns[i]
            v = self.value(column)
            rank = (sa.func.row_number().over(order_by=v) - 1).label("rn")
            inner = (
                sa.select(v.label("v"), rank)
                .select_from(self.source)
                .where(v.is_not(None), *self.filters)
                .subquery()
            )
            parts.append(
                sa.select(sa.literal(i).label("i"), inner.c.rn, inner.c.v).where(
                    inner.c.rn.in_(list(ranks))
                )
            )
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)

    # --- value counts (SQLite) -------------------------------------------------------
    def value_counts_statements(self, plans: Mapping[int, ValueCountPlan]) -> list[Any]:
        """Per column, its groups of equal values (``GROUP BY`` the column, once,
        materialized) and from them, weighted by each group's count: the distinct count,
        the top values, the groups holding the requested ranks (order statistics), the
        cumulative counts below histogram edges and the second moment. Where a sort per
        column is needed anyway (top values, quantiles), everything else about the
        column comes from the few groups instead of every row.

        Rows: ``(i, kind, v, n, a, b, c, h0, h1, ...)``; kind ``s`` (summary: n = distinct
        count, a = finite values counted, b/c = sums of weighted deviations and their
        squares, h* = cumulative counts like ``histogram_aggregates``), ``t`` (a top
        value v with its count n) and ``q`` (a group: value v, count n, a = values up
        to and including it)."""
        width = max((len(p.edges or ()) for p in plans.values()), default=0)
        statements: list[Any] = []
        items = sorted(plans.items())
        # three compound parts per column; SQLite allows 500 per statement
        for start in range(0, len(items), 150):
            parts: list[Any] = []
            for i, plan in items[start : start + 150]:
                parts += self._value_count_parts(i, plan, width)
            statements.append(parts[0] if len(parts) == 1 else _union_all(parts))
        return statements

    def _value_count_parts(self, i: int, plan: ValueCountPlan, width: int) -> list[Any]:
        d, column = self.dialect, self.request.columns[i]
        col = self.col(column.name)
        grouped = sa.select(col.label("v"), sa.func.count().label("n")).select_from(self.source)
        grouped = grouped.where(col.is_not(None), *self.filters).group_by(col)
        g = grouped.cte(f"g{i}").prefix_with("MATERIALIZED")
        v, n = g.c.v, g.c.n
        numeric = column.category == NUMERIC
        fv: ColumnElement[Any] = v
        if numeric and column.floating:
            fv = sa.case((d.finite(v, column), v), else_=sa.null())

        def pad(*values: Any) -> list[ColumnElement[Any]]:
            out = [sa.literal(x) if not isinstance(x, ColumnElement) else x for x in values]
            out += [sa.null()] * (7 + width - len(out))
            return [
                x.label(name) for x, name in zip(out, self._value_count_labels(width), strict=True)
            ]

        finite_n = sa.func.sum(sa.case((fv.is_not(None), n), else_=sa.null()))
        summary: list[Any] = [sa.func.count(), finite_n if numeric else sa.null()]
        if plan.center is not None:
            center = self._group_constant(plan.center)
            dev = d.deviation(fv, center, plan.center.integer, plan.center.scale)
            summary += [d.sum(n * dev), d.sum(n * dev * dev)]
        else:
            summary += [sa.null(), sa.null()]
        if plan.edges:
            x = d.as_float(fv)
            summary += [d.sum(sa.case((x < d._float(e), n), else_=0)) for e in plan.edges[:-1]]
            summary.append(d.sum(sa.case((x <= d._float(plan.edges[-1]), n), else_=0)))
        parts = [sa.select(*pad(i, "s", sa.null(), *summary)).select_from(g)]
        if plan.top_k:
            top = sa.select(v.label("v"), n.label("n")).order_by(n.desc(), v).limit(plan.top_k)
            top_q = top.subquery()
            parts.append(sa.select(*pad(i, "t", top_q.c.v, top_q.c.n)))
        if plan.ranks and numeric:
            cumulative = sa.func.sum(n).over(order_by=fv, rows=(None, 0))
            ordered = (
                sa.select(fv.label("v"), n.label("n"), cumulative.label("cum"))
                .where(fv.is_not(None))
                .subquery()
            )
            hit = sa.or_(
                *[sa.and_(ordered.c.cum - ordered.c.n <= r, ordered.c.cum > r) for r in plan.ranks]
            )
            parts.append(
                sa.select(*pad(i, "q", ordered.c.v, ordered.c.n, ordered.c.cum)).where(hit)
            )
        return parts

    @staticmethod
    def _value_count_labels(width: int) -> list[str]:
        return ["i", "kind", "v", "n", "a", "b", "c"] + [f"h{k}" for k in range(width)]

    # --- reading rows back ---------------------------------------------------------------
    @staticmethod
    def read(row: Mapping[str, Any], label: str) -> Any:
        return to_python(row.get(label))

    def read_value(self, row: Mapping[str, Any], label: str, column: ColumnInfo) -> Any:
        """A value of the column itself (a min, a max) in its canonical form."""
        raw = row.get(label)
        if column.temporal and raw is not None:
            return self.dialect.read_temporal(raw, column)
        return to_python(raw)


def _union_all(parts: list[Any]) -> Any:
    return sa.union_all(*parts)


def bitmap_low(column: ColumnInfo, low: Any, high: Any) -> int | None:
    """The offset for a distinct bitmap of an integer column with values in
    [low, high], or None when the range does not fit 64 bits."""
    integers = all(isinstance(x, int) and not isinstance(x, bool) for x in (low, high))
    if column.floating or column.category != NUMERIC or not integers or high - low > 63:
        return None
    return int(low)


def deviation_scale(low: float, high: float) -> int:
    """The power of two that keeps squared deviations of values in [low, high]
    inside float range: 0 for everything but extreme magnitudes or spreads."""
    magnitude = max(abs(low), abs(high))
    if not math.isfinite(magnitude):  # decimals beyond the double range: exact path
        return 1000
    if magnitude > 2.0**400:
        return min(math.frexp(magnitude)[1], 1000)
    if 0 < high - low < 2.0**-400:
        return max(math.frexp(high - low)[1], -1000)
    return 0


def exact_integer_center(low: Any, high: Any, mean: float) -> int | None:
    """The integer center for exact deviations of an integer column, or None when its
    values are not all integers or too far apart to subtract without overflow."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (low, high)):
        return None
    if high - low >= _EXACT_INTEGER_RANGE:
        return None
    return min(max(round(mean), low), high)
