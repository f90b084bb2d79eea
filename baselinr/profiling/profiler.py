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
from baselinr.errors import ProfilingError
from baselinr.profiling.edges import choose_edges, quantile_edges, quantile_ranks, skewed
from baselinr.profiling.metrics import NUMERIC, QUANTILE_LEVELS, compute_metrics, metrics_for
from baselinr.profiling.query import (
    Center,
    Fold,
    ProfileQuery,
    ProfileRequest,
    ValueCountPlan,
    bitmap_low,
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
from baselinr.profiling.sessions import Rows, SessionBudget, Statements
from baselinr.profiling.sketch import DistinctSketch
from baselinr.profiling.state import ColumnState, Histogram
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

    def means(self) -> dict[str, float]:
        """Each numeric column's mean, where finite (the next profile's centers)."""
        found = {}
        for c in self.columns:
            mean = c.state.mean if c.state.finite_count else None
            if mean is not None and math.isfinite(to_float(mean)):
                found[c.column.name] = to_float(mean)
        return found


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


def profile_groups(
    conn: Connection,
    dialect: Dialect,
    request: ProfileRequest,
    sessions: SessionBudget | None = None,
) -> tuple[dict[Any, TableProfile], int]:
    """Profile the request's rows, one profile per value of ``request.group_by``
    (a single ``None`` group without it). Returns the profiles and the number of
    SQL statements issued. With ``sessions`` (and a dialect that gains from it), the
    statements that do not need statement 1's figures run beside it on spare sessions."""
    run = Statements(conn, sessions if dialect.concurrent_statements else None)
    try:
        return _profile_groups(ProfileQuery(dialect, request), run), run.count
    finally:
        run.settle()


def _profile_groups(query: ProfileQuery, run: Statements) -> dict[Any, TableProfile]:
    dialect, request = query.dialect, query.request
    columns = request.columns
    if dialect.value_counts_pass and request.group_by is None:
        query.value_counted = frozenset(
            c.name for c in columns if {"top_values", "quantiles"} & query.needs[c.name]
        )
    counted_first = query.value_counted
    sketched = query.sketch_columns()
    if sketched:
        query.native_sketches = dialect.prepare_sketches(run.conn)
    # Exact distinct counts (the slowest statement: a sort per column, on one core),
    # distinct sketches and top values need nothing from statement 1: on spare sessions
    # they start now and run beside statements 1 and 2, the distinct counts split by
    # columns over the sessions left. (They then count columns that statement 1 would
    # have settled, at no cost in time.)
    early_sketch = run.fork(query.sketch_statements())
    top = query.top_values_statement() if request.group_by is None else None
    early_top = run.fork([top]) if top is not None else None
    early_serial = run.fork_each(
        query.serial_statements(query.bits_in_aggregates(), parts=run.spare())
    )

    # Statement 1: scalar aggregates (on a re-profile, with histograms and second
    # moments folded in). Chunks (very wide tables) are joined by group.
    query.fold = _fold(query)
    merged: dict[Any, dict[str, Any]] = defaultdict(dict)
    try:
        rows = [row for stmt in query.aggregate_statements() for row in run.rows(stmt)]
    except sa.exc.DBAPIError as exc:
        if dialect.sum_overflowed(exc):
            query.exact_integer_sums = False  # an integer sum beyond 64 bits: in floats
        elif query.fold is not None:
            # a deviation from the old mean overflowed, a decimal left the double
            # range: statement 2 takes them as it would have
            query.fold = None
            run.conn.rollback()
        else:
            raise
        rows = [row for stmt in query.aggregate_statements() for row in run.rows(stmt)]
    for row in rows:
        merged[row.pop("g", None)].update(row)
    partial: dict[Any, dict[str, dict[str, Any]]] = {
        group: {c.name: fields_from_row(query, row, i, c) for i, c in enumerate(columns)}
        for group, row in merged.items()
    }
    max_rows = sum(int(row.get("rows") or 0) for row in merged.values())
    folded_histograms, folded_moments = _read_fold(query, merged, partial)

    if max_rows == 0:  # nothing to histogram, count or sort
        for cols in partial.values():
            for column in columns:
                if "top_values" in query.needs[column.name]:
                    cols[column.name]["top_values"] = []
        return _profiles(request, merged, partial, {})

    # Statement 2: histograms against fixed edges and the second moment around the mean.
    # (Quantile edges of skewed columns take one statement before it, or come from the
    # value counts.)
    edges, skewed_columns = _histogram_edges(query, partial)
    if skewed_columns and dialect.value_counts_pass and request.group_by is None:
        query.value_counted |= {columns[i].name for i in skewed_columns}
    elif skewed_columns:
        edges.update(_quantile_edges(query, run, skewed_columns))
        skewed_columns = {}
    centers = _centers(query, partial)
    counted = query.value_counted
    all_finite = frozenset(
        c.name
        for c in columns
        if all(cols[c.name].get("non_finite") == 0 for cols in partial.values())
    )
    known = _known_distinct(query, partial)
    row_edges = {k: v for k, v in edges.items() if k not in counted | folded_histograms}
    row_centers = {k: v for k, v in centers.items() if k not in counted | folded_moments}
    second_pass = query.needs_distribution_pass() and bool(row_edges or row_centers)
    # small-range integers: a bitmap in statement 2 instead of a sort (not worth making
    # statement 2 for when statement 1 took its work)
    wanted = not early_serial and (second_pass or query.fold is None)
    bitmaps = _distinct_bitmaps(query, partial, known) if wanted else {}
    if second_pass or bitmaps:
        stmts = query.distribution_statements(row_edges, row_centers, max_rows, all_finite, bitmaps)
        for stmt in stmts:
            for row in run.rows(stmt):
                group = row.pop("g", None)
                cols = partial.get(group, {})
                for i, column in enumerate(columns):
                    if column.name not in cols:
                        continue
                    bitmap_from_row(row, i, cols[column.name])
                    if f"c{i}_n2" in row:
                        center = row_centers.get(column.name)
                        distribution_from_row(
                            query,
                            row,
                            i,
                            column,
                            cols[column.name],
                            row_edges,
                            # groups of one value have no center: their m2 is 0 already
                            center if center and group in center.values else None,
                            max_rows,
                        )

    # Statement 3: exact distinct counts and quantiles, where the dialect keeps them apart
    # (and the distinct count is not known from the statements above).
    if early_serial is not None:
        serial_rows = [row for part in early_serial for row in part.rows()]
    else:
        known_distinct = frozenset(
            i for i, c in enumerate(columns) if c.name in known or c.name in bitmaps
        ) | frozenset(i for i in range(len(columns)) if f"c{i}_bits" in _first(merged))
        serial_rows = [
            row for stmt in query.serial_statements(known_distinct) for row in run.rows(stmt)
        ]
    for row in serial_rows:
        cols = partial.get(row.pop("g", None), {})
        for i, column in enumerate(columns):
            if column.name in cols:
                serial_from_row(query, row, i, column, cols[column.name])

    if sketched and not query.native_sketches:
        _fill_sketches(query, partial, early_sketch.result() if early_sketch else None, run)

    # Statement 4: top values, and quantiles on dialects without an aggregate for them.
    if request.group_by is None and partial:
        fields = partial[None]
        if top is not None:
            found: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in early_top.result()[0] if early_top else run.rows(top):
                i = int(row["i"])
                text = value_text(query, row["value"], columns[i])
                found[i].append({"value": text, "count": int(row["n"])})
            for i, column in enumerate(columns):
                if "top_values" in query.needs[column.name] and column.name not in counted:
                    fields[column.name]["top_values"] = found.get(i, [])
        if not dialect.aggregate_quantiles:
            _window_quantiles(query, run, fields)
        if counted:
            plans = _value_count_plans(query, fields, edges, centers, counted_first, skewed_columns)
            _value_counts(query, run, fields, plans, edges, skewed_columns)

    return _profiles(request, merged, partial, edges)


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


def _fill_sketches(
    query: ProfileQuery,
    partial: Mapping[Any, Mapping[str, dict[str, Any]]],
    forked: list[Rows] | None,
    run: Statements,
) -> None:
    """Each group's column sketches from the rows of the sketch statement."""
    if forked is None:
        forked = [run.rows(stmt) for stmt in query.sketch_statements()]
    minima: dict[tuple[Any, int], list[tuple[Any, Any]]] = defaultdict(list)
    for rows in forked:
        for row in rows:
            if row["idx"] is not None:
                found = zip(row["idx"], row["bits"], strict=True)
                minima[(row.get("g"), int(row["i"]))].extend(found)
    family = query.dialect.sketch_family(False)
    columns = query.request.columns
    for (group, i), pairs in minima.items():
        if group in partial:
            partial[group][columns[i].name]["sketch"] = DistinctSketch.from_minima(family, pairs)


# A folded second moment is kept when the mean moved less than this many standard
# deviations from the center it was measured around: the sums of deviations then lose at
# most 1 + 8**2 times the digits of sums around the mean itself (Postgres's var_pop is
# shift-invariant anyway), far inside 1e-9 relative.
MAX_CENTER_SHIFT = 8.0


def _fold(query: ProfileQuery) -> Fold | None:
    """Statement 2's work that statement 1 can do on a re-profile: histograms of
    columns with fixed edges, second moments around the last profile's mean."""
    request = query.request
    if request.group_by is not None or not (request.histogram_edges or request.centers):
        return None
    edges: dict[str, tuple[float, ...]] = {}
    centers: dict[str, Center] = {}
    for column in request.columns:
        need, name = query.needs[column.name], column.name
        if column.category != NUMERIC or name in query.value_counted:
            continue  # SQLite's sorted columns take theirs from the value counts
        if "histogram" in need and name in request.histogram_edges:
            edges[name] = tuple(request.histogram_edges[name])
        mean = request.centers.get(name)
        if "m2" not in need or mean is None or not abs(mean) < 2.0**400:
            continue  # no mean, or one so large that squares of deviations overflow
        if column.floating:
            centers[name] = Center({None: mean}, False)
        elif abs(mean) < 2.0**62:
            centers[name] = Center({None: round(mean)}, True)
    if not edges and not centers:
        return None
    return Fold(edges, centers, max(request.expected_rows or 0, 1))


def _read_fold(
    query: ProfileQuery,
    merged: Mapping[Any, Mapping[str, Any]],
    partial: Mapping[Any, Mapping[str, dict[str, Any]]],
) -> tuple[frozenset[str], frozenset[str]]:
    """The folded histograms and second moments statement 1 settled (columns with
    histograms, columns with moments); the others are left to statement 2: counts
    beyond what the packing allowed, a mean too far from the center."""
    fold, fields = query.fold, partial.get(None)
    if fold is None or fields is None:
        return frozenset(), frozenset()
    row, d = merged[None], query.dialect
    histograms, moments = set(), set()
    for i, column in enumerate(query.request.columns):
        name, f = column.name, fields[column.name]
        if name not in fold.edges and name not in fold.centers:
            continue
        counted = int(row.get(f"c{i}_n2") or 0)
        if name in fold.edges:
            column_edges = fold.edges[name]
            try:
                under, counts, over = d.histogram_counts(
                    row, f"c{i}_h", column_edges, fold.max_rows, counted
                )
            except ProfilingError:
                pass  # the table grew past the packing: statement 2 counts them
            else:
                f["histogram"] = Histogram(column_edges, tuple(counts), under, over)
                histograms.add(name)
        center = fold.centers.get(name)
        if center is None:
            continue
        if counted < 2:
            moments.add(name)  # 0.0 or None already: no spread to measure
            continue
        moment = d.second_moment(row, f"c{i}_m", counted, center.scale)
        if moment is not None and _near(f, center.values[None], moment[0], counted):
            f["m2"], f["m2_exponent"] = moment
            moments.add(name)
    return frozenset(histograms), frozenset(moments)


def _near(f: Mapping[str, Any], center: float, m2: float, counted: int) -> bool:
    """Whether the new mean lies within ``MAX_CENTER_SHIFT`` standard deviations of
    the center the folded moment was measured around."""
    if f.get("sum") is None or not f.get("finite_count"):
        return False
    shift = to_float(f["sum"]) / f["finite_count"] - center
    if m2 <= 0.0:
        return shift == 0.0
    return shift * shift * counted <= MAX_CENTER_SHIFT**2 * m2


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
) -> tuple[dict[str, tuple[float, ...]], dict[int, tuple[float, float, int]]]:
    """Fixed edges from state where given; otherwise chosen from this profile (all
    groups together, so the groups' histograms can be merged): equal width, or for
    skewed columns the quantiles (``profiling.edges``), which need their order
    statistics first: those columns are returned apart (index -> (min, max, n))."""
    request = query.request
    edges: dict[str, tuple[float, ...]] = {}
    skewed_columns: dict[int, tuple[float, float, int]] = {}
    for i, column in enumerate(request.columns):
        if "histogram" not in query.needs[column.name]:
            continue
        if column.name in request.histogram_edges:
            edges[column.name] = tuple(request.histogram_edges[column.name])
            continue
        groups = [p[column.name] for p in partial.values()]
        lows = [to_float(f["min"]) for f in groups if f.get("min") is not None]
        highs = [to_float(f["max"]) for f in groups if f.get("max") is not None]
        # decimals beyond the double range have no float edges: no histogram
        if not (lows and highs and math.isfinite(min(lows)) and math.isfinite(max(highs))):
            continue
        low, high = min(lows), max(highs)
        n = sum(f.get("finite_count") or 0 for f in groups)
        total = sum(to_float(f["sum"]) for f in groups if f.get("sum") is not None)
        if n > 1 and skewed(low, high, total / n):
            skewed_columns[i] = (low, high, n)
        else:
            edges[column.name] = choose_edges(low, high, request.histogram_bins)
    return edges, skewed_columns


