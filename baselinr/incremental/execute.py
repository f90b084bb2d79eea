"""Carry out one incremental decision: profile what it says, merge partition
aggregates, and prepare the state write-back that commits with the run's results.

- ``full`` of a table whose partitions are tracked: one grouped pass computes every
  partition's mergeable aggregates (grouped by ``partition.key``, or by ``tableoid``
  for a declaratively partitioned Postgres table); the table's mergeable metrics are
  their merge; the other requested metrics come from one table-level pass.
- ``partial``: only the changed partitions are profiled; their stored aggregates are
  replaced, deleted partitions dropped, and all partitions merged. The other
  requested metrics (``distinct_count``, quantiles, ... and anything not listed in
  ``mergeable_metrics``) are recomputed over the table when it has at most
  ``recompute_non_mergeable_max_rows`` rows, otherwise carried from the run that last
  computed them: their result rows keep that run's ``profiled_at`` and the run's
  metadata lists them under ``carried_metrics`` with ``carried_as_of``.
- ``full`` otherwise, and ``sample``: a plain profile.

The state is written by ``ProfileWork.write_state`` inside the transaction that
stores the results; nothing is written if the profile fails.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

from sqlalchemy.engine import Connection

from baselinr import jsonutil
from baselinr.catalog import TableRef, select_columns
from baselinr.config.models import BaselinrConfig, PartitionConfig, SamplingConfig, TableEntry
from baselinr.connectors import ColumnInfo
from baselinr.context import BaselinrContext
from baselinr.errors import ProfilingError
from baselinr.incremental.detectors import RELATION, DetectTarget, TableSnapshot, detector_for
from baselinr.incremental.detectors.base import partition_id_for, partition_label_for
from baselinr.incremental.plan import TableDecision
from baselinr.incremental.record import interval_after_profile
from baselinr.incremental.schedule import pinned_interval
from baselinr.incremental.signature import (
    merged_metrics,
    partial_capable,
    profile_signature,
    requested_metrics,
)
from baselinr.incremental.state import PartitionRecord, StateStore, TableState
from baselinr.profiling.metrics import compute_metrics, metrics_for
from baselinr.profiling.profiler import ColumnProfile, TableProfile, profile_groups, profile_table
from baselinr.profiling.query import ProfileRequest
from baselinr.profiling.state import ColumnState, Histogram

# Group a partitioned Postgres table by the leaf partition each row lives in.
TABLEOID = "tableoid"


@dataclass(frozen=True)
class ProfileWork:
    profile: TableProfile
    action: str  # what was carried out (a partial can become a full; see metadata)
    row_count: int
    rows_scanned: int
    metadata: dict[str, Any]
    as_of: dict[str, dt.datetime]  # metric -> when it was computed, for carried metrics
    write_state: Callable[[Connection], None]


@dataclass(frozen=True)
class _Job:
    decision: TableDecision
    run_id: str
    table: TableRef
    entry: TableEntry
    columns: tuple[ColumnInfo, ...]
    metrics: tuple[str, ...]
    merged: tuple[str, ...]
    edges: Mapping[str, tuple[float, ...]]
    state: TableState | None
    plan_time: dt.datetime

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m not in self.merged)


@dataclass(frozen=True)
class _Merged:
    profile: TableProfile
    as_of: dict[str, dt.datetime]
    metadata: dict[str, Any]
    fresh_others: bool  # the non-merged metrics were computed in this run


class IncrementalExecutor:
    def __init__(self, config: BaselinrConfig, context: BaselinrContext, store: StateStore) -> None:
        self.config = config
        self.context = context
        self.store = store
        self.detector = detector_for(
            context.dialect.name, config.incremental.change_detection.connector_overrides
        )

    # --- entry point ---------------------------------------------------------------------
    def run(
        self,
        decision: TableDecision,
        run_id: str,
        sampling: SamplingConfig | None,
        plan_time: dt.datetime,
    ) -> ProfileWork:
        config = self.config
        entry = config.profiling.tables[decision.entry_index]
        table = TableRef(decision.schema, decision.table)
        metrics = requested_metrics(config, entry)
        state = self.store.table_state(decision.database, table)
        with self.context.connect() as conn:
            job = _Job(
                decision=decision,
                run_id=run_id,
                table=table,
                entry=entry,
                columns=self._columns(conn, entry, table),
                metrics=metrics,
                merged=merged_metrics(config, metrics),
                edges=self._edges(state, table, metrics),
                state=state,
                plan_time=plan_time,
            )
            if decision.action == "sample":
                return self._plain(conn, job, sampling, keep_partitions=True)
            notes: dict[str, Any] = {}
            if decision.action == "partial":
                stored = self.store.partitions(decision.database, table)
                blocker = _partial_blocker(job, stored)
                if blocker is None:
                    return self._partial(conn, job, stored)
                notes["partial_upgraded_to_full"] = blocker
            if partial_capable(config, entry) and (
                entry.partition is not None or self.detector.reports_relation_partitions
            ):
                key = entry.partition.key if entry.partition else None
                snapshot = self.detector.detect(
                    conn, [DetectTarget(table, key, entry.watermark_column)]
                ).get(table)
                if snapshot is not None and snapshot.reliable and snapshot.partitions is not None:
                    work = self._full_partitioned(conn, job, snapshot, notes)
                    if work is not None:
                        return work
            return self._plain(conn, job, None, keep_partitions=False, notes=notes)

    # --- preparation -------------------------------------------------------------------------
    def _columns(
        self, conn: Connection, entry: TableEntry, table: TableRef
    ) -> tuple[ColumnInfo, ...]:
        all_columns = self.context.dialect.list_columns(conn, table.schema, table.table)
        if entry.partition and entry.partition.key not in {c.name for c in all_columns}:
            raise ProfilingError(
                f"partition key '{entry.partition.key}' is not a column of {table.qualified}"
            )
        return tuple(select_columns(all_columns, entry.columns))

    def _edges(
        self, state: TableState | None, table: TableRef, metrics: Sequence[str]
    ) -> dict[str, tuple[float, ...]]:
        if "histogram" not in metrics:
            return {}
        stored = (state.metadata.get("histogram_edges") if state else None) or {}
        if stored:
            return {k: tuple(float(e) for e in v) for k, v in stored.items()}
        return self.context.storage.reader.histogram_edges(table.schema, table.table)

    def _request(
        self,
        job: _Job,
        metrics: Sequence[str],
        *,
        table: TableRef | None = None,
        group_by: str | None = None,
        partition: PartitionConfig | None = None,
        sampling: SamplingConfig | None = None,
        edges: Mapping[str, tuple[float, ...]] | None = None,
    ) -> ProfileRequest:
        return ProfileRequest(
            table=table or job.table,
            columns=job.columns,
            metrics=tuple(metrics),
            histogram_bins=self.config.profiling.histogram_bins,
            top_values_k=self.config.profiling.top_values_k,
            partition=partition,
            sampling=sampling,
            group_by=group_by,
            histogram_edges=dict(job.edges if edges is None else edges),
        )

    # --- plain profiles (full without partitions, sample) -----------------------------------
    def _plain(
        self,
        conn: Connection,
        job: _Job,
        sampling: SamplingConfig | None,
        *,
        keep_partitions: bool,
        notes: Mapping[str, Any] | None = None,
    ) -> ProfileWork:
        request = self._request(job, job.metrics, partition=job.entry.partition, sampling=sampling)
        profile = profile_table(conn, self.context.dialect, request)
        row_count = (
            round(profile.rows / profile.sample_fraction)
            if profile.sample_fraction
            else profile.rows
        )
        previous = dict(job.state.metadata) if job.state else {}
        meta = self._state_metadata(
            job,
            profile,
            partition_mode=previous.get("partition_mode") if keep_partitions else None,
            fresh_others=sampling is None,
        )
        if keep_partitions:  # the stored partition aggregates still have the old columns
            meta["columns"] = previous.get("columns")
        state = self._table_state(job, job.decision.snapshot_id, row_count, meta)
        database = job.decision.database

        def write_state(conn: Connection) -> None:
            self.store.write_table_state(conn, state)
            if not keep_partitions:
                self.store.clear_partitions(conn, database, job.table)

        action = "sample" if sampling is not None else "full"
        return ProfileWork(
            profile, action, row_count, profile.rows, dict(notes or {}), {}, write_state
        )

    # --- full profile that also stores every partition's aggregates -------------------------
    def _full_partitioned(
        self,
        conn: Connection,
        job: _Job,
        snapshot: TableSnapshot,
        notes: dict[str, Any],
    ) -> ProfileWork | None:
        relation = snapshot.partition_mode == RELATION
        group_by = TABLEOID if relation else job.entry.partition.key  # type: ignore[union-attr]
        groups, statements = profile_groups(
            conn, self.context.dialect, self._request(job, job.merged, group_by=group_by)
        )
        if not groups:
            return None  # an empty table: the plain profile is as cheap and simpler
        by_group = _group_ids(snapshot, relation)
        parts = snapshot.partition_map()
        profiled: dict[str, TableProfile] = {}
        for group, part_profile in groups.items():
            pid = by_group(group)
            if pid is None:
                return None  # a partition appeared after detection: profile plainly
            profiled[pid] = part_profile
        records = {
            pid: PartitionRecord(
                partition_id=pid,
                label=part.label,
                value=part.value,
                fingerprint=part.fingerprint,
                row_count=profiled[pid].rows if pid in profiled else 0,
                states=_states(profiled[pid]) if pid in profiled else {},
                last_run_id=job.run_id,
                profiled_at=job.plan_time,
            )
            for pid, part in parts.items()
        }
        for group, part_profile in groups.items():  # key values that appeared since detection
            pid = by_group(group)
            if pid is not None and pid not in parts:
                records[pid] = _new_record(pid, group, part_profile, job)
        edges = {**job.edges, **_edges_of(groups.values())}
        merged = self._merge(conn, job, records, edges, statements, force_fresh=True)
        meta = self._state_metadata(
            job, merged.profile, partition_mode=snapshot.partition_mode, fresh_others=True
        )
        state = self._table_state(job, snapshot.snapshot_id, merged.profile.rows, meta)
        database = job.decision.database

        def write_state(conn: Connection) -> None:
            self.store.write_table_state(conn, state)
            self.store.write_partitions(
                conn, database, job.table, list(records.values()), replace_all=True
            )

        metadata = {**notes, **merged.metadata, "partitions_profiled": len(profiled)}
        if snapshot.snapshot_id != job.decision.snapshot_id:
            metadata["snapshot_id_at_profile"] = snapshot.snapshot_id
        rows = merged.profile.rows
        return ProfileWork(merged.profile, "full", rows, rows, metadata, merged.as_of, write_state)

    # --- partial ------------------------------------------------------------------------------
    def _partial(
        self, conn: Connection, job: _Job, stored: Mapping[str, PartitionRecord]
    ) -> ProfileWork:
        details = job.decision.details
        wanted = list(details.get("partitions", []))
        deleted = {d["id"] for d in details.get("deleted_partitions", [])}
        relation = details.get("partition_mode") == RELATION
        profiled: dict[str, TableProfile] = {}
        statements = 0
        dialect = self.context.dialect
        if relation:
            for part in wanted:
                child = TableRef(part["value"]["schema"], part["value"]["table"])
                groups, n = profile_groups(
                    conn, dialect, self._request(job, job.merged, table=child)
                )
                statements += n
                if groups and groups[None].rows:
                    profiled[part["id"]] = groups[None]
        elif wanted:
            key = job.entry.partition.key  # type: ignore[union-attr]
            values = [jsonutil.decode_value(p["value"]) for p in wanted]
            groups, statements = profile_groups(
                conn,
                dialect,
                self._request(
                    job,
                    job.merged,
                    group_by=key,
                    partition=PartitionConfig(key=key, strategy="specific_values", values=values),
                ),
            )
            ids = {p["id"]: p for p in wanted}
            for group, part_profile in groups.items():
                pid = partition_id_for(group)
                if pid in ids:
                    profiled[pid] = part_profile
        records = {pid: rec for pid, rec in stored.items() if pid not in deleted}
        fresh: list[PartitionRecord] = []
        for part in wanted:
            pid = part["id"]
            if pid in profiled or relation:
                rec = PartitionRecord(
                    partition_id=pid,
                    label=_label(part, stored.get(pid)),
                    value=part["value"],
                    fingerprint=part["fingerprint"],
                    row_count=profiled[pid].rows if pid in profiled else 0,
                    states=_states(profiled[pid]) if pid in profiled else {},
                    last_run_id=job.run_id,
                    profiled_at=job.plan_time,
                )
                records[pid] = rec
                fresh.append(rec)
            else:  # gone since planning (key partitions exist only while they have rows)
                records.pop(pid, None)
                deleted.add(pid)
        if not any(r.row_count for r in records.values()):
            # Nothing left to merge: profiling the (now empty) table is trivial.
            return self._plain(
                conn, job, None, keep_partitions=False, notes={"partial_upgraded_to_full": "empty"}
            )
        edges = {**job.edges, **_edges_of(profiled.values())}
        merged = self._merge(conn, job, records, edges, statements, force_fresh=False)
        meta = self._state_metadata(
            job,
            merged.profile,
            partition_mode=details.get("partition_mode"),
            fresh_others=merged.fresh_others,
        )
        state = self._table_state(job, job.decision.snapshot_id, merged.profile.rows, meta)
        database = job.decision.database

        def write_state(conn: Connection) -> None:
            self.store.write_table_state(conn, state)
            self.store.write_partitions(conn, database, job.table, fresh, delete=sorted(deleted))

        metadata = {
            **merged.metadata,
            "partitions_profiled": sorted(profiled),
            "partitions_deleted": sorted(deleted),
            "partitions_merged": len(records),
        }
        scanned = sum(p.rows for p in profiled.values())
        if merged.fresh_others and job.others:
            scanned += merged.profile.rows
        return ProfileWork(
            merged.profile,
            "partial",
            merged.profile.rows,
            scanned,
            metadata,
            merged.as_of,
            write_state,
        )

    # --- merging --------------------------------------------------------------------------------
    def _merge(
        self,
        conn: Connection,
        job: _Job,
        records: Mapping[str, PartitionRecord],
        edges: Mapping[str, tuple[float, ...]],
        statements: int,
        *,
        force_fresh: bool,
    ) -> _Merged:
        """The table profile from partition aggregates plus the non-merged metrics."""
        ordered = [records[pid] for pid in sorted(records) if records[pid].row_count]
        rows = sum(r.row_count or 0 for r in ordered)
        states = {
            c.name: reduce(ColumnState.merge, [r.states[c.name] for r in ordered])
            for c in job.columns
        }
        if "histogram" in job.merged:
            # A partition profiled before any edges existed had no finite values, so
            # it has no histogram; under the edges fixed since, it counts as all zeros.
            for c in job.columns:
                state = states[c.name]
                if c.name in edges and state.histogram is None and "histogram" in _needs(c, job):
                    bins = len(edges[c.name]) - 1
                    states[c.name] = replace(
                        state, histogram=Histogram(tuple(edges[c.name]), (0,) * bins)
                    )
        others = job.others
        other_profile: TableProfile | None = None
        carried: dict[str, dict[str, Any]] = {}
        as_of: dict[str, dt.datetime] = {}
        metadata: dict[str, Any] = {"merged_metrics": list(job.merged)}
        since = (job.state.metadata.get("non_mergeable_as_of") if job.state else None) or {}
        limit = self.config.incremental.partial_profiling.recompute_non_mergeable_max_rows
        fresh = True
        if others:
            source_run = (
                self.context.storage.reader.run(since["run_id"]) if since.get("run_id") else None
            )
            if force_fresh or rows <= limit or source_run is None or not source_run["finished_at"]:
                other_profile = profile_table(
                    conn, self.context.dialect, self._request(job, others, edges=edges)
                )
                statements += other_profile.statements
                edges = {**edges, **other_profile.histogram_edges}
            else:
                fresh = False
                carried = self.context.storage.reader.run_metrics(source_run["run_id"])
                when = source_run["finished_at"]
                as_of = {m: when for m in others}
                metadata.update(
                    carried_metrics=list(others),
                    carried_as_of=when.isoformat(),
                    carried_from_run_id=source_run["run_id"],
                    carried_because=f"{rows} rows > recompute_non_mergeable_max_rows ({limit})",
                )
        profile = _compose(job, rows, states, other_profile, carried, statements, edges)
        return _Merged(profile, as_of, metadata, fresh)

    # --- state ----------------------------------------------------------------------------------
    def _state_metadata(
        self,
        job: _Job,
        profile: TableProfile,
        *,
        partition_mode: str | None,
        fresh_others: bool,
    ) -> dict[str, Any]:
        previous = dict(job.state.metadata) if job.state else {}
        edges = {**{k: list(v) for k, v in job.edges.items()}}
        edges.update({k: list(v) for k, v in profile.histogram_edges.items()})
        meta: dict[str, Any] = {
            "profile_signature": profile_signature(self.config, job.entry),
            "columns": [[c.name, c.type_name] for c in job.columns],
            "histogram_edges": edges,
            "partition_mode": partition_mode,
            "detector": self.detector.name,
            "non_mergeable_as_of": previous.get("non_mergeable_as_of"),
        }
        if fresh_others:
            meta["non_mergeable_as_of"] = {"run_id": job.run_id}
        return meta

    def _table_state(
        self, job: _Job, snapshot_id: str | None, row_count: int, metadata: dict[str, Any]
    ) -> TableState:
        d = job.decision
        adaptive = self.config.incremental.adaptive_scheduling
        pinned = pinned_interval(adaptive, d.database, job.table) if adaptive.enabled else None
        return TableState(
            database_name=d.database,
            schema_name=d.schema,
            table_name=d.table,
            last_run_id=job.run_id,
            snapshot_id=snapshot_id,
            decision=d.action,
            decision_reason=d.reason,
            last_profiled_at=job.plan_time,
            last_checked_at=job.plan_time,
            interval_minutes=interval_after_profile(adaptive, job.state, pinned, d),
            staleness_score=0.0,
            row_count=row_count,
            bytes_estimate=d.estimated_bytes,
            cost_estimate=d.estimated_cost,
            metadata=metadata,
        )


# --- helpers -------------------------------------------------------------------------------------
def _partial_blocker(job: _Job, stored: Mapping[str, PartitionRecord]) -> str | None:
    """Why stored partition aggregates cannot be merged with a fresh profile, if so."""
    if job.state is None or not stored:
        return "no stored partition aggregates"
    columns = [[c.name, c.type_name] for c in job.columns]
    if job.state.metadata.get("columns") != columns:
        return "the table's columns changed since the aggregates were stored"
    names = {c.name for c in job.columns}
    for record in stored.values():
        if record.row_count and not names <= set(record.states):
            return f"partition {record.label} lacks aggregates for some columns"
    details = job.decision.details
    if details.get("partition_mode") == RELATION and len(details.get("partitions", [])) > 1:
        # Child tables are profiled one by one; each would pick its own histogram
        # edges for a column that has none yet. One grouped pass picks common ones.
        unfixed = [
            c.name for c in job.columns if "histogram" in _needs(c, job) and c.name not in job.edges
        ]
        if unfixed:
            return f"histogram edges not fixed yet for {', '.join(unfixed)}"
    return None


def _group_ids(snapshot: TableSnapshot, relation: bool) -> Callable[[Any], str | None]:
    if not relation:
        return partition_id_for
    by_oid = {p.value["oid"]: p.partition_id for p in snapshot.partitions or ()}
    return lambda group: by_oid.get(int(group)) if group is not None else None


def _label(part: Mapping[str, Any], stored: PartitionRecord | None) -> str | None:
    value = part.get("value")
    if isinstance(value, dict) and "table" in value:
        return str(value["table"])
    if stored is not None:
        return stored.label
    return partition_label_for(jsonutil.decode_value(value))


def _new_record(pid: str, group: Any, profile: TableProfile, job: _Job) -> PartitionRecord:
    return PartitionRecord(
        partition_id=pid,
        label=partition_label_for(group),
        value=jsonutil.encode_value(group),
        fingerprint=None,  # unknown: the next plan sees this partition as changed
        row_count=profile.rows,
        states=_states(profile),
        last_run_id=job.run_id,
        profiled_at=job.plan_time,
    )


def _needs(column: ColumnInfo, job: _Job) -> frozenset[str]:
    return frozenset().union(*(m.needs for m in metrics_for(column.category, job.merged)))


def _states(profile: TableProfile) -> dict[str, ColumnState]:
    return {c.column.name: c.state for c in profile.columns}


def _edges_of(profiles: Any) -> dict[str, tuple[float, ...]]:
    edges: dict[str, tuple[float, ...]] = {}
    for p in profiles:
        edges.update(p.histogram_edges)
    return edges


def _compose(
    job: _Job,
    rows: int,
    states: Mapping[str, ColumnState],
    other: TableProfile | None,
    carried: Mapping[str, Mapping[str, Any]],
    statements: int,
    edges: Mapping[str, tuple[float, ...]],
) -> TableProfile:
    columns = []
    for column in job.columns:
        state = states[column.name]
        values = compute_metrics(state, metrics_for(column.category, job.merged))
        if other is not None:
            fresh = other.column(column.name)
            values.update(fresh.metrics)
            state = replace(
                state,
                distinct=fresh.state.distinct,
                quantiles=fresh.state.quantiles,
                top_values=fresh.state.top_values,
            )
        else:
            old = carried.get(column.name, {})
            for metric in metrics_for(column.category, job.others):
                values[metric.name] = old.get(metric.name)
        ordered = {m.name: values.get(m.name) for m in metrics_for(column.category, job.metrics)}
        columns.append(ColumnProfile(column, state, ordered))
    return TableProfile(
        table=job.table,
        rows=rows,
        columns=tuple(columns),
        statements=statements,
        histogram_edges=dict(edges),
    )
