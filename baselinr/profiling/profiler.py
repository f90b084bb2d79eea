"""Run the profile statements for one table (or its groups) and turn their rows into
column states; what statement 1 found decides what the later statements ask."""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo, Dialect
from baselinr.profiling.metrics import QUANTILE_LEVELS, compute_metrics, metrics_for
from baselinr.profiling.query import (
    Center,
    ProfileQuery,
    ProfileRequest,
    bitmap_low,
    choose_edges,
    deviation_scale,
    exact_integer_center,
    to_python,
)
from baselinr.profiling.readback import (
    bitmap_from_row,
    distribution_from_row,
    fields_from_row,
    serial_from_row,
    value_text,
)
from baselinr.profiling.state import ColumnState
from baselinr.values import to_float


@dataclass(frozen=True)
class ColumnProfile:
    column: ColumnInfo
    state: ColumnState
    metrics: dict[str, Any]


@dataclass(frozen=True)
class TableProfile:
    """The profile of one table (or of one group of its rows)."""

    table: TableRef
    rows: int
    columns: tuple[ColumnProfile, ...]
    statements: int = 0
    sample_fraction: float | None = None
    histogram_edges: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.column.name == name:
                return c
        raise KeyError(name)


def build_profile(
    table: TableRef,
    rows: int,
    columns: tuple[ColumnInfo, ...],
    states: Mapping[str, ColumnState],
    metric_names: tuple[str, ...],
    **extra: Any,
) -> TableProfile:
    """Metrics for each column from its state (used for fresh and merged profiles)."""
    profiles = tuple(
        ColumnProfile(
            c,
            states[c.name],
            compute_metrics(states[c.name], metrics_for(c.category, metric_names)),
        )
        for c in columns
    )
    return TableProfile(table=table, rows=rows, columns=profiles, **extra)


class _Counter:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.count = 0

    def rows(self, stmt: Any) -> list[dict[str, Any]]:
        self.count += 1
        return [dict(r) for r in self.conn.execute(stmt).mappings()]


def profile_groups(
    conn: Connection, dialect: Dialect, request: ProfileRequest
) -> tuple[dict[Any, TableProfile], int]:
    """Profile the request's rows, one profile per value of ``request.group_by``
    (a single ``None`` group without it). Returns the profiles and the number of
    SQL statements issued."""
    query = ProfileQuery(dialect, request)
    run = _Counter(conn)
    columns = request.columns

    # Statement 1: scalar aggregates. Chunks (very wide tables) are joined by group.
    merged: dict[Any, dict[str, Any]] = defaultdict(dict)
    try:
        rows = [row for stmt in query.aggregate_statements() for row in run.rows(stmt)]
    except sa.exc.DBAPIError as exc:
        if not dialect.sum_overflowed(exc):
            raise
        query.exact_integer_sums = False  # an integer sum beyond 64 bits: in floats
        rows = [row for stmt in query.aggregate_statements() for row in run.rows(stmt)]
    for row in rows:
        merged[row.pop("g", None)].update(row)
    partial: dict[Any, dict[str, dict[str, Any]]] = {
        group: {c.name: fields_from_row(query, row, i, c) for i, c in enumerate(columns)}
        for group, row in merged.items()
    }
    max_rows = sum(int(row.get("rows") or 0) for row in merged.values())

    if max_rows == 0:  # nothing to histogram, count or sort
        for cols in partial.values():
            for column in columns:
                if "top_values" in query.needs[column.name]:
                    cols[column.name]["top_values"] = []
        return _profiles(request, merged, partial, {}), run.count

    # Statement 2: histograms against fixed edges and the second moment around the mean.
    edges = _histogram_edges(query, partial)
    centers = _centers(query, partial)
    all_finite = frozenset(
        c.name
        for c in columns
        if all(cols[c.name].get("non_finite") == 0 for cols in partial.values())
    )
    known = _known_distinct(query, partial)
    bitmaps = _distinct_bitmaps(query, partial, known)
    if (query.needs_distribution_pass() and (edges or centers)) or bitmaps:
        stmts = query.distribution_statements(edges, centers, max_rows, all_finite, bitmaps)
        for stmt in stmts:
            for row in run.rows(stmt):
                group = row.pop("g", None)
                cols = partial.get(group, {})
                for i, column in enumerate(columns):
                    if column.name not in cols:
                        continue
                    bitmap_from_row(row, i, cols[column.name])
                    if f"c{i}_n2" in row:
                        center = centers.get(column.name)
                        distribution_from_row(
                            query,
                            row,
                            i,
                            column,
                            cols[column.name],
                            edges,
                            # groups of one value have no center: their m2 is 0 already
                            center if center and group in center.values else None,
                            max_rows,
                        )

    # Statement 3: exact distinct counts and quantiles, where the dialect keeps them apart
    # (and the distinct count is not known from the statements above).
    known_distinct = frozenset(
        i for i, c in enumerate(columns) if c.name in known or c.name in bitmaps
    ) | frozenset(i for i in range(len(columns)) if f"c{i}_bits" in _first(merged))
    for stmt in query.serial_statements(known_distinct):
        for row in run.rows(stmt):
            cols = partial.get(row.pop("g", None), {})
            for i, column in enumerate(columns):
                if column.name in cols:
                    serial_from_row(query, row, i, column, cols[column.name])

    # Statement 4: top values, and quantiles on dialects without an aggregate for them.
    if request.group_by is None and partial:
        fields = partial[None]
        top = query.top_values_statement()
        if top is not None:
            found: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in run.rows(top):
                i = int(row["i"])
                text = value_text(query, row["value"], columns[i])
                found[i].append({"value": text, "count": int(row["n"])})
            for i, column in enumerate(columns):
                if "top_values" in query.needs[column.name]:
                    fields[column.name]["top_values"] = found.get(i, [])
        if not dialect.aggregate_quantiles:
            _window_quantiles(query, run, fields)

    return _profiles(request, merged, partial, edges), run.count


