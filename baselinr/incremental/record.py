"""What executing a decision does to a table's state, and which events it emits.

Pure functions; the runner writes their results (``TableState``) and emits the events.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from baselinr.config.models import AdaptiveSchedulingConfig
from baselinr.connectors import ColumnInfo
from baselinr.events.types import (
    Event,
    ProfileDeferredCostCap,
    ProfileSampledCostCap,
    ProfileSkippedNoChange,
    ProfilingSkipped,
)
from baselinr.incremental import decide as reasons
from baselinr.incremental.plan import TableDecision
from baselinr.incremental.schedule import (
    current_interval,
    grown,
    pinned_interval,
    shrunk,
    staleness,
)
from baselinr.storage.state import TableState

# Reasons that mean "the data changed since the last profile".
CHANGE_REASONS = frozenset(
    {
        reasons.CHANGED,
        reasons.PARTITIONS_CHANGED,
        reasons.TOO_MANY,
        reasons.ALL_CHANGED,
        reasons.NO_PARTITION_STATE,
    }
)
COST_REASONS = frozenset({reasons.COST_ROWS, reasons.COST_BYTES})


def underlying_reason(decision: TableDecision) -> str:
    """The reason before a cost cap replaced it."""
    cap = decision.details.get("cost_cap")
    return str(cap["because"]) if cap else decision.reason


def interval_after_profile(
    adaptive: AdaptiveSchedulingConfig,
    state: TableState | None,
    pinned: int | None,
    decision: TableDecision,
) -> int | None:
    if not adaptive.enabled:
        return state.interval_minutes if state else None
    current = current_interval(adaptive, state, pinned)
    if state is None or state.last_profiled_at is None:
        return pinned if pinned is not None else adaptive.default_interval_minutes
    reason = underlying_reason(decision)
    if reason in CHANGE_REASONS:
        return shrunk(adaptive, current, pinned)
    if reason == reasons.TTL_EXPIRED:
        return grown(adaptive, current, pinned)
    return current


def state_metadata(
    previous: TableState | None,
    *,
    signature: str,
    columns: Sequence[ColumnInfo],
    edges: Mapping[str, Sequence[float]],
    centers: Mapping[str, float],
    partition_mode: str | None,
    detector: str,
    fresh_run_id: str | None,
) -> dict[str, Any]:
    """``TableState.metadata`` after a profile: what the planner compares next time
    (signature, columns, partition mode), the fixed histogram edges, the means (where
    the next profile measures deviations from), and the run that
    last computed the non-mergeable metrics (``fresh_run_id`` when this one did)."""
    carried_from = previous.metadata.get("non_mergeable_as_of") if previous else None
    return {
        "profile_signature": signature,
        "columns": [[c.name, c.type_name] for c in columns],
        "histogram_edges": {k: list(v) for k, v in edges.items()},
        "centers": dict(centers),
        "partition_mode": partition_mode,
        "detector": detector,
        "non_mergeable_as_of": {"run_id": fresh_run_id} if fresh_run_id else carried_from,
    }


def after_profile(
    decision: TableDecision,
    adaptive: AdaptiveSchedulingConfig,
    *,
    run_id: str,
    profiled_at: dt.datetime,
    snapshot_id: str | None,
    row_count: int,
    metadata: Mapping[str, Any],
) -> TableState:
    """The state after a profile of the decision's table was committed."""
    state = decision.state
    pinned = (
        pinned_interval(adaptive, decision.database, decision.ref) if adaptive.enabled else None
    )
    return TableState(
        database_name=decision.database,
        schema_name=decision.schema,
        table_name=decision.table,
        last_run_id=run_id,
        snapshot_id=snapshot_id,
        decision=decision.action,
        decision_reason=decision.reason,
        last_profiled_at=profiled_at,
        last_checked_at=profiled_at,
        interval_minutes=interval_after_profile(adaptive, state, pinned, decision),
        staleness_score=0.0,
        row_count=row_count,
        bytes_estimate=decision.estimated_bytes,
        cost_estimate=decision.estimated_cost,
        metadata=dict(metadata),
    )


def after_check(
    state: TableState | None,
    decision: TableDecision,
    adaptive: AdaptiveSchedulingConfig,
    pinned: int | None,
    now: dt.datetime,
) -> TableState:
    """The state after a skip or defer was carried out. ``last_profiled_at`` never moves."""
    if state is None:
        state = TableState(decision.database, decision.schema, decision.table)
    interval = state.interval_minutes
    checked = state.last_checked_at
    if adaptive.enabled:
        interval = current_interval(adaptive, state, pinned)
    if decision.reason == reasons.SNAPSHOT_MATCH:
        checked = now
        if adaptive.enabled:
            interval = grown(adaptive, interval or 0, pinned)
    elif decision.action == "defer":
        checked = now
    values: dict[str, Any] = {
        "decision": decision.action,
        "decision_reason": decision.reason,
        "last_checked_at": checked,
        "interval_minutes": interval,
        "staleness_score": staleness(state, interval, now) if interval is not None else None,
    }
    if decision.action == "defer":
        values.update(
            row_count=decision.estimated_rows
            if decision.estimated_rows is not None
            else state.row_count,
            bytes_estimate=decision.estimated_bytes
            if decision.estimated_bytes is not None
            else state.bytes_estimate,
            cost_estimate=decision.estimated_cost,
        )
    return TableState(**{**_fields(state), **values})


def _fields(state: TableState) -> dict[str, Any]:
    return {k: getattr(state, k) for k in state.__dataclass_fields__}


def decision_events(decision: TableDecision, run_id: str | None = None) -> list[Event]:
    """``ProfilingSkipped`` for every table that does not run, plus the specific event
    for no-change skips, cost-cap deferrals and cost-cap samples."""
    where: dict[str, Any] = {
        "schema_name": decision.schema,
        "table_name": decision.table,
        "action": decision.action,
        "reason": decision.reason,
        "snapshot_id": decision.snapshot_id,
    }
    cap = decision.details.get("cost_cap")
    out: list[Event] = []
    if decision.action in ("skip", "defer"):
        out.append(ProfilingSkipped(**where, details=_event_details(decision)))
    if decision.reason == reasons.SNAPSHOT_MATCH:
        out.append(ProfileSkippedNoChange(**where, last_run_id=decision.details.get("last_run_id")))
    if decision.action == "defer" and decision.reason in COST_REASONS:
        out.append(ProfileDeferredCostCap(**where, cost_cap=cap))
    if decision.action == "sample" and decision.reason in COST_REASONS:
        out.append(
            ProfileSampledCostCap(
                **where, run_id=run_id, cost_cap=cap, sample_fraction=decision.sample_fraction
            )
        )
    return out


def _event_details(decision: TableDecision) -> dict[str, Any]:
    keep = ("last_run_id", "last_profiled_at", "due_at", "interval_minutes", "cost_cap")
    return {k: decision.details[k] for k in keep if k in decision.details}
