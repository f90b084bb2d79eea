"""Carry out a plan: profile the tables that need it, concurrently, and store results.

One table's failure is recorded as a failed run and does not stop the others.
"""

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from baselinr.catalog import TableRef, select_columns
from baselinr.config.models import BaselinrConfig, SamplingConfig
from baselinr.connectors import first_line
from baselinr.context import BaselinrContext
from baselinr.drift import DriftReport, evaluate_and_notify
from baselinr.errors import BaselinrError, ProfilingError
from baselinr.events import ProfilingCompleted, ProfilingFailed, ProfilingStarted
from baselinr.incremental.execute import IncrementalExecutor, ProfileWork
from baselinr.incremental.plan import IncrementalPlan, TableDecision
from baselinr.incremental.record import after_check, decision_events
from baselinr.incremental.schedule import pinned_interval
from baselinr.incremental.state import StateStore
from baselinr.planner import PlanBuilder, effective_sampling, state_store
from baselinr.profiling.metrics import METRICS
from baselinr.profiling.profiler import TableProfile, profile_table
from baselinr.profiling.query import ProfileRequest
from baselinr.storage.schema import utcnow
from baselinr.storage.writer import RunRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableOutcome:
    decision: TableDecision
    status: str  # completed | failed | skipped | deferred
    run_id: str | None = None
    profile: TableProfile | None = None
    row_count: int | None = None
    error: str | None = None
    duration_seconds: float = 0.0
    drift: DriftReport | None = None  # the run judged against its baseline
    # What was carried out when it differs from the plan (a partial that had to be full).
    executed_action: str | None = None
    # Skipped/deferred tables: the run whose results are still current, and its time.
    cached_run_id: str | None = None
    cached_at: dt.datetime | None = None

    @property
    def table(self) -> TableRef:
        return TableRef(self.decision.schema, self.decision.table)

    @property
    def action(self) -> str:
        return self.executed_action or self.decision.action