def _quantile_edges(
    query: ProfileQuery, run: Statements, columns: Mapping[int, tuple[float, float, int]]
) -> dict[str, tuple[float, ...]]:
    bins = query.request.histogram_bins
    ranks = {i: quantile_ranks(n, bins) for i, (_, _, n) in columns.items()}
    found: dict[int, list[float]] = defaultdict(list)
    if query.dialect.aggregate_quantiles:
        fractions = {i: [(r + 0.5) / columns[i][2] for r in rs] for i, rs in ranks.items()}
        for row in run.rows(query.order_statistics_statement(fractions)):
            for i in columns:
                found[i] = [to_float(to_python(v)) for v in row[f"c{i}_os"] or []]
    else:
        for row in run.rows(query.window_quantile_statement(ranks)):
            found[int(row["i"])].append(to_float(to_python(row["v"])))
    out = {}
    for i, (low, high, _) in columns.items():
        column = query.request.columns[i]
        out[column.name] = quantile_edges(low, high, found.get(i, []), bins)
    return out


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


def profile_table(
    conn: Connection,
    dialect: Dialect,
    request: ProfileRequest,
    sessions: SessionBudget | None = None,
) -> TableProfile:
    """Profile one table (all of it, a partition filter, or a sample)."""
    if request.group_by is not None:
        raise ValueError("profile_table profiles a whole table; use profile_groups")
    profiles, statements = profile_groups(conn, dialect, request, sessions)
    profile = profiles[None]
    return TableProfile(
        table=profile.table,
        rows=profile.rows,
        columns=profile.columns,
        statements=statements,
        sample_fraction=profile.sample_fraction,
        histogram_edges=profile.histogram_edges,
    )


