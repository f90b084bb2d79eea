"""Pure merging: a table profile from its partitions' aggregates, plus the metrics
partition aggregates cannot give (computed over the table, or carried from an earlier
run)."""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import reduce
from typing import Any

from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo
from baselinr.incremental.partitions import needs
from baselinr.profiling.metrics import compute_metrics, metrics_for
from baselinr.profiling.profiler import ColumnProfile, TableProfile
from baselinr.profiling.state import ColumnState, Histogram
from baselinr.storage.state import PartitionRecord


def merge_partitions(
    records: Mapping[str, PartitionRecord],
    columns: Sequence[ColumnInfo],
    merged: Sequence[str],
    edges: Mapping[str, tuple[float, ...]],
) -> tuple[int, dict[str, ColumnState]]:
    """(rows, column -> merged state) over the partitions that have rows, in id order."""
    ordered = [records[pid] for pid in sorted(records) if records[pid].row_count]
    rows = sum(r.row_count or 0 for r in ordered)
    states = {
        c.name: reduce(ColumnState.merge, [r.states[c.name] for r in ordered]) for c in columns
    }
    if "histogram" in merged:
        # A partition profiled before any edges existed had no finite values, so it
        # has no histogram; under the edges fixed since, it counts as all zeros.
        for c in columns:
            state = states[c.name]
            if c.name in edges and state.histogram is None and "histogram" in needs(c, merged):
                bins = len(edges[c.name]) - 1
                states[c.name] = replace(
                    state, histogram=Histogram(tuple(edges[c.name]), (0,) * bins)
                )
    return rows, states


def compose(
    table: TableRef,
    columns: Sequence[ColumnInfo],
    metrics: Sequence[str],
    merged: Sequence[str],
    rows: int,
    states: Mapping[str, ColumnState],
    fresh: TableProfile | None,
    carried: Mapping[str, Mapping[str, Any]],
    statements: int,
    edges: Mapping[str, tuple[float, ...]],
) -> TableProfile:
    """The table profile: ``merged`` metrics from the merged states, the others from a
    fresh table-level profile (``fresh``) or, without one, the ``carried`` values."""
    others = [m for m in metrics if m not in merged]
    profiles = []
    for column in columns:
        state = states[column.name]
        values = compute_metrics(state, metrics_for(column.category, tuple(merged)))
        if fresh is not None:
            now = fresh.column(column.name)
            values.update(now.metrics)
            state = replace(
                state,
                distinct=now.state.distinct,
                quantiles=now.state.quantiles,
                top_values=now.state.top_values,
            )
        else:
            old = carried.get(column.name, {})
            for metric in metrics_for(column.category, tuple(others)):
                values[metric.name] = old.get(metric.name)
        ordered = {m.name: values.get(m.name) for m in metrics_for(column.category, tuple(metrics))}
        profiles.append(ColumnProfile(column, state, ordered))
    return TableProfile(
        table=table,
        rows=rows,
        columns=tuple(profiles),
        statements=statements,
        histogram_edges=dict(edges),
    )
