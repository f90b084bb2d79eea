"""The SQL of a profile: a small, fixed number of statements per table.

1. **aggregates** — one ``SELECT`` with every scalar aggregate of every column
   (counts, distinct counts, min/max, sum, second moment, lengths, and quantiles where
   the dialect has an aggregate for them);
2. **distribution** — only when needed: histogram counts against fixed bin edges, and
   the centered second moment on dialects without a stable variance aggregate;
3. **values** — only for ``top_values`` (and quantiles on SQLite).

Each statement covers all columns (split into chunks only when a dialect limits the
select list). Identifiers are always quoted by SQLAlchemy; no SQL is built from strings.
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
from baselinr.profiling.metrics import QUANTILE_LEVELS, metrics_for
from baselinr.profiling.state import Histogram

# Expressions per statement before we split by columns. Postgres allows 1664 target
# entries and SQLite 2000 result columns; stay well under both.
MAX_SELECT_ITEMS = 1000


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

    def needs(self, column: ColumnInfo) -> frozenset[str]:
        """The partial aggregates this column needs for the requested metrics."""
        needs: set[str] = {"non_null"}
        for metric in metrics_for(column.category, self.metrics):
            needs |= metric.needs
        if "histogram" in needs or "non_finite" in needs:
            needs.add("moments")  # the finite count is part of the moments
        if "histogram" in needs and column.name not in self.histogram_edges:
            needs |= {"min", "max"}
        if self.group_by is not None:
            needs -= {"quantiles", "top_values"}
        return frozenset(needs)


def choose_edges(low: float, high: float, bins: int) -> tuple[float, ...]:
    """Equal-width edges over [low, high]; a single value gets a unit-wide bin."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("histogram edges need finite bounds")
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = [low * (1 - k / bins) + high * (k / bins) for k in range(bins + 1)]
    edges[0], edges[-1] = low, high
    # Rounding can collapse edges of a tiny range; keep them strictly increasing.
    unique = [edges[0]]
    for e in edges[1:]:
        if e > unique[-1]:
            unique.append(e)
    if len(unique) < 2:
        unique = [low, math.nextafter(low, math.inf)]
    return tuple(unique)


