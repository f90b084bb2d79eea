"""The decision tree (DESIGN §5), as pure functions of facts already gathered:
configuration, stored state and what the change detector saw.

1. not due under adaptive scheduling          -> skip  (fresh_within_interval)
2. snapshot equals the stored one, within TTL -> skip  (snapshot_match)
3. otherwise the table runs: ``full``, or ``partial`` when only some partitions
   changed and that is cheaper (a partial that would need a whole-table pass for
   non-mergeable metrics anyway becomes one full profile); entry sampling turns
   either into ``sample``
4. an estimate over the cost caps             -> fallback_strategy: sample | defer |
   run anyway with the overage recorded
No prior state, missing or unreliable metadata always mean ``full`` — never a skip.
Every decision carries the facts it was made from (snapshot, state) for the executor.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from baselinr.catalog import TableRef
from baselinr.config.models import IncrementalConfig
from baselinr.connectors.base import categorize
from baselinr.incremental.detectors.base import TableSnapshot
from baselinr.incremental.plan import PartialScope, TableDecision
from baselinr.incremental.schedule import current_interval, due_at
from baselinr.profiling.metrics import METRICS
from baselinr.storage.state import PartitionRecord, TableState

# reasons (documented in docs/incremental.md)
FRESH = "fresh_within_interval"
SNAPSHOT_MATCH = "snapshot_match"
NO_STATE = "no_prior_state"
UNRELIABLE = "metadata_unavailable"
CONFIG_CHANGED = "config_changed"
TTL_EXPIRED = "snapshot_ttl_expired"
CHANGED = "snapshot_changed"
PARTITIONS_CHANGED = "partitions_changed"
TOO_MANY = "too_many_changed_partitions"
ALL_CHANGED = "all_partitions_changed"
NO_PARTITION_STATE = "partition_state_missing"
COST_ROWS = "cost_cap_rows"
COST_BYTES = "cost_cap_bytes"
TABLE_PASS = "partial_not_cheaper"
FORCED = "forced"
# with incremental profiling off
INCREMENTAL_OFF = "incremental_disabled"
SAMPLING_CONFIGURED = "sampling_configured"


@dataclass(frozen=True)
class TableFacts:
    """Everything the decision needs about one table."""

    database: str
    table: TableRef
    entry_index: int
    signature: str  # of the entry's profiling config; a change forces a full profile
    sample_fraction: float | None  # entry sampling, when configured
    partial_capable: bool  # partitions may be profiled on their own
    state: TableState | None
    stored_partitions: Mapping[str, PartitionRecord] = field(default_factory=dict)
    pinned_interval: int | None = None
    #: requested metrics that partition aggregates cannot give (need a table pass)
    unmerged_metrics: tuple[str, ...] = ()
    forced: bool = False  # profile in full whatever the change metadata says


def _base(facts: TableFacts, **values: Any) -> dict[str, Any]:
    return {
        "database": facts.database,
        "schema": facts.table.schema,
        "table": facts.table.table,
        "entry_index": facts.entry_index,
        "state": facts.state,
        **values,
    }


def _state_details(state: TableState | None) -> dict[str, Any]:
    if state is None:
        return {}
    return {
        "last_run_id": state.last_run_id,
        "last_profiled_at": state.last_profiled_at.isoformat() if state.last_profiled_at else None,
    }


def signature_changed(facts: TableFacts) -> bool:
    """The profiling config changed since the table was last profiled."""
    state = facts.state
    return (
        state is not None
        and state.last_profiled_at is not None
        and state.metadata.get("profile_signature") != facts.signature
    )


def not_due(facts: TableFacts, config: IncrementalConfig, now: dt.datetime) -> TableDecision | None:
    """Step 1: a skip when adaptive scheduling says the table is not due yet."""
    adaptive = config.adaptive_scheduling
    state = facts.state
    if not adaptive.enabled or state is None or facts.forced:
        return None
    if signature_changed(facts):
        return None
    interval = current_interval(adaptive, state, facts.pinned_interval)
    due = due_at(state, interval)
    if due is None or now >= due:
        return None
    return TableDecision(
        **_base(facts),
        action="skip",
        reason=FRESH,
        snapshot_id=state.snapshot_id,
        estimated_rows=state.row_count,
        estimated_bytes=state.bytes_estimate,
        details={
            **_state_details(state),
            "interval_minutes": interval,
            "due_at": due.isoformat(),
            "pinned": facts.pinned_interval is not None,
        },
    )


def decide(
    facts: TableFacts,
    snapshot: TableSnapshot | None,
    config: IncrementalConfig,
    now: dt.datetime,
) -> TableDecision:
    """Steps 2-4 for a table that is due (or not under adaptive scheduling)."""
    state = facts.state
    details: dict[str, Any] = {**_state_details(state)}
    if snapshot is not None:
        details["detector"] = snapshot.method
        details.update({f"detector_{k}": v for k, v in snapshot.details.items()})
    if config.adaptive_scheduling.enabled:
        details["interval_minutes"] = current_interval(
            config.adaptive_scheduling, state, facts.pinned_interval
        )
    base = _base(
        facts,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        estimated_rows=snapshot.estimated_rows if snapshot else None,
        estimated_bytes=snapshot.estimated_bytes if snapshot else None,
        snapshot=snapshot,
    )
    scan_rows = snapshot.estimated_rows if snapshot else None
    scan_bytes = snapshot.estimated_bytes if snapshot else None
    action = "full"
    scope: PartialScope | None = None

    if snapshot is None or not snapshot.reliable:
        reason = UNRELIABLE
        details["unreliable"] = snapshot.unreliable if snapshot else "no change detector result"
    elif state is None or state.last_profiled_at is None:
        reason = NO_STATE
    elif signature_changed(facts):
        reason = CONFIG_CHANGED
    elif snapshot.snapshot_id == state.snapshot_id:
        ttl = dt.timedelta(minutes=config.change_detection.snapshot_ttl_minutes)
        if now - state.last_profiled_at >= ttl:
            reason = TTL_EXPIRED
        elif not facts.forced:
            return TableDecision(**base, action="skip", reason=SNAPSHOT_MATCH, details=details)
        else:
            reason = _forced(details, "skip", SNAPSHOT_MATCH)
    else:
        reason = CHANGED
        partitioned = facts.partial_capable and snapshot.partitions is not None
        table_pass = table_pass_metrics(facts, snapshot, config) if partitioned else ()
        if table_pass:
            # changed partitions plus a whole-table pass for these metrics would read
            # more rows than one full profile: run that instead
            reason = TABLE_PASS
            details["table_pass_metrics"] = list(table_pass)
        elif facts.partial_capable:
            reason, scope, part_rows, part_bytes = _partial(facts, snapshot, config, details)
            if scope is not None and facts.forced:
                reason, scope = _forced(details, "partial", reason), None
                details.pop("partitions", None)
                details.pop("deleted_partitions", None)
            elif scope is not None:
                action, scan_rows, scan_bytes = "partial", part_rows, part_bytes

    if facts.sample_fraction is not None:
        action, scope = "sample", None
        details["sampling"] = "configured"
        scan_rows = _scaled(scan_rows, facts.sample_fraction)
        scan_bytes = _scaled(scan_bytes, facts.sample_fraction)
    decision = dict(
        base,
        action=action,
        reason=reason,
        changed_partitions=_labels(scope),
        sample_fraction=facts.sample_fraction,
        partial=scope,
        track_partitions=tracks_partitions(facts, snapshot, config),
    )
    return _apply_cost_caps(decision, details, config, snapshot, scan_rows, scan_bytes)


def _forced(details: dict[str, Any], action: str, reason: str) -> str:
    details["forced_instead_of"] = f"{action}: {reason}"
    return FORCED


def table_pass_metrics(
    facts: TableFacts, snapshot: TableSnapshot | None, config: IncrementalConfig
) -> tuple[str, ...]:
    """The requested metrics that would need a pass over the whole table on a partial
    run of this table: non-mergeable metrics that apply to one of its columns, unless
    the table is too large to recompute them (then they are carried, marked with their
    age, from the run that last computed them)."""
    wanted = _applicable(facts.unmerged_metrics, facts.state)
    if not wanted:
        return ()
    limit = config.partial_profiling.recompute_non_mergeable_max_rows
    rows = snapshot.estimated_rows if snapshot is not None else None
    if rows is not None and rows > limit and _carried_from(facts.state) is not None:
        return ()
    return wanted


def tracks_partitions(
    facts: TableFacts, snapshot: TableSnapshot | None, config: IncrementalConfig
) -> bool:
    """Whether a full profile of this table should also store every partition's
    aggregates: only where a later change can be profiled partially. A table that
    needs a whole-table pass for its non-mergeable metrics whenever it changes (it
    is small enough to recompute them) is cheapest profiled plainly every time."""
    if not facts.partial_capable or snapshot is None or snapshot.partitions is None:
        return False
    if not _applicable(facts.unmerged_metrics, facts.state):
        return True
    rows = snapshot.estimated_rows
    return rows is None or rows > config.partial_profiling.recompute_non_mergeable_max_rows


def _applicable(metrics: tuple[str, ...], state: TableState | None) -> tuple[str, ...]:
    """``metrics`` that apply to a column of the table (as last profiled; all of them
    when the columns are not known)."""
    columns = state.metadata.get("columns") if state is not None else None
    if not metrics or not columns:
        return metrics
    categories = {categorize(str(type_name))[0] for _, type_name in columns}
    return tuple(m for m in metrics if any(METRICS[m].applies_to(c) for c in categories))


def _carried_from(state: TableState | None) -> str | None:
    """The run whose non-mergeable metrics a partial would carry."""
    since = (state.metadata.get("non_mergeable_as_of") if state is not None else None) or {}
    run_id = since.get("run_id") if isinstance(since, dict) else None
    return str(run_id) if run_id else None


def _labels(scope: PartialScope | None) -> tuple[str, ...]:
    if scope is None:
        return ()
    return tuple(p.label or p.partition_id for p in scope.changed) + tuple(
        r.label or r.partition_id for r in scope.deleted
    )


def _partial(
    facts: TableFacts,
    snapshot: TableSnapshot,
    config: IncrementalConfig,
    details: dict[str, Any],
) -> tuple[str, PartialScope | None, int | None, int | None]:
    """(reason, what a partial run would profile or None for a full one, its rows and
    bytes) for a changed table whose partitions are tracked."""
    current = snapshot.partition_map()
    stored = facts.stored_partitions
    state_mode = facts.state.metadata.get("partition_mode") if facts.state else None
    if snapshot.partitions is None:
        return CHANGED, None, None, None
    if not stored or state_mode != snapshot.partition_mode:
        return NO_PARTITION_STATE, None, None, None
    changed = sorted(
        pid
        for pid, part in current.items()
        if pid not in stored or stored[pid].fingerprint != part.fingerprint
    )
    deleted = sorted(pid for pid in stored if pid not in current)
    if not changed and not deleted:
        # The table changed but no partition did (e.g. a column was added).
        return CHANGED, None, None, None
    if current and len(changed) == len(current):
        return ALL_CHANGED, None, None, None
    if len(changed) > config.partial_profiling.max_partitions_per_run:
        details["changed_partition_count"] = len(changed)
        return TOO_MANY, None, None, None
    parts = tuple(current[pid] for pid in changed)
    details["partitions"] = [
        {"id": p.partition_id, "value": p.value, "fingerprint": p.fingerprint, "rows": p.rows}
        for p in parts
    ]
    details["deleted_partitions"] = [{"id": pid, "label": stored[pid].label} for pid in deleted]
    details["partition_mode"] = snapshot.partition_mode
    assert snapshot.partition_mode is not None
    scope = PartialScope(snapshot.partition_mode, parts, tuple(stored[pid] for pid in deleted))
    rows = None if any(p.rows is None for p in parts) else sum(p.rows or 0 for p in parts)
    size = None if any(p.bytes is None for p in parts) else sum(p.bytes or 0 for p in parts)
    return PARTITIONS_CHANGED, scope, rows, size


def _scaled(value: int | None, fraction: float) -> int | None:
    return None if value is None else round(value * fraction)


def _apply_cost_caps(
    decision: dict[str, Any],
    details: dict[str, Any],
    config: IncrementalConfig,
    snapshot: TableSnapshot | None,
    scan_rows: int | None,
    scan_bytes: int | None,
) -> TableDecision:
    costs = config.cost_controls
    over: list[tuple[str, str, int, int]] = []
    if costs.enabled:
        caps = (
            (COST_ROWS, "max_rows_scanned", costs.max_rows_scanned, scan_rows),
            (COST_BYTES, "max_bytes_scanned", costs.max_bytes_scanned, scan_bytes),
        )
        for reason, key, limit, estimate in caps:
            if limit is None:
                continue
            if estimate is None:
                details.setdefault("cost_unknown", []).append(key)
            elif estimate > limit:
                over.append((reason, key, limit, estimate))
    if over:
        reason, key, limit, estimate = over[0]
        details["cost_cap"] = {
            "limit": key,
            "limit_value": limit,
            "estimate": estimate,
            "instead_of": decision["action"],
            "because": decision["reason"],
            "fallback": costs.fallback_strategy,
        }
        decision["reason"] = reason
        if costs.fallback_strategy == "defer":
            decision["action"] = "defer"
            decision["changed_partitions"] = ()
            decision["partial"] = None
        elif costs.fallback_strategy == "sample":
            # Sample the whole table, at most at a fraction that fits every cap.
            table_rows = snapshot.estimated_rows if snapshot else None
            table_bytes = snapshot.estimated_bytes if snapshot else None
            fraction = costs.sample_fraction
            for cap, size in (
                (costs.max_rows_scanned, table_rows),
                (costs.max_bytes_scanned, table_bytes),
            ):
                if cap is not None and size:
                    fraction = min(fraction, cap / size)
            decision["action"] = "sample"
            decision["sample_fraction"] = fraction
            decision["changed_partitions"] = ()
            decision["partial"] = None
            details.pop("partitions", None)
            details.pop("deleted_partitions", None)
            scan_rows = _scaled(table_rows, fraction)
            scan_bytes = _scaled(table_bytes, fraction)
        # fallback "full": the run goes ahead as planned; the overage is recorded.
    details["scan_rows"] = scan_rows
    details["scan_bytes"] = scan_bytes
    return TableDecision(
        **decision,
        estimated_cost=scan_bytes / 1e9 if scan_bytes is not None else None,
        details=details,
    )
