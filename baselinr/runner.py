"""Carry out a plan: profile the tables that need it, concurrently, and store results.

One table's failure is recorded as a failed run and does not stop the others. Every
figure an outcome reports comes from the stored run (``StoredRun``), so the CLI,
events and Dagster metadata say what storage says.

Faults: runs in progress carry a heartbeat (``storage.liveness``) and each batch first
marks runs abandoned by killed processes ``failed``. When the result storage fails in
the middle of a batch, the batch goes on: every later table is still tried, what
could not be stored is an outcome ``failed`` with the reason, ``ProfilingFailed``
still reaches the hooks, and ``BatchResult.storage_problems`` says it in one line.
"""

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from baselinr.catalog import TableRef
from baselinr.config.effective import effective_sampling
from baselinr.config.models import BaselinrConfig, SamplingConfig
from baselinr.connectors import first_line
from baselinr.context import BaselinrContext
from baselinr.drift import DriftReport, evaluate_and_notify
from baselinr.errors import BaselinrError
from baselinr.events import ProfilingCompleted, ProfilingFailed, ProfilingStarted
from baselinr.incremental.plan import ACTIONS, IncrementalPlan, TableDecision
from baselinr.incremental.record import after_check, decision_events
from baselinr.incremental.schedule import pinned_interval
from baselinr.logs import get_logger
from baselinr.planner import PlanBuilder
from baselinr.profiling.profiler import TableProfile
from baselinr.storage.liveness import Heartbeat
from baselinr.storage.records import StoredBatch, StoredRun
from baselinr.storage.schema import utcnow
from baselinr.storage.writer import RunRecord
from baselinr.strategies import ProfileWork, TableProfiler

log = get_logger(__name__)


@dataclass(frozen=True)
class TableOutcome:
    """What a batch did with one table. ``run`` is this batch's stored run of it
    (completed or failed); ``cached`` the stored run whose results are still current
    for a table that was skipped or deferred."""

    decision: TableDecision
    status: str  # completed | failed | skipped | deferred
    run: StoredRun | None = None
    profile: TableProfile | None = None
    drift: DriftReport | None = None  # the run judged against its baseline
    cached: StoredRun | None = None
    # why a table failed when storage could not record it (then ``run`` is None, or
    # the run as last stored: still ``running``)
    failure: str | None = None

    @property
    def table(self) -> TableRef:
        return self.decision.ref

    @property
    def action(self) -> str:
        """What was carried out: the stored run's action, else the decision's."""
        return self.run.action if self.run is not None else self.decision.action

    @property
    def executed_action(self) -> str | None:
        """The action carried out when it differs from the plan (a partial that had to
        be full)."""
        return self.action if self.action != self.decision.action else None

    @property
    def run_id(self) -> str | None:
        return self.run.run_id if self.run is not None else None

    @property
    def error(self) -> str | None:
        if self.failure is not None:
            return self.failure
        return self.run.error if self.run is not None else None

    @property
    def row_count(self) -> int | None:
        """The table's rows as stored by this run, or by the run still current."""
        source = self.run or self.cached
        return source.row_count if source is not None else None

    @property
    def rows_scanned(self) -> int:
        return (self.run.rows_scanned or 0) if self.run is not None else 0

    @property
    def duration_seconds(self) -> float:
        return (self.run.duration_seconds or 0.0) if self.run is not None else 0.0

    @property
    def rows_avoided(self) -> int:
        """Rows not read: the part of the table a partial or sampled run left out, or
        the whole table when it was skipped or deferred."""
        if self.run is not None:
            return self.run.rows_avoided
        estimated = self.decision.estimated_rows
        return estimated if estimated is not None else (self.row_count or 0)

    @property
    def bytes_avoided(self) -> int:
        """The share of the table's estimated bytes that was not read."""
        size = self.decision.estimated_bytes
        if not size:
            return 0
        if self.run is None:
            return size
        rows = self.run.row_count
        return round(size * self.run.rows_avoided / rows) if rows else 0

    @property
    def cached_run_id(self) -> str | None:
        return self.cached.run_id if self.cached is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The table's line in a batch record (and in ``profile --json``)."""
        d = self.decision
        return {
            "table": d.qualified,
            "schema": d.schema,
            "name": d.table,
            "action": self.action,
            "planned_action": d.action,
            "reason": d.reason,
            "status": self.status,
            "run_id": self.run_id,
            "snapshot_id": d.snapshot_id,
            "row_count": self.row_count,
            "rows_scanned": self.rows_scanned,
            "rows_avoided": self.rows_avoided,
            "bytes_avoided": self.bytes_avoided,
            "cached_run_id": self.cached_run_id,
            "estimated_metrics": list(self.estimated_metrics),
        }

    @property
    def estimated_metrics(self) -> tuple[str, ...]:
        """Metrics of the stored run whose values are estimates (distinct sketches)."""
        stored = self.run.metadata.get("estimated_metrics") if self.run is not None else None
        return tuple(stored or ())