def to_python(value: Any) -> Any:
    """Driver values -> plain Python numbers (Decimal becomes int or float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)
        return int(value) if value == value.to_integral_value() else float(value)
    return value


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

    # --- building blocks -----------------------------------------------------------
    def col(self, name: str) -> ColumnElement[Any]:
        return self.source.c[name]

    def value(self, column: ColumnInfo) -> ColumnElement[Any]:
        """The column as used for numeric aggregates: NULL for NaN and infinities."""
        col = self.col(column.name)
        if column.floating:
            return sa.case((self.dialect.finite(col), col), else_=sa.null())
        return col

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

    def _chunked(self, items: list[ColumnElement[Any]]) -> list[Select[Any]]:
        chunks = [items[i : i + MAX_SELECT_ITEMS] for i in range(0, len(items), MAX_SELECT_ITEMS)]
        return [self._select(chunk) for chunk in chunks or [[]]]

    # --- statement 1: aggregates ------------------------------------------------------
    def aggregate_statements(self) -> list[Select[Any]]:
        d = self.dialect
        items: list[ColumnElement[Any]] = [sa.func.count().label("rows")]
        for i, column in enumerate(self.request.columns):
            need = self.needs[column.name]
            col, v = self.col(column.name), self.value(column)
            items.append(sa.func.count(col).label(f"c{i}_non_null"))
            if "distinct" in need:
                items.append(sa.func.count(sa.distinct(col)).label(f"c{i}_distinct"))
            if "min" in need:
                items.append(sa.func.min(v).label(f"c{i}_min"))
            if "max" in need:
                items.append(sa.func.max(v).label(f"c{i}_max"))
            if "moments" in need:
                items.append(d.sum(v).label(f"c{i}_sum"))
                items.append(sa.func.count(v).label(f"c{i}_finite"))
                m2 = d.m2_expression(v)
                if m2 is not None:
                    items.append(m2.label(f"c{i}_m2"))
            if "zeros" in need:
                items.append(d.count_where(col == 0).label(f"c{i}_zeros"))
            if "lengths" in need:
                length = d.length(col)
                items.append(sa.func.min(length).label(f"c{i}_len_min"))
                items.append(sa.func.max(length).label(f"c{i}_len_max"))
                items.append(d.sum(length).label(f"c{i}_len_sum"))
            if "quantiles" in need and d.aggregate_quantiles:
                items.append(d.quantiles(v, QUANTILE_LEVELS).label(f"c{i}_quantiles"))
        return self._chunked(items)

    # --- statement 2: distribution ------------------------------------------------------
    def distribution_statements(
        self, edges: Mapping[str, tuple[float, ...]], means: Mapping[Any, Mapping[str, float]]
    ) -> list[Select[Any]]:
        """Histogram counts for ``edges`` and, where the dialect needs it, centered
        moments around ``means`` (group key -> column -> mean)."""
        d = self.dialect
        items: list[ColumnElement[Any]] = []
        for i, column in enumerate(self.request.columns):
            v = self.value(column)
            column_edges = edges.get(column.name)
            if column_edges:
                # Cumulative counts against each edge: n+1 comparisons per row, and
                # exactly numpy's semantics ([e_k, e_k+1), last bin closed).
                items.append(d.count_where(v < column_edges[0]).label(f"c{i}_h_under"))
                for k, edge in enumerate(column_edges[1:-1], start=1):
                    items.append(d.count_where(v < edge).label(f"c{i}_h_lt{k}"))
                items.append(d.count_where(v <= column_edges[-1]).label(f"c{i}_h_le"))
            if self._needs_centered_moments(column) and any(
                column.name in m for m in means.values()
            ):
                center = self._group_constant(
                    {g: m[column.name] for g, m in means.items() if column.name in m}
                )
                fv = d.as_float(v)
                items.append(d.sum(fv - center).label(f"c{i}_c1"))
                items.append(d.sum((fv - center) * (fv - center)).label(f"c{i}_c2"))
        return self._chunked(items) if items else []

    def _needs_centered_moments(self, column: ColumnInfo) -> bool:
        return not self.dialect.one_pass_variance and "moments" in self.needs[column.name]

    def needs_distribution_pass(self) -> bool:
        return any(
            "histogram" in self.needs[c.name] or self._needs_centered_moments(c)
            for c in self.request.columns
        )

    def _group_constant(self, values: Mapping[Any, float]) -> ColumnElement[Any]:
        """A per-group constant: the value itself, or CASE over the group key."""
        if self.request.group_by is None:
            return sa.literal(values[None], sa.Float)
        key = self.col(self.request.group_by)
        whens = [
            (key.is_(None) if g is None else key == g, sa.literal(value, sa.Float))
            for g, value in values.items()
        ]
        return sa.case(*whens, else_=sa.null())

    # --- statement 3: values -------------------------------------------------------------
    def top_values_statement(self) -> Select[Any] | None:
        d, k = self.dialect, self.request.top_values_k
        parts = []
        for i, column in enumerate(self.request.columns):
            if "top_values" not in self.needs[column.name]:
                continue
            col = self.col(column.name)
            n = sa.func.count().label("n")
            text = d.as_text(col)
            inner = (
                sa.select(sa.literal(i).label("i"), text.label("value"), n)
                .select_from(self.source)
                .where(col.is_not(None), *self.filters)
                .group_by(col)
                .order_by(sa.func.count().desc(), text)
                .limit(k)
                .subquery()
            )
            parts.append(sa.select(inner.c.i, inner.c.value, inner.c.n))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)  # type: ignore[return-value]

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

    # --- reading rows back ---------------------------------------------------------------
    @staticmethod
    def read(row: Mapping[str, Any], label: str) -> Any:
        return to_python(row.get(label))

    def histogram_from_row(
        self, row: Mapping[str, Any], index: int, edges: tuple[float, ...], finite: int
    ) -> Histogram:
        under = int(row[f"c{index}_h_under"] or 0)
        bins = len(edges) - 1
        cumulative = [under] + [int(row[f"c{index}_h_lt{k}"] or 0) for k in range(1, bins)]
        le_last = int(row[f"c{index}_h_le"] or 0)
        cumulative.append(le_last)
        counts = tuple(cumulative[k + 1] - cumulative[k] for k in range(bins))
        return Histogram(edges, counts, under, finite - le_last)