@dataclass
class BatchResult:
    batch_id: str
    plan: IncrementalPlan
    outcomes: list[TableOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[TableOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, int]:
        counts = Counter(o.action for o in self.outcomes)
        summary = {action: counts.get(action, 0) for action in self.plan.to_summary()}
        summary["failed"] = len(self.failed)
        return summary


def metric_names(config: BaselinrConfig, entry_index: int) -> tuple[str, ...]:
    entry = config.profiling.tables[entry_index]
    return tuple(entry.metrics or config.profiling.metrics)


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
    ) -> IncrementalPlan:
        return PlanBuilder(self.config, self.context).get_tables_to_run(entries, tables, now=now)

    def profile(
        self,
        entries: Iterable[int] | None = None,
        tables: Iterable[str] | None = None,
        *,
        now: dt.datetime | None = None,
        **kwargs: Any,
    ) -> BatchResult:
        return self.execute(self.plan(entries, tables, now=now), **kwargs)

    def cached_metrics(self, outcome: TableOutcome) -> dict[str, dict[str, Any]]:
        """column -> metric -> value of the run whose results a skipped or deferred
        table still has (empty when it was never profiled)."""
        run_id = outcome.cached_run_id or outcome.run_id
        return self.context.storage.reader.run_metrics(run_id) if run_id else {}

    @property
    def _incremental(self) -> bool:
        return self.config.incremental.enabled

    def _store(self) -> StateStore:
        return state_store(self.config, self.context)

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
        _ = self.context.storage  # fail fast (and migrate once) before any thread starts
        cached = self._record_not_run(plan) if self._incremental else {}

        def work(decision: TableDecision) -> TableOutcome:
            if on_start is not None:
                on_start(decision)
            outcome = cached.get(id(decision)) or self._run_one(
                decision, batch.batch_id, dagster_run_id, plan.created_at
            )
            if on_done is not None:
                on_done(outcome)
            return outcome

        workers = max(1, min(self.config.profiling.max_workers, len(plan.decisions)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="baselinr") as pool:
            batch.outcomes = list(pool.map(work, plan.decisions))
        return batch

    # --- tables that do not run: state bookkeeping and events, in one go ------------------
    def _record_not_run(self, plan: IncrementalPlan) -> dict[int, TableOutcome]:
        """Skips and deferrals: ``last_checked_at``, interval growth and the decision go to
        the state (``last_profiled_at`` never moves); ``ProfilingSkipped`` & co. are
        emitted. Returns the outcomes, keyed by ``id(decision)``."""
        idle = [d for d in plan.decisions if not d.runs]
        if not idle:
            return {}
        store = self._store()
        states = store.table_states(idle[0].database)
        adaptive = self.config.incremental.adaptive_scheduling
        outcomes: dict[int, TableOutcome] = {}
        updated = []
        for decision in idle:
            table = TableRef(decision.schema, decision.table)
            state = states.get(table)
            pinned = (
                pinned_interval(adaptive, decision.database, table) if adaptive.enabled else None
            )
            updated.append(after_check(state, decision, adaptive, pinned, plan.created_at))
            outcomes[id(decision)] = TableOutcome(
                decision,
                "skipped" if decision.action == "skip" else "deferred",
                cached_run_id=state.last_run_id if state else None,
                cached_at=state.last_profiled_at if state else None,
            )
        store.write_table_states(updated)
        self.context.bus.emit_many(e for d in idle for e in decision_events(d))
        return outcomes

    # --- one table -----------------------------------------------------------------------
    def _run_one(
        self,
        decision: TableDecision,
        batch_id: str,
        dagster_run_id: str | None,
        plan_time: dt.datetime | None = None,
    ) -> TableOutcome:
        if not decision.runs:
            return TableOutcome(decision, "skipped" if decision.action == "skip" else "deferred")
        run_id = uuid.uuid4().hex
        started = time.monotonic()
        sampling = self._sampling(decision)
        storage, bus = self.context.storage, self.context.bus
        storage.writer.start(
            RunRecord(
                run_id=run_id,
                batch_id=batch_id,
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
        )
        where: dict[str, Any] = {
            "schema_name": decision.schema,
            "table_name": decision.table,
            "run_id": run_id,
        }
        bus.emit(ProfilingStarted(action=decision.action, **where))
        if self._incremental:
            for event in decision_events(decision, run_id):
                bus.emit(event)
        executed = decision.action
        try:
            if self._incremental:
                work = IncrementalExecutor(self.config, self.context, self._store()).run(
                    decision, run_id, sampling, plan_time or utcnow()
                )
            else:
                work = self._plain_work(decision, sampling)
            profile, row_count, executed = work.profile, work.row_count, work.action
            storage.writer.complete(
                run_id,
                profile,
                row_count=row_count,
                metadata={
                    "statements": profile.statements,
                    "reason": decision.reason,
                    "row_count_estimated": profile.sample_fraction is not None,
                    **({"action": executed} if executed != decision.action else {}),
                    **work.metadata,
                },
                also=work.write_state,
                as_of=work.as_of,
                rows_scanned=work.rows_scanned,
                action=executed if executed != decision.action else None,
            )
        except Exception as exc:
            message = _describe_failure(exc)
            log.error("profiling %s failed: %s", decision.qualified, message)
            try:
                storage.writer.fail(run_id, message)
            finally:
                bus.emit(ProfilingFailed(action=decision.action, reason=message, **where))
            return TableOutcome(
                decision,
                "failed",
                run_id,
                error=message,
                duration_seconds=time.monotonic() - started,
            )
        duration = time.monotonic() - started
        bus.emit(
            ProfilingCompleted(
                action=executed,
                row_count=row_count,
                rows_scanned=work.rows_scanned,
                column_count=len(profile.columns),
                duration_seconds=duration,
                snapshot_id=decision.snapshot_id,
                **where,
            )
        )
        drift = evaluate_and_notify(self.context, run_id, decision.snapshot_id)
        return TableOutcome(
            decision,
            "completed",
            run_id,
            profile,
            row_count,
            duration_seconds=duration,
            drift=drift,
            executed_action=executed if executed != decision.action else None,
        )

    def _plain_work(self, decision: TableDecision, sampling: SamplingConfig | None) -> ProfileWork:
        """Without incremental state: just the profile."""
        profile = self._profile(decision, sampling)
        action = "sample" if sampling is not None else decision.action
        return ProfileWork(
            profile, action, _row_count(profile), profile.rows, {}, {}, lambda conn: None
        )

    def _sampling(self, decision: TableDecision) -> SamplingConfig | None:
        if decision.action != "sample":
            return None
        entry = self.config.profiling.tables[decision.entry_index]
        configured = effective_sampling(self.config, entry)
        fraction = decision.sample_fraction or (configured.fraction if configured else 0.1)
        base = configured or SamplingConfig()
        return base.model_copy(update={"enabled": True, "fraction": fraction})

    def _profile(self, decision: TableDecision, sampling: SamplingConfig | None) -> TableProfile:
        entry = self.config.profiling.tables[decision.entry_index]
        metrics = metric_names(self.config, decision.entry_index)
        dialect = self.context.dialect
        with self.context.connect() as conn:
            all_columns = dialect.list_columns(conn, decision.schema, decision.table)
            columns = select_columns(all_columns, entry.columns)
            if entry.partition and entry.partition.key not in {c.name for c in all_columns}:
                raise ProfilingError(
                    f"partition key '{entry.partition.key}' is not a column of {decision.qualified}"
                )
            edges = {}
            if any(METRICS["histogram"].applies_to(c.category) for c in columns) and (
                "histogram" in metrics
            ):
                edges = self.context.storage.reader.histogram_edges(decision.schema, decision.table)
            request = ProfileRequest(
                table=TableRef(decision.schema, decision.table),
                columns=tuple(columns),
                metrics=metrics,
                histogram_bins=self.config.profiling.histogram_bins,
                top_values_k=self.config.profiling.top_values_k,
                partition=entry.partition,
                sampling=sampling,
                histogram_edges=edges,
            )
            return profile_table(conn, dialect, request)


def _row_count(profile: TableProfile) -> int:
    if profile.sample_fraction:
        return round(profile.rows / profile.sample_fraction)
    return profile.rows


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, BaselinrError):
        return str(exc)
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"{type(exc).__name__}: {first_line(exc)}"
    return f"{type(exc).__name__}: {exc}"