def _profiles(
    request: ProfileRequest,
    merged: Mapping[Any, Mapping[str, Any]],
    partial: Mapping[Any, Mapping[str, dict[str, Any]]],
    edges: Mapping[str, tuple[float, ...]],
) -> dict[Any, TableProfile]:
    profiles = {}
    for group, cols in partial.items():
        rows = int(merged[group].get("rows") or 0)
        states = {name: ColumnState(rows=rows, **f) for name, f in cols.items()}
        profiles[group] = build_profile(
            request.table,
            rows,
            request.columns,
            states,
            request.metrics,
            sample_fraction=request.sampling.fraction
            if request.sampling and request.sampling.enabled
            else None,
            histogram_edges=dict(edges),
        )
    return profiles


def _first(rows: Mapping[Any, Mapping[str, Any]]) -> Mapping[str, Any]:
    return next(iter(rows.values()), {})


def _known_distinct(
    query: ProfileQuery, partial: Mapping[Any, Mapping[str, dict[str, Any]]]
) -> frozenset[str]:
    """Columns whose distinct count statement 1 settles in every group: no values
    (0), or min == max with nothing non-finite (1). Their counts are set here."""
    known = set()
    for column in query.request.columns:
        if "distinct" not in query.needs[column.name]:
            continue
        fields = [cols[column.name] for cols in partial.values()]
        if all(f["non_null"] == 0 for f in fields):
            known.add(column.name)
        elif all(
            f["non_null"] > 0
            and f.get("min") is not None
            and f.get("min") == f.get("max")
            # a float column may hold NaN or infinities besides its finite min/max
            and (not column.floating or f.get("non_finite") == 0)
            for f in fields
        ):
            for f in fields:
                f["distinct"] = 1
            known.add(column.name)
    return frozenset(known)


def _distinct_bitmaps(
    query: ProfileQuery,
    partial: Mapping[Any, Mapping[str, Mapping[str, Any]]],
    known: frozenset[str],
) -> dict[str, int]:
    """Integer columns of range < 64 whose distinct count statement 2 can take as a
    bitmap (column -> smallest value), on dialects that keep distinct counts apart."""
    if not query.dialect.separate_serial_pass:
        return {}
    bitmaps = {}
    for column in query.request.columns:
        if "distinct" not in query.needs[column.name] or column.name in known:
            continue
        lows = [c[column.name]["min"] for c in partial.values() if _has(c, column, "min")]
        highs = [c[column.name]["max"] for c in partial.values() if _has(c, column, "max")]
        if not lows or not highs:
            continue
        low = bitmap_low(column, min(lows), max(highs))
        if (
            low is not None
            and query.dialect.distinct_bitmap(query.col(column.name), low) is not None
        ):
            bitmaps[column.name] = low
    return bitmaps


