"""Typed events. Fields named like ``baselinr_events`` columns are stored in them;
any other field goes to the ``payload`` JSON. Every text an event hands out is
redacted (``to_dict``)."""

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from baselinr import jsonutil
from baselinr.redact import redact_data
from baselinr.storage.schema import events as events_table

# Fields stored in their own baselinr_events column; the rest goes to ``payload``.
_COLUMNS = frozenset(c.name for c in events_table.columns) - {"payload"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Event:
    event_type: ClassVar[str] = "Event"

    schema_name: str | None = None
    table_name: str | None = None
    run_id: str | None = None
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: dt.datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """The event's fields, every text redacted: storage rows, webhook bodies and
        log lines are all made from this."""
        data: dict[str, Any] = redact_data(asdict(self))
        data["event_type"] = self.event_type
        return data

    def to_row(self) -> dict[str, Any]:
        """A ``baselinr_events`` row."""
        data = self.to_dict()
        row = {k: v for k, v in data.items() if k in _COLUMNS}
        payload = {k: v for k, v in data.items() if k not in _COLUMNS}
        row["payload"] = jsonutil.dumps(payload) if payload else None
        return row


@dataclass(frozen=True, kw_only=True)
class ProfilingStarted(Event):
    event_type: ClassVar[str] = "ProfilingStarted"
    action: str = "full"


@dataclass(frozen=True, kw_only=True)
class ProfilingCompleted(Event):
    event_type: ClassVar[str] = "ProfilingCompleted"
    action: str = "full"
    row_count: int | None = None
    rows_scanned: int | None = None
    column_count: int = 0
    duration_seconds: float = 0.0
    snapshot_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProfilingFailed(Event):
    event_type: ClassVar[str] = "ProfilingFailed"
    action: str = "full"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DataDriftDetected(Event):
    """A metric of a column (or of the table, ``column_name=None``) moved against its
    baseline. ``reason`` says how in one line; ``score`` is what was judged."""

    event_type: ClassVar[str] = "DataDriftDetected"
    column_name: str | None = None
    metric_name: str = ""
    baseline_value: float | None = None
    current_value: float | None = None
    change_percent: float | None = None
    severity: str = "low"
    action: str = "full"
    reason: str = ""
    snapshot_id: str | None = None
    column_type: str | None = None
    score: float | None = None
    score_unit: str = ""
    strategy: str = ""
    baseline_kind: str = ""
    baseline_runs: int = 0


@dataclass(frozen=True, kw_only=True)
class SchemaChangeDetected(Event):
    """A column was added, removed or changed type since the table's previous run."""

    event_type: ClassVar[str] = "SchemaChangeDetected"
    column_name: str | None = None
    change: str = ""  # added | removed | type_changed
    previous_type: str | None = None
    current_type: str | None = None
    severity: str = "low"
    action: str = "full"
    reason: str = ""
    snapshot_id: str | None = None
    previous_run_id: str | None = None


# --- incremental planning ------------------------------------------------------------
# ``ProfilingSkipped`` is emitted for every table a run does not profile (action
# ``skip`` or ``defer``); the three snake_case events name the specific cause so that
# dashboards can count them. All land in ``baselinr_events`` (action, reason and
# snapshot_id in their columns, the rest in ``payload``).


@dataclass(frozen=True, kw_only=True)
class ProfilingSkipped(Event):
    event_type: ClassVar[str] = "ProfilingSkipped"
    action: str = "skip"
    reason: str = ""
    snapshot_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ProfileSkippedNoChange(Event):
    event_type: ClassVar[str] = "profile_skipped_no_change"
    action: str = "skip"
    reason: str = "snapshot_match"
    snapshot_id: str | None = None
    last_run_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProfileDeferredCostCap(Event):
    event_type: ClassVar[str] = "profile_deferred_cost_cap"
    action: str = "defer"
    reason: str = ""
    snapshot_id: str | None = None
    cost_cap: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ProfileSampledCostCap(Event):
    event_type: ClassVar[str] = "profile_sampled_cost_cap"
    action: str = "sample"
    reason: str = ""
    snapshot_id: str | None = None
    cost_cap: dict[str, Any] | None = None
    sample_fraction: float | None = None