@dataclass
class BatchResult:
    batch_id: str
    plan: IncrementalPlan
    outcomes: list[TableOutcome] = field(default_factory=list)
    stored: StoredBatch | None = None  # the batch's record in storage
    # what the result storage could not record (empty when it never failed)
    storage_problems: list[str] = field(default_factory=list)

    def storage_summary(self) -> str | None:
        """One line about the storage failures of this batch, or None."""
        if not self.storage_problems:
            return None
        unstored = sum(1 for o in self.outcomes if o.failure is not None)
        parts = [f"{unstored} table(s) not recorded"] if unstored else []
        if self.stored is None:
            parts.append("batch record not stored")
        return (
            f"result storage failed during the batch ({', '.join(parts) or 'bookkeeping lost'}); "
            f"first error: {self.storage_problems[0]}"
        )

    @property
    def failed(self) -> list[TableOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, int]:
        counts = Counter(o.action for o in self.outcomes if o.status != "failed")
        summary = {action: counts.get(action, 0) for action in ACTIONS}
        summary["failed"] = len(self.failed)
        return summary

    def record(
        self, started: dt.datetime, environment: str, dagster_run_id: str | None
    ) -> StoredBatch:
        return StoredBatch(
            batch_id=self.batch_id,
            started_at=started,
            finished_at=utcnow(),
            tables=len(self.outcomes),
            counts=self.summary(),
            rows_scanned=sum(o.rows_scanned for o in self.outcomes),
            rows_avoided=sum(o.rows_avoided for o in self.outcomes if o.status != "failed"),
            bytes_avoided=sum(o.bytes_avoided for o in self.outcomes if o.status != "failed"),
            decisions=tuple(o.to_dict() for o in self.outcomes),
            environment=environment,
            dagster_run_id=dagster_run_id,
        )