def _histogram_edges(
    query: ProfileQuery, partial: Mapping[Any, Mapping[str, Mapping[str, Any]]]
) -> dict[str, tuple[float, ...]]:
    """Fixed edges from state where given, otherwise equal-width over this profile's
    range (all groups together, so the groups' histograms can be merged)."""
    edges: dict[str, tuple[float, ...]] = {}
    for column in query.request.columns:
        if "histogram" not in query.needs[column.name]:
            continue
        if column.name in query.request.histogram_edges:
            edges[column.name] = tuple(query.request.histogram_edges[column.name])
            continue
        lows = [to_float(p[column.name]["min"]) for p in partial.values() if _has(p, column, "min")]
        highs = [
            to_float(p[column.name]["max"]) for p in partial.values() if _has(p, column, "max")
        ]
        # decimals beyond the double range have no float edges: no histogram
        if lows and highs and math.isfinite(min(lows)) and math.isfinite(max(highs)):
            edges[column.name] = choose_edges(min(lows), max(highs), query.request.histogram_bins)
    return edges


def _has(fields: Mapping[str, Mapping[str, Any]], column: ColumnInfo, key: str) -> bool:
    return fields[column.name].get(key) is not None


def _centers(
    query: ProfileQuery, partial: Mapping[Any, Mapping[str, Mapping[str, Any]]]
) -> dict[str, Center]:
    """Per column needing a second moment: each group's mean (the nearest integer for
    integer columns whose deviations can be taken exactly)."""
    centers: dict[str, Center] = {}
    for column in query.request.columns:
        if "m2" not in query.needs[column.name] or column.category != "numeric":
            continue
        means = {
            group: to_float(cols[column.name]["sum"]) / cols[column.name]["finite_count"]
            for group, cols in partial.items()
            # one value has no spread: its m2 is 0 without asking
            if cols[column.name].get("finite_count", 0) > 1
            and cols[column.name].get("sum") is not None
        }
        if not means:
            continue
        lows = [c[column.name]["min"] for c in partial.values() if _has(c, column, "min")]
        highs = [c[column.name]["max"] for c in partial.values() if _has(c, column, "max")]
        integer = not column.floating and bool(lows) and bool(highs)
        if integer:
            low, high = min(lows), max(highs)
            exact = {g: exact_integer_center(low, high, m) for g, m in means.items()}
            if all(c is not None for c in exact.values()):
                centers[column.name] = Center(
                    {g: c for g, c in exact.items() if c is not None}, True
                )
                continue
        scale = deviation_scale(to_float(min(lows)), to_float(max(highs))) if lows and highs else 0
        centers[column.name] = Center(means, False, scale)
    return centers


def profile_table(conn: Connection, dialect: Dialect, request: ProfileRequest) -> TableProfile:
    """Profile one table (all of it, a partition filter, or a sample)."""
    if request.group_by is not None:
        raise ValueError("profile_table profiles a whole table; use profile_groups")
    profiles, statements = profile_groups(conn, dialect, request)
    profile = profiles[None]
    return TableProfile(
        table=profile.table,
        rows=profile.rows,
        columns=profile.columns,
        statements=statements,
        sample_fraction=profile.sample_fraction,
        histogram_edges=profile.histogram_edges,
    )


def _window_quantiles(
    query: ProfileQuery, run: _Counter, fields: dict[str, dict[str, Any]]
) -> None:
    """Linear-interpolation quantiles from order statistics (numpy's default)."""
    positions: dict[int, set[int]] = {}
    for i, column in enumerate(query.request.columns):
        f = fields[column.name]
        if "quantiles" not in query.needs[column.name]:
            continue
        n = f.get("finite_count") or 0
        if n == 0:
            f["quantiles"] = None
            continue
        ranks = set()
        for level in QUANTILE_LEVELS:
            h = (n - 1) * level
            ranks |= {math.floor(h), math.ceil(h)}
        positions[i] = ranks
    if not positions:
        return
    stmt = query.window_quantile_statement({i: sorted(r) for i, r in positions.items()})
    order_stats: dict[int, dict[int, float]] = defaultdict(dict)
    for row in run.rows(stmt):
        order_stats[int(row["i"])][int(row["rn"])] = float(to_python(row["v"]))
    for i in positions:
        column = query.request.columns[i]
        f = fields[column.name]
        n = f["finite_count"]
        stats = order_stats[i]
        result = {}
        for level in QUANTILE_LEVELS:
            h = (n - 1) * level
            lo, hi = math.floor(h), math.ceil(h)
            result[f"p{round(level * 100):02d}"] = stats[lo] + (h - lo) * (stats[hi] - stats[lo])
        f["quantiles"] = result
