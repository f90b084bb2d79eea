"""Partition bookkeeping for partial profiling: which stored partition a profiled
group is, what a fresh partition record holds, and when stored aggregates cannot be
merged with a fresh profile."""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from baselinr import jsonutil
from baselinr.connectors import ColumnInfo
from baselinr.incremental.detectors.base import (
    RELATION,
    PartitionSnapshot,
    TableSnapshot,
    partition_id_for,
    partition_label_for,
)
from baselinr.profiling.metrics import metrics_for, needs_of
from baselinr.profiling.profiler import TableProfile
from baselinr.profiling.state import ColumnState
from baselinr.storage.state import PartitionRecord, TableState


def column_states(profile: TableProfile) -> dict[str, ColumnState]:
    return {c.column.name: c.state for c in profile.columns}


def histogram_edges_of(profiles: Iterable[TableProfile]) -> dict[str, tuple[float, ...]]:
    edges: dict[str, tuple[float, ...]] = {}
    for p in profiles:
        edges.update(p.histogram_edges)
    return edges


def needs(column: ColumnInfo, metrics: Sequence[str]) -> frozenset[str]:
    """The partial aggregates ``metrics`` need of a column."""
    found = metrics_for(column.category, tuple(metrics))
    return frozenset().union(*(needs_of(m, metrics) for m in found))


def record(
    part: PartitionSnapshot,
    profile: TableProfile | None,
    run_id: str,
    profiled_at: dt.datetime,
    label: str | None = None,
) -> PartitionRecord:
    """A partition's record after it was profiled (``profile`` None: it had no rows)."""
    return PartitionRecord(
        partition_id=part.partition_id,
        label=label if label is not None else part.label,
        value=part.value,
        fingerprint=part.fingerprint,
        row_count=profile.rows if profile is not None else 0,
        states=column_states(profile) if profile is not None else {},
        last_run_id=run_id,
        profiled_at=profiled_at,
    )


def appeared_record(
    pid: str, group: Any, profile: TableProfile, run_id: str, profiled_at: dt.datetime
) -> PartitionRecord:
    """A key value that appeared after detection: stored with no fingerprint, so the
    next plan sees it as changed."""
    return PartitionRecord(
        partition_id=pid,
        label=partition_label_for(group),
        value=jsonutil.encode_value(group),
        fingerprint=None,
        row_count=profile.rows,
        states=column_states(profile),
        last_run_id=run_id,
        profiled_at=profiled_at,
    )


def group_ids(snapshot: TableSnapshot) -> Callable[[Any], str | None]:
    """Group value of a grouped profile -> partition id (None: not a known partition)."""
    if snapshot.partition_mode != RELATION:
        return partition_id_for
    by_oid = {p.oid: p.partition_id for p in snapshot.partitions or ()}
    return lambda group: by_oid.get(int(group)) if group is not None else None


def merge_blocker(
    state: TableState | None,
    stored: Mapping[str, PartitionRecord],
    columns: Sequence[ColumnInfo],
    merged: Sequence[str],
    edges: Mapping[str, tuple[float, ...]],
    mode: str,
    changed: int,
) -> str | None:
    """Why stored partition aggregates cannot be merged with a fresh profile of the
    changed partitions, if so (the run is then full)."""
    if state is None or not stored:
        return "no stored partition aggregates"
    if state.metadata.get("columns") != [[c.name, c.type_name] for c in columns]:
        return "the table's columns changed since the aggregates were stored"
    names = {c.name for c in columns}
    for stored_record in stored.values():
        if stored_record.row_count and not names <= set(stored_record.states):
            return f"partition {stored_record.label} lacks aggregates for some columns"
    if mode == RELATION and changed > 1:
        # Child tables are profiled one by one; each would pick its own histogram
        # edges for a column that has none yet. One grouped pass picks common ones.
        unfixed = [
            c.name for c in columns if "histogram" in needs(c, merged) and c.name not in edges
        ]
        if unfixed:
            return f"histogram edges not fixed yet for {', '.join(unfixed)}"
    return None