class ProfileRunner:
    """Executes plans for one config. Thread-safe; reuse it across runs."""

    def __init__(self, config: BaselinrConfig, context: BaselinrContext | None = None) -> None:
        self.config = config
        self.context = context or BaselinrContext(config)

    def plan(
        self,
        entries: Iterable[int] | None = None,
        tables: Iterable[str] | None = None,
        *,
        now: dt.datetime | None = None,
        force_full: Iterable[int] = (),
    ) -> IncrementalPlan:
        return PlanBuilder(self.config, self.context).get_tables_to_run(
            entries, tables, now=now, force_full=force_full
        )

    def profile(
        self,
        entries: Iterable[int] | None = None,
        tables: Iterable[str] | None = None,
        *,
        now: dt.datetime | None = None,
        **kwargs: Any,
    ) -> BatchResult:
        return self.execute(self.plan(entries, tables, now=now), **kwargs)

    @property
    def _incremental(self) -> bool:
        return self.config.incremental.enabled

    def execute(
        self,
        plan: IncrementalPlan,
        *,
        batch_id: str | None = None,
        dagster_run_id: str | None = None,
        on_start: Callable[[TableDecision], None] | None = None,
        on_done: Callable[[TableOutcome], None] | None = None,
    ) -> BatchResult:
        batch = BatchResult(batch_id or uuid.uuid4().hex, plan)
        started = utcnow()
        storage = self.context.storage  # fail fast (and migrate once) before any thread starts
        self._reap_abandoned(batch)
        idle = self._record_not_run(plan, batch) if self._incremental else {}
        profiler = TableProfiler(
            self.config, self.context, self.context.state if self._incremental else None
        )
        heartbeat = Heartbeat(storage.engine)

        def work(decision: TableDecision) -> TableOutcome:
            if on_start is not None:
                on_start(decision)
            outcome = idle.get(id(decision)) or self._run_one(
                profiler, decision, batch, dagster_run_id, plan.created_at, heartbeat
            )
            if on_done is not None:
                on_done(outcome)
            return outcome

        workers = max(1, min(self.config.profiling.max_workers, len(plan.decisions)))
        with (
            heartbeat,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="baselinr") as pool,
        ):
            batch.outcomes = list(pool.map(work, plan.decisions))
        record = batch.record(started, self.config.environment, dagster_run_id)
        try:
            batch.stored = storage.writer.record_batch(record)
        except sa.exc.SQLAlchemyError as exc:
            self._storage_failed(batch, "batch record", exc)
        return batch

    def _storage_failed(self, batch: BatchResult, what: str, exc: BaseException) -> str:
        problem = f"{what}: {_describe_failure(exc)}"
        batch.storage_problems.append(problem)
        log.info("result storage failed (%s)", problem)
        return problem

    def _reap_abandoned(self, batch: BatchResult) -> None:
        """Runs left ``running`` by killed processes become ``failed`` (with
        ``ProfilingFailed``), so nothing counts them as in flight any more."""
        try:
            reaped = self.context.storage.writer.reap_abandoned()
        except sa.exc.SQLAlchemyError as exc:
            self._storage_failed(batch, "marking abandoned runs", exc)
            return
        for run in reaped:
            log.warning(
                "run %s of %s was abandoned (killed?): marked failed", run.run_id, run.qualified
            )
            self.context.bus.emit(
                ProfilingFailed(
                    action=run.action,
                    reason=run.error or "abandoned",
                    schema_name=run.schema_name,
                    table_name=run.table_name,
                    run_id=run.run_id,
                )
            )

    # --- tables that do not run: state bookkeeping and events, in one go ------------------
    def _record_not_run(self, plan: IncrementalPlan, batch: BatchResult) -> dict[int, TableOutcome]:
        """Skips and deferrals: ``last_checked_at``, interval growth and the decision go to
        the state (``last_profiled_at`` never moves); ``ProfilingSkipped`` & co. are
        emitted. Returns the outcomes, keyed by ``id(decision)``, with the stored run
        still current for each (one query)."""
        idle = [d for d in plan.decisions if not d.runs]
        if not idle:
            return {}
        adaptive = self.config.incremental.adaptive_scheduling
        updated = []
        for decision in idle:
            pinned = (
                pinned_interval(adaptive, decision.database, decision.ref)
                if adaptive.enabled
                else None
            )
            updated.append(after_check(decision.state, decision, adaptive, pinned, plan.created_at))
        cached: dict[str, StoredRun] = {}
        try:
            self.context.state.write_table_states(updated)
        except sa.exc.SQLAlchemyError as exc:
            self._storage_failed(batch, f"state of {len(updated)} skipped table(s)", exc)
        self.context.bus.emit_many(e for d in idle for e in decision_events(d))
        last = [d.state.last_run_id for d in idle if d.state and d.state.last_run_id]
        try:
            cached = self.context.storage.reader.runs_by_id(last)
        except sa.exc.SQLAlchemyError as exc:
            self._storage_failed(batch, "cached runs of skipped tables", exc)
        return {
            id(d): TableOutcome(
                d,
                "skipped" if d.action == "skip" else "deferred",
                cached=cached.get(d.state.last_run_id) if d.state and d.state.last_run_id else None,
            )
            for d in idle
        }

    # --- one table -----------------------------------------------------------------------
    def _run_one(
        self,
        profiler: TableProfiler,
        decision: TableDecision,
        batch: BatchResult,
        dagster_run_id: str | None,
        plan_time: dt.datetime,
        heartbeat: Heartbeat,
    ) -> TableOutcome:
        if not decision.runs:
            return TableOutcome(decision, "skipped" if decision.action == "skip" else "deferred")
        sampling = self._sampling(decision)
        storage, bus = self.context.storage, self.context.bus
        record = RunRecord(
            run_id=uuid.uuid4().hex,
            batch_id=batch.batch_id,
            database_name=decision.database,
            schema_name=decision.schema,
            table_name=decision.table,
            environment=self.config.environment,
            action=decision.action,
            started_at=utcnow(),
            snapshot_id=decision.snapshot_id,
            dagster_run_id=dagster_run_id,
            sample_fraction=sampling.fraction if sampling else None,
        )
        where: dict[str, Any] = {
            "schema_name": decision.schema,
            "table_name": decision.table,
            "run_id": record.run_id,
        }
        try:
            run = storage.writer.start(record)
        except sa.exc.SQLAlchemyError as exc:
            problem = self._storage_failed(batch, f"start of {decision.qualified}", exc)
            reason = f"not profiled: the result storage failed ({problem})"
            bus.emit(
                ProfilingFailed(action=decision.action, reason=reason, **{**where, "run_id": None})
            )
            return TableOutcome(decision, "failed", failure=reason)
        heartbeat.add(run.run_id)
        try:
            return self._profile_one(profiler, decision, run, sampling, plan_time, batch, where)
        finally:
            heartbeat.remove(run.run_id)

    def _profile_one(
        self,
        profiler: TableProfiler,
        decision: TableDecision,
        run: StoredRun,
        sampling: SamplingConfig | None,
        plan_time: dt.datetime,
        batch: BatchResult,
        where: dict[str, Any],
    ) -> TableOutcome:
        storage, bus = self.context.storage, self.context.bus
        bus.emit(ProfilingStarted(action=decision.action, **where))
        if self._incremental:
            for event in decision_events(decision, run.run_id):
                bus.emit(event)
        try:
            with self.context.sessions.held(), self.context.connect() as conn:
                work = profiler.run(conn, decision, run.run_id, sampling, plan_time)
        except Exception as exc:
            message = _describe_failure(exc)
            log.error("profiling %s failed: %s", decision.qualified, message)
            return self._failed(decision, run, message, batch, where)
        try:
            run = storage.writer.complete(
                run,
                work.profile,
                row_count=work.row_count,
                rows_scanned=work.rows_scanned,
                action=work.action if work.action != decision.action else None,
                metadata=_run_metadata(decision, work),
                also=work.write_state,
                as_of=work.as_of,
            )
        except sa.exc.SQLAlchemyError as exc:
            problem = self._storage_failed(batch, f"results of {decision.qualified}", exc)
            return self._failed(
                decision,
                run,
                f"profiled, but the results could not be stored ({problem})",
                batch,
                where,
            )
        bus.emit(
            ProfilingCompleted(
                action=run.action,
                row_count=run.row_count,
                rows_scanned=run.rows_scanned,
                column_count=run.column_count or 0,
                duration_seconds=run.duration_seconds or 0.0,
                snapshot_id=run.snapshot_id,
                **where,
            )
        )
        drift = evaluate_and_notify(self.context, run.run_id, decision.snapshot_id)
        return TableOutcome(decision, "completed", run, work.profile, drift)

    def _failed(
        self,
        decision: TableDecision,
        run: StoredRun,
        message: str,
        batch: BatchResult,
        where: dict[str, Any],
    ) -> TableOutcome:
        """The run stored as failed; if storage cannot take even that, the outcome
        carries the reason and the run stays ``running`` until a later batch finds
        it abandoned. ``ProfilingFailed`` goes to the hooks either way."""
        try:
            stored = self.context.storage.writer.fail(run, message)
            outcome = TableOutcome(decision, "failed", stored)
        except sa.exc.SQLAlchemyError as exc:
            self._storage_failed(batch, f"failure of {decision.qualified}", exc)
            outcome = TableOutcome(decision, "failed", run, failure=message)
        self.context.bus.emit(ProfilingFailed(action=decision.action, reason=message, **where))
        return outcome

    def _sampling(self, decision: TableDecision) -> SamplingConfig | None:
        if decision.action != "sample":
            return None
        entry = self.config.profiling.tables[decision.entry_index]
        configured = effective_sampling(self.config.profiling, entry)
        fraction = decision.sample_fraction or (configured.fraction if configured else 0.1)
        base = configured or SamplingConfig()
        return base.model_copy(update={"enabled": True, "fraction": fraction})


def _run_metadata(decision: TableDecision, work: ProfileWork) -> dict[str, Any]:
    """``baselinr_runs.metadata``: how the run was made (beyond the contract columns)."""
    return {
        "statements": work.profile.statements,
        "reason": decision.reason,
        "row_count_estimated": work.profile.sample_fraction is not None,
        **({"action": work.action} if work.action != decision.action else {}),
        **({"estimated_bytes": decision.estimated_bytes} if decision.estimated_bytes else {}),
        **work.metadata,
    }


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, BaselinrError):
        return str(exc)
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"{type(exc).__name__}: {first_line(exc)}"
    return f"{type(exc).__name__}: {exc}"
