"""Run the profile statements for one table and turn their rows into column states."""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo, Dialect
from baselinr.profiling.metrics import QUANTILE_LEVELS, compute_metrics, metrics_for
from baselinr.profiling.query import ProfileQuery, ProfileRequest, choose_edges, to_python
from baselinr.profiling.state import ColumnState


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

    # Statement 1: all scalar aggregates. Chunks (very wide tables) are joined by group.
    merged: dict[Any, dict[str, Any]] = defaultdict(dict)
    for stmt in query.aggregate_statements():
        for row in run.rows(stmt):
            merged[row.pop("g", None)].update(row)

    partial: dict[Any, dict[str, dict[str, Any]]] = {}
    for group, row in merged.items():
        partial[group] = {}
        for i, column in enumerate(columns):
            partial[group][column.name] = _fields_from_row(query, row, i, column)

    # Histogram edges: fixed ones from state, otherwise from this profile's range.
    edges: dict[str, tuple[float, ...]] = {}
    for column in columns:
        if "histogram" not in query.needs[column.name]:
            continue
        if column.name in request.histogram_edges:
            edges[column.name] = tuple(request.histogram_edges[column.name])
            continue
        lows = [
            float(p[column.name]["min"])
            for p in partial.values()
            if p[column.name].get("min") is not None
        ]
        highs = [
            float(p[column.name]["max"])
            for p in partial.values()
            if p[column.name].get("max") is not None
        ]
        if lows and highs:
            edges[column.name] = choose_edges(min(lows), max(highs), request.histogram_bins)

    # Statement 2: histograms and (where the dialect has no stable variance) centered
    # second moments around each group's mean.
    means: dict[Any, dict[str, float]] = {}
    if not dialect.one_pass_variance:
        for group, cols in partial.items():
            means[group] = {
                name: f["sum"] / f["finite_count"]
                for name, f in cols.items()
                if f.get("finite_count") and f.get("sum") is not None
            }
    if query.needs_distribution_pass() and (edges or any(means.values())):
        for stmt in query.distribution_statements(edges, means):
            for row in run.rows(stmt):
                group = row.pop("g", None)
                for i, column in enumerate(columns):
                    f = partial.get(group, {}).get(column.name)
                    if f is None:
                        continue
                    if column.name in edges and f"c{i}_h_le" in row:
                        f["histogram"] = query.histogram_from_row(
                            row, i, edges[column.name], f.get("finite_count") or 0
                        )
                    if f"c{i}_c2" in row and f.get("finite_count"):
                        c1 = float(row[f"c{i}_c1"] or 0.0)
                        c2 = float(row[f"c{i}_c2"] or 0.0)
                        f["m2"] = max(c2 - c1 * c1 / f["finite_count"], 0.0)

    # Statement 3: top values, and quantiles on dialects without an aggregate for them.
    if request.group_by is None and partial:
        fields = partial[None]
        top = query.top_values_statement()
        if top is not None:
            found: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in run.rows(top):
                found[int(row["i"])].append({"value": row["value"], "count": int(row["n"])})
            for i, column in enumerate(columns):
                if "top_values" in query.needs[column.name]:
                    fields[column.name]["top_values"] = found.get(i, [])
        if not dialect.aggregate_quantiles:
            _window_quantiles(query, run, fields)

    profiles = {}
    for group, cols in partial.items():
        rows = int(merged[group].get("rows") or 0)
        states = {name: ColumnState(rows=rows, **f) for name, f in cols.items()}
        profiles[group] = build_profile(
            request.table,
            rows,
            columns,
            states,
            request.metrics,
            sample_fraction=request.sampling.fraction
            if request.sampling and request.sampling.enabled
            else None,
            histogram_edges=edges,
        )
    return profiles, run.count


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


def _fields_from_row(
    query: ProfileQuery, row: Mapping[str, Any], i: int, column: ColumnInfo
) -> dict[str, Any]:
    need = query.needs[column.name]
    read = query.read
    f: dict[str, Any] = {"non_null": int(read(row, f"c{i}_non_null") or 0)}
    if "distinct" in need:
        f["distinct"] = int(read(row, f"c{i}_distinct") or 0)
    if "min" in need:
        f["min"] = read(row, f"c{i}_min")
    if "max" in need:
        f["max"] = read(row, f"c{i}_max")
    if "moments" in need:
        finite = int(read(row, f"c{i}_finite") or 0)
        f["finite_count"] = finite
        total = read(row, f"c{i}_sum")
        f["sum"] = total if finite else None
        if f"c{i}_m2" in row:
            m2 = read(row, f"c{i}_m2")
            f["m2"] = float(m2) if m2 is not None else (0.0 if finite else None)
        elif finite:
            f["m2"] = 0.0 if finite == 1 else None
        f["non_finite"] = f["non_null"] - finite if column.floating else 0
    if "zeros" in need:
        f["zeros"] = int(read(row, f"c{i}_zeros") or 0)
    if "lengths" in need:
        f["length_min"] = read(row, f"c{i}_len_min")
        f["length_max"] = read(row, f"c{i}_len_max")
        length_sum = read(row, f"c{i}_len_sum")
        f["length_sum"] = int(length_sum) if length_sum is not None else None
    if "quantiles" in need and query.dialect.aggregate_quantiles:
        values = row.get(f"c{i}_quantiles")
        f["quantiles"] = _quantile_dict(values) if values is not None else None
    return f


def _quantile_dict(values: Any) -> dict[str, float]:
    return {
        f"p{round(level * 100):02d}": float(to_python(v))
        for level, v in zip(QUANTILE_LEVELS, values, strict=True)
    }


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
