"""How one table is profiled, once the planner has decided (``TableDecision.strategy``):

- ``full``: one profile of the whole table (all requested metrics);
- ``partitioned_full``: a full profile that also stores every partition's mergeable
  aggregates, so later changes can be profiled partially: one grouped pass (by
  ``partition.key``, or by the leaf partition of a declaratively partitioned Postgres
  table) whose groups merge into the table's mergeable metrics, plus one table-level
  pass for the metrics partition aggregates cannot give;
- ``partial``: only the changed partitions are profiled; their stored aggregates are
  replaced, deleted partitions dropped, and all partitions merged. Metrics not in
  ``mergeable_metrics`` are carried from the run that last computed them (their result
  rows keep that run's ``profiled_at``; the run's metadata lists them under
  ``carried_metrics`` with ``carried_as_of``) — the planner plans a partial only when
  that is cheaper than a full profile;
- ``sample``: a profile of a sample; stored partition aggregates are kept.

Each strategy returns a ``ProfileWork``: the profile, the figures of the run (rows read,
row count, action carried out) and the state write-back, which the runner commits
with the results in one transaction. Nothing is written when a profile fails. With
incremental profiling off there is no state and nothing to write back.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from baselinr.catalog import TableRef, select_columns
from baselinr.config.effective import merged_metrics, profile_signature, requested_metrics
from baselinr.config.models import BaselinrConfig, PartitionConfig, SamplingConfig, TableEntry
from baselinr.connectors import ColumnInfo
from baselinr.context import BaselinrContext
from baselinr.errors import ProfilingError
from baselinr.incremental import partitions as parts
from baselinr.incremental.detectors.base import RELATION, TableSnapshot, partition_id_for
from baselinr.incremental.merge import compose, merge_partitions
from baselinr.incremental.plan import FULL, PARTIAL, PARTITIONED_FULL, SAMPLE, TableDecision
from baselinr.incremental.record import after_profile, state_metadata
from baselinr.profiling.metrics import estimated_metrics
from baselinr.profiling.profiler import TableProfile, profile_groups, profile_table
from baselinr.profiling.query import ProfileRequest
from baselinr.storage.state import PartitionRecord, StateStore


@dataclass(frozen=True)
class ProfileWork:
    """What a strategy produced, for the runner to commit with the run."""

    profile: TableProfile
    action: str  # what was carried out (a planned partial can turn out full)
    row_count: int
    rows_scanned: int  # rows of the table this run read
    metadata: dict[str, Any] = field(default_factory=dict)
    as_of: dict[str, dt.datetime] = field(default_factory=dict)  # carried metric -> when
    write_state: Callable[[Connection], None] = lambda conn: None


@dataclass(frozen=True)
class TableJob:
    """One table to profile: the decision and everything it needs from the config."""

    decision: TableDecision
    run_id: str
    entry: TableEntry
    columns: tuple[ColumnInfo, ...]
    metrics: tuple[str, ...]
    merged: tuple[str, ...]
    sampling: SamplingConfig | None
    plan_time: dt.datetime
    edges: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # what the last profile found: each column's mean and the row count (statement 1
    # then takes the histograms and second moments itself: the folded pass)
    centers: Mapping[str, float] = field(default_factory=dict)
    expected_rows: int | None = None

    @property
    def table(self) -> TableRef:
        return self.decision.ref

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m not in self.merged)


class TableProfiler:
    """Carries out decisions for one config. ``store`` is None when incremental
    profiling is off (no state to read or write back)."""

    def __init__(
        self, config: BaselinrConfig, context: BaselinrContext, store: StateStore | None
    ) -> None:
        self.config = config
        self.context = context
        self.store = store

    def run(
        self,
        conn: Connection,
        decision: TableDecision,
        run_id: str,
        sampling: SamplingConfig | None,
        plan_time: dt.datetime,
    ) -> ProfileWork:
        config = self.config
        entry = config.profiling.tables[decision.entry_index]
        metrics = requested_metrics(config.profiling, entry)
        all_columns = self.context.dialect.list_columns(conn, decision.schema, decision.table)
        if entry.partition and entry.partition.key not in {c.name for c in all_columns}:
            raise ProfilingError(
                f"partition key '{entry.partition.key}' is not a column of {decision.qualified}"
            )
        job = TableJob(
            decision=decision,
            run_id=run_id,
            entry=entry,
            columns=tuple(select_columns(all_columns, entry.columns)),
            metrics=metrics,
            merged=merged_metrics(config.incremental, metrics),
            sampling=sampling,
            plan_time=plan_time,
            **self._known_shape(decision, metrics),
        )
        work = self._carry_out(conn, job)
        estimated = estimated_metrics(metrics)
        if estimated:  # results say which values are estimates
            work.metadata["estimated_metrics"] = list(estimated)
        return work

    def _carry_out(self, conn: Connection, job: TableJob) -> ProfileWork:
        strategy = job.decision.strategy
        if strategy == SAMPLE:
            return self._plain(conn, job, keep_partitions=True)
        if strategy == PARTIAL:
            return self._partial(conn, job)
        if strategy == PARTITIONED_FULL:
            assert job.decision.snapshot is not None
            work = self._partitioned_full(conn, job, job.decision.snapshot)
            if work is not None:
                return work
        assert strategy in (FULL, PARTITIONED_FULL), strategy
        return self._plain(conn, job, keep_partitions=False)

    # --- preparation -------------------------------------------------------------------------
    def _known_shape(self, decision: TableDecision, metrics: Sequence[str]) -> dict[str, Any]:
        """What earlier profiles fixed or found: histogram edges (fixed once chosen),
        each column's mean and the row count (where statement 1 folds statement 2).
        From state, else from the latest stored run (read once)."""
        wanted_edges, wanted_centers = "histogram" in metrics, "stddev" in metrics
        if not (wanted_edges or wanted_centers):
            return {}
        state = decision.state
        meta = state.metadata if state is not None else {}
        edges = {k: tuple(float(e) for e in v) for k, v in meta.get("histogram_edges", {}).items()}
        centers = {k: float(v) for k, v in meta.get("centers", {}).items()}
        rows = state.row_count if state is not None else None
        if (wanted_edges and not edges) or "centers" not in meta:
            found = self.context.storage.reader.previous_profile(
                decision.schema, decision.table, database=decision.database
            )
            edges = edges or found.edges
            centers = centers if "centers" in meta else found.means
            rows = rows if rows is not None else found.row_count
        return {
            "edges": edges if wanted_edges else {},
            "centers": centers,
            "expected_rows": rows,
        }

    def _request(
        self,
        job: TableJob,
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
            centers=job.centers if "stddev" in metrics else {},
            expected_rows=job.expected_rows,
        )

    # --- full and sample: one profile of the table ---------------------------------------
    def _plain(
        self,
        conn: Connection,
        job: TableJob,
        *,
        keep_partitions: bool,
        notes: Mapping[str, Any] | None = None,
    ) -> ProfileWork:
        request = self._request(
            job, job.metrics, partition=job.entry.partition, sampling=job.sampling
        )
        profile = profile_table(conn, self.context.dialect, request, self.context.sessions)
        fraction = profile.sample_fraction
        row_count = round(profile.rows / fraction) if fraction else profile.rows
        action = SAMPLE if job.sampling is not None else FULL
        write_state = self._state_writer(
            job,
            profile,
            job.decision.snapshot_id,
            row_count,
            # a sample keeps the partition aggregates, which have the old columns
            partition_mode=self._previous(job, "partition_mode") if keep_partitions else None,
            fresh=job.sampling is None,
            columns_of_partitions=keep_partitions,
            clear_partitions=not keep_partitions,
        )
        return ProfileWork(
            profile, action, row_count, profile.rows, dict(notes or {}), {}, write_state
        )

    # --- a full profile that also stores every partition's aggregates ----------------------
    def _partitioned_full(
        self,
        conn: Connection,
        job: TableJob,
        snapshot: TableSnapshot,
        notes: Mapping[str, Any] | None = None,
    ) -> ProfileWork | None:
        relation = snapshot.partition_mode == RELATION
        group_by = self.context.dialect.relation_group_column if relation else None
        if group_by is None:
            group_by = job.entry.partition.key if job.entry.partition else None
        if group_by is None:
            return None
        groups, statements = profile_groups(
            conn,
            self.context.dialect,
            self._request(job, job.merged, group_by=group_by),
            self.context.sessions,
        )
        if not groups:
            return None  # an empty table: the plain profile is as cheap and simpler
        ids = parts.group_ids(snapshot)
        profiled: dict[str, TableProfile] = {}
        for group, part_profile in groups.items():
            pid = ids(group)
            if pid is None:
                return None  # a partition appeared after detection: profile plainly
            profiled[pid] = part_profile
        known = snapshot.partition_map()
        records = {
            pid: parts.record(part, profiled.get(pid), job.run_id, job.plan_time)
            for pid, part in known.items()
        }
        for group, part_profile in groups.items():  # key values that appeared since
            pid = ids(group)
            if pid is not None and pid not in known:
                records[pid] = parts.appeared_record(
                    pid, group, part_profile, job.run_id, job.plan_time
                )
        edges = {**job.edges, **parts.histogram_edges_of(groups.values())}
        rows, states = merge_partitions(records, job.columns, job.merged, edges)
        fresh = self._table_pass(conn, job, edges) if job.others else None
        if fresh is not None:
            statements += fresh.statements
            edges = {**edges, **fresh.histogram_edges}
        profile = compose(
            job.table, job.columns, job.metrics, job.merged, rows, states, fresh, {},
            statements, edges,
        )  # fmt: skip
        write_state = self._state_writer(
            job,
            profile,
            snapshot.snapshot_id,
            rows,
            partition_mode=snapshot.partition_mode,
            fresh=True,
            partitions=list(records.values()),
            replace_partitions=True,
        )
        metadata = {
            **(notes or {}),
            "merged_metrics": list(job.merged),
            "partitions_profiled": len(profiled),
        }
        return ProfileWork(profile, FULL, rows, rows, metadata, {}, write_state)

    # --- partial ---------------------------------------------------------------------------------
    def _partial(self, conn: Connection, job: TableJob) -> ProfileWork:
        scope = job.decision.partial
        assert scope is not None and self.store is not None
        decision = job.decision
        stored = self.store.partitions(decision.database, job.table)
        blocker = parts.merge_blocker(
            decision.state, stored, job.columns, job.merged, job.edges, scope.mode,
            len(scope.changed),
        )  # fmt: skip
        if blocker is not None:
            notes = {"partial_upgraded_to_full": blocker}
            snapshot = decision.snapshot
            work = self._partitioned_full(conn, job, snapshot, notes) if snapshot else None
            return work or self._plain(conn, job, keep_partitions=False, notes=notes)
        profiled, statements = self._profile_partitions(conn, job)
        deleted = {r.partition_id for r in scope.deleted}
        records = {pid: rec for pid, rec in stored.items() if pid not in deleted}
        fresh_records: list[PartitionRecord] = []
        relation = scope.mode == RELATION
        for part in scope.changed:
            pid = part.partition_id
            if pid in profiled or relation:  # an emptied child table stays, with no rows
                rec = parts.record(part, profiled.get(pid), job.run_id, job.plan_time)
                records[pid] = rec
                fresh_records.append(rec)
            else:  # gone since planning (key partitions exist only while they have rows)
                records.pop(pid, None)
                deleted.add(pid)
        if not any(r.row_count for r in records.values()):
            # Nothing left to merge: profiling the (now empty) table is trivial.
            return self._plain(
                conn, job, keep_partitions=False, notes={"partial_upgraded_to_full": "empty"}
            )
        edges = {**job.edges, **parts.histogram_edges_of(profiled.values())}
        rows, states = merge_partitions(records, job.columns, job.merged, edges)
        scanned = sum(p.rows for p in profiled.values())
        metadata: dict[str, Any] = {"merged_metrics": list(job.merged)}
        carried: Mapping[str, Mapping[str, Any]] = {}
        as_of: dict[str, dt.datetime] = {}
        fresh: TableProfile | None = None
        if job.others:
            source = self._carried_source(job)
            if source is None:
                # the run to carry from is gone: compute them, reading the whole table
                fresh = self._table_pass(conn, job, edges)
                statements += fresh.statements
                edges = {**edges, **fresh.histogram_edges}
                scanned = rows
            else:
                run_id, finished, carried = source
                as_of = {m: finished for m in job.others}
                metadata.update(
                    carried_metrics=list(job.others),
                    carried_as_of=finished.isoformat(),
                    carried_from_run_id=run_id,
                )
        profile = compose(
            job.table, job.columns, job.metrics, job.merged, rows, states, fresh, carried,
            statements, edges,
        )  # fmt: skip
        write_state = self._state_writer(
            job,
            profile,
            decision.snapshot_id,
            rows,
            partition_mode=scope.mode,
            fresh=fresh is not None,
            partitions=fresh_records,
            delete_partitions=sorted(deleted),
        )
        metadata.update(
            partitions_profiled=sorted(profiled),
            partitions_deleted=sorted(deleted),
            partitions_merged=len(records),
        )
        return ProfileWork(profile, PARTIAL, rows, scanned, metadata, as_of, write_state)

    def _profile_partitions(
        self, conn: Connection, job: TableJob
    ) -> tuple[dict[str, TableProfile], int]:
        """The changed partitions' mergeable aggregates: one statement set per child
        table, or one grouped pass over the changed key values."""
        scope = job.decision.partial
        assert scope is not None
        dialect = self.context.dialect
        profiled: dict[str, TableProfile] = {}
        if scope.mode == RELATION:
            statements = 0
            for part in scope.changed:
                assert part.relation is not None
                groups, n = profile_groups(
                    conn,
                    dialect,
                    self._request(job, job.merged, table=part.relation),
                    self.context.sessions,
                )
                statements += n
                if groups and groups[None].rows:
                    profiled[part.partition_id] = groups[None]
            return profiled, statements
        if not scope.changed:
            return profiled, 0
        key = job.entry.partition.key  # type: ignore[union-attr]
        only = PartitionConfig(
            key=key, strategy="specific_values", values=[p.key for p in scope.changed]
        )
        groups, statements = profile_groups(
            conn,
            dialect,
            self._request(job, job.merged, group_by=key, partition=only),
            self.context.sessions,
        )
        wanted = {p.partition_id for p in scope.changed}
        for group, part_profile in groups.items():
            pid = partition_id_for(group)
            if pid in wanted:
                profiled[pid] = part_profile
        return profiled, statements

    def _table_pass(
        self, conn: Connection, job: TableJob, edges: Mapping[str, tuple[float, ...]]
    ) -> TableProfile:
        """The metrics partition aggregates cannot give, over the whole table."""
        request = self._request(job, job.others, edges=edges)
        return profile_table(conn, self.context.dialect, request, self.context.sessions)

    def _carried_source(
        self, job: TableJob
    ) -> tuple[str, dt.datetime, dict[str, dict[str, Any]]] | None:
        """(run id, when it finished, its metrics) of the run whose non-mergeable
        metrics a partial carries, if it is still stored and completed."""
        state = job.decision.state
        since = (state.metadata.get("non_mergeable_as_of") if state else None) or {}
        run_id = since.get("run_id")
        reader = self.context.storage.reader
        run = reader.run(run_id) if run_id else None
        if run is None or not run.completed or run.finished_at is None:
            return None
        return run.run_id, run.finished_at, reader.run_metrics(run.run_id)

    # --- state write-back ----------------------------------------------------------------------
    def _previous(self, job: TableJob, key: str) -> Any:
        state = job.decision.state
        return state.metadata.get(key) if state else None

    def _state_writer(
        self,
        job: TableJob,
        profile: TableProfile,
        snapshot_id: str | None,
        row_count: int,
        *,
        partition_mode: str | None,
        fresh: bool,
        columns_of_partitions: bool = False,
        clear_partitions: bool = False,
        partitions: Sequence[PartitionRecord] = (),
        replace_partitions: bool = False,
        delete_partitions: Sequence[str] = (),
    ) -> Callable[[Connection], None]:
        store = self.store
        if store is None:
            return lambda conn: None
        decision = job.decision
        metadata = state_metadata(
            decision.state,
            signature=profile_signature(self.config.profiling, self.config.incremental, job.entry),
            columns=job.columns,
            edges={**job.edges, **profile.histogram_edges},
            centers=profile.means(),
            partition_mode=partition_mode,
            detector=self.context.detector.name,
            fresh_run_id=job.run_id if fresh else None,
        )
        if columns_of_partitions:
            metadata["columns"] = self._previous(job, "columns")
        state = after_profile(
            decision,
            self.config.incremental.adaptive_scheduling,
            run_id=job.run_id,
            profiled_at=job.plan_time,
            snapshot_id=snapshot_id,
            row_count=row_count,
            metadata=metadata,
        )
        database, table = decision.database, job.table

        def write(conn: Connection) -> None:
            store.write_table_state(conn, state)
            if clear_partitions:
                store.clear_partitions(conn, database, table)
            elif partitions or delete_partitions or replace_partitions:
                store.write_partitions(
                    conn,
                    database,
                    table,
                    list(partitions),
                    delete=delete_partitions,
                    replace_all=replace_partitions,
                )

        return write