def _quantile_ranks(n: int) -> set[int]:
    """The order statistics that linear-interpolation quantiles need."""
    ranks = set()
    for level in QUANTILE_LEVELS:
        h = (n - 1) * level
        ranks |= {math.floor(h), math.ceil(h)}
    return ranks


def _interpolated(n: int, stats: Mapping[int, float]) -> dict[str, float]:
    """Linear-interpolation quantiles (numpy's default) from order statistics."""
    result = {}
    for level in QUANTILE_LEVELS:
        h = (n - 1) * level
        lo, hi = math.floor(h), math.ceil(h)
        result[f"p{round(level * 100):02d}"] = stats[lo] + (h - lo) * (stats[hi] - stats[lo])
    return result


def _window_quantiles(
    query: ProfileQuery, run: Statements, fields: dict[str, dict[str, Any]]
) -> None:
    """Linear-interpolation quantiles from order statistics (numpy's default)."""
    positions: dict[int, set[int]] = {}
    for i, column in enumerate(query.request.columns):
        f = fields[column.name]
        if "quantiles" not in query.needs[column.name] or column.name in query.value_counted:
            continue
        n = f.get("finite_count") or 0
        if n == 0:
            f["quantiles"] = None
            continue
        positions[i] = _quantile_ranks(n)
    if not positions:
        return
    stmt = query.window_quantile_statement({i: sorted(r) for i, r in positions.items()})
    order_stats: dict[int, dict[int, float]] = defaultdict(dict)
    for row in run.rows(stmt):
        order_stats[int(row["i"])][int(row["rn"])] = float(to_python(row["v"]))
    for i in positions:
        f = fields[query.request.columns[i].name]
        f["quantiles"] = _interpolated(f["finite_count"], order_stats[i])


