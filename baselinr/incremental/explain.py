"""One line per decision for people (``baselinr plan``, Dagster metadata)."""

import datetime as dt

from baselinr.incremental import decide as r
from baselinr.incremental.plan import TableDecision


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _when(iso: object) -> str:
    """An ISO timestamp from the decision details, to the minute."""
    if not isinstance(iso, str):
        return "?"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def explain(decision: TableDecision) -> str:
    d = decision.details
    reason = decision.reason
    if reason == r.INCREMENTAL_OFF:
        return "incremental.enabled is false: every table is profiled in full every run"
    if reason == r.SAMPLING_CONFIGURED:
        return f"sampling is configured: a {decision.sample_fraction:.4g} sample every run"
    if reason == r.FRESH:
        return f"not due until {_when(d.get('due_at'))} (every {d.get('interval_minutes')} min)"
    if reason == r.SNAPSHOT_MATCH:
        return f"unchanged since the profile of {_when(d.get('last_profiled_at'))}"
    if reason == r.NO_STATE:
        return "never profiled with incremental state"
    if reason == r.UNRELIABLE:
        return f"no usable change metadata: {d.get('unreliable', 'unknown')}"
    if reason == r.CONFIG_CHANGED:
        return "profiling config changed since the last profile"
    if reason == r.TTL_EXPIRED:
        return "unchanged, but the last profile is older than snapshot_ttl_minutes"
    if reason == r.CHANGED:
        return "data changed"
    if reason == r.PARTITIONS_CHANGED:
        deleted = len(d.get("deleted_partitions", []))
        changed = len(d.get("partitions", []))
        text = f"{changed} partition(s) changed"
        return text + (f", {deleted} deleted" if deleted else "")
    if reason == r.TOO_MANY:
        return (
            f"{d.get('changed_partition_count')} partitions changed "
            "(more than max_partitions_per_run)"
        )
    if reason == r.ALL_CHANGED:
        return "every partition changed"
    if reason == r.NO_PARTITION_STATE:
        return "changed; no stored partition aggregates to merge with yet"
    if reason == r.TABLE_PASS:
        metrics = ", ".join(d.get("table_pass_metrics", []))
        return (
            f"changed; {metrics} need a whole-table pass on this table "
            "(at most recompute_non_mergeable_max_rows rows): one full profile reads fewer "
            "rows than partitions plus that pass"
        )
    if reason == r.FORCED:
        return f"profiled in full on request (would have been {d.get('forced_instead_of')})"
    if reason in (r.COST_ROWS, r.COST_BYTES):
        cap = d.get("cost_cap", {})
        what = "rows" if reason == r.COST_ROWS else "bytes"
        text = (
            f"estimated {_n(cap.get('estimate'))} {what} > {cap.get('limit')} "
            f"{_n(cap.get('limit_value'))} ({cap.get('because')})"
        )
        if decision.action == "sample":
            return f"{text}: sampling {decision.sample_fraction:.4g}"
        if decision.action == "defer":
            return f"{text}: deferred"
        return f"{text}: running anyway (fallback_strategy: full)"
    return reason
