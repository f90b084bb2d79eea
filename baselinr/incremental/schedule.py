"""Adaptive scheduling: how often a table is looked at.

Each table has an interval in [``min_interval_minutes``, ``max_interval_minutes``],
starting at ``default_interval_minutes``. A check that finds no change doubles it;
a profile after a change halves it. ``priority_overrides`` pin it. A table is due one
interval after it was last profiled or last checked for changes. A skip never moves
``last_profiled_at``, and skipping a table that is not due is not a check, so a table
ticked often still comes due (no starvation); the snapshot TTL runs from
``last_profiled_at`` alone.
"""

import datetime as dt

from baselinr.catalog import TableRef
from baselinr.config.models import AdaptiveSchedulingConfig
from baselinr.storage.state import TableState


def pinned_interval(
    adaptive: AdaptiveSchedulingConfig, database: str, table: TableRef
) -> int | None:
    """The ``priority_overrides`` entry for a table: ``db.schema.table``,
    ``schema.table`` or ``table``, most specific first."""
    overrides = adaptive.priority_overrides
    keys = [table.qualified, table.table]
    if table.schema:
        keys.insert(0, f"{database}.{table.schema}.{table.table}")
    for key in keys:
        if key in overrides:
            return overrides[key]
    return None


def clamp(adaptive: AdaptiveSchedulingConfig, minutes: int) -> int:
    return max(adaptive.min_interval_minutes, min(adaptive.max_interval_minutes, minutes))


def current_interval(
    adaptive: AdaptiveSchedulingConfig, state: TableState | None, pinned: int | None
) -> int:
    if pinned is not None:
        return pinned
    if state is not None and state.interval_minutes is not None:
        return clamp(adaptive, state.interval_minutes)
    return adaptive.default_interval_minutes


def grown(adaptive: AdaptiveSchedulingConfig, interval: int, pinned: int | None) -> int:
    """After a check that found nothing new."""
    return pinned if pinned is not None else clamp(adaptive, max(1, interval * 2))


def shrunk(adaptive: AdaptiveSchedulingConfig, interval: int, pinned: int | None) -> int:
    """After a profile that found the data changed."""
    return pinned if pinned is not None else clamp(adaptive, interval // 2)


def due_at(state: TableState | None, interval: int) -> dt.datetime | None:
    """``interval`` after the last real look at the table: its last profile, or the
    last check that ran the detector (a no-change skip or a deferral). Skips because
    the table was not due are not checks, so frequent ticks never push this out."""
    if state is None:
        return None
    seen = [t for t in (state.last_profiled_at, state.last_checked_at) if t is not None]
    return max(seen) + dt.timedelta(minutes=interval) if seen else None


def staleness(state: TableState | None, interval: int, now: dt.datetime) -> float | None:
    """Minutes since the last profile over the interval: 1.0 means due now."""
    if state is None or state.last_profiled_at is None:
        return None
    age = (now - state.last_profiled_at).total_seconds() / 60
    return age / interval if interval > 0 else float(age > 0)