def _value_count_plans(
    query: ProfileQuery,
    fields: Mapping[str, Mapping[str, Any]],
    edges: Mapping[str, tuple[float, ...]],
    centers: Mapping[str, Center],
    counted_first: frozenset[str],
    skewed_columns: Mapping[int, tuple[float, float, int]],
) -> dict[int, ValueCountPlan]:
    request = query.request
    plans = {}
    for i, column in enumerate(request.columns):
        if column.name not in query.value_counted:
            continue
        need, f = query.needs[column.name], fields[column.name]
        n = f.get("finite_count") or 0
        ranks: set[int] = set()
        if "quantiles" in need and n:
            ranks |= _quantile_ranks(n)
        column_edges = edges.get(column.name)
        if i in skewed_columns:
            low, high, count = skewed_columns[i]
            ranks |= set(quantile_ranks(count, request.histogram_bins))
            column_edges = choose_edges(low, high, request.histogram_bins)  # the fallback
        plans[i] = ValueCountPlan(
            distinct="distinct" in need and column.name in counted_first,
            top_k=request.top_values_k if "top_values" in need else 0,
            ranks=tuple(sorted(ranks)),
            edges=column_edges if "histogram" in need else None,
            center=centers.get(column.name),
        )
    return plans


def _value_counts(
    query: ProfileQuery,
    run: Statements,
    fields: dict[str, dict[str, Any]],
    plans: Mapping[int, ValueCountPlan],
    edges: dict[str, tuple[float, ...]],
    skewed_columns: Mapping[int, tuple[float, float, int]],
) -> None:
    """Run the value-counts pass and fill in what it gives (see
    ``ProfileQuery.value_counts_statements``)."""
    columns, dialect = query.request.columns, query.dialect
    top: dict[int, list[dict[str, Any]]] = defaultdict(list)
    groups: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    summaries: dict[int, Mapping[str, Any]] = {}
    for stmt in query.value_counts_statements(plans):
        for row in run.rows(stmt):
            i, kind = int(row["i"]), row["kind"]
            if kind == "s":
                summaries[i] = row
            elif kind == "t":
                text = value_text(query, row["v"], columns[i])
                top[i].append({"value": text, "count": int(row["n"])})
            else:
                groups[i].append((to_float(to_python(row["v"])), int(row["n"]), int(row["a"])))
    for i, plan in plans.items():
        column, summary = columns[i], summaries.get(i, {})
        f = fields[column.name]
        if plan.distinct:
            f["distinct"] = int(summary.get("n") or 0)
        if plan.top_k:
            f["top_values"] = top.get(i, [])
        counted = int(summary.get("a") or 0)
        if plan.center is not None and counted:
            sums = {"m_d1": summary.get("b"), "m_d2": summary.get("c")}
            moment = dialect.second_moment(sums, "m", counted, plan.center.scale)
            f["m2"], f["m2_exponent"] = moment if moment is not None else (None, 0)
        stats = _order_statistics(plan.ranks, sorted(groups.get(i, [])))
        need = query.needs[column.name]
        if "quantiles" in need:
            n = f.get("finite_count") or 0
            f["quantiles"] = _interpolated(n, stats) if n else None
        if plan.edges is None:
            continue
        column_edges = plan.edges
        below: dict[float, int] = {}
        if i in skewed_columns:
            low, high, n = skewed_columns[i]
            bins = query.request.histogram_bins
            values = [stats[r] for r in quantile_ranks(n, bins)]
            column_edges = quantile_edges(low, high, values, bins)
            below = {v: cum - count for v, count, cum in groups.get(i, [])}
        edges[column.name] = column_edges
        if column_edges != plan.edges:  # quantile edges: counts from the groups
            cumulative = [0] + [below[e] for e in column_edges[1:-1]] + [counted]
            counts = [cumulative[k + 1] - cumulative[k] for k in range(len(column_edges) - 1)]
            f["histogram"] = Histogram(column_edges, tuple(counts), 0, 0)
            continue
        bins_row = {"h_under": summary.get("h0")}
        for k in range(1, len(column_edges) - 1):
            bins_row[f"h_lt{k}"] = summary.get(f"h{k}")
        bins_row["h_le"] = summary.get(f"h{len(column_edges) - 1}")
        under, counts, over = Dialect.histogram_counts(
            dialect, {k: int(v or 0) for k, v in bins_row.items()}, "h", column_edges, 0, counted
        )
        f["histogram"] = Histogram(column_edges, tuple(counts), under, over)


def _order_statistics(
    ranks: tuple[int, ...], groups: list[tuple[float, int, int]]
) -> dict[int, float]:
    """rank -> value, from groups (value, count, values up to and including it) sorted
    by value."""
    stats = {}
    for r in ranks:
        for value, count, cum in groups:
            if cum - count <= r < cum:
                stats[r] = value
                break
    return stats
