"""The API's request and response models (pydantic v2): the OpenAPI schema is generated
from them. A run carries the ``baselinr_runs`` columns by their names (DESIGN §4), a
drift item the ``baselinr_events`` columns plus its triage fields."""

import datetime as dt
import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

T = TypeVar("T")

RunStatus = Literal["running", "completed", "failed"]
RunAction = Literal["full", "partial", "sample"]
Severity = Literal["low", "medium", "high"]
TriageStatus = Literal["open", "acknowledged", "resolved"]
ExportFormat = Literal["json", "csv"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_only(value: object) -> object:
    """A timestamp parameter is ISO-8601 text; a bare number (which pydantic would read
    as Unix time) is a mistake."""
    if not isinstance(value, str | dt.datetime) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise ValueError("expected an ISO-8601 timestamp, e.g. 2025-01-31T00:00:00Z")
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


#: A name as stored (schema, table, column, environment, database): no NUL.
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_no_nul)]
#: A timestamp parameter: ISO-8601; without an offset it is UTC.
UtcTime = Annotated[dt.datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Error(Out):
    detail: Any = Field(description="What went wrong (a list of problems for bad parameters)")


class Root(Out):
    status: Literal["ok"] = "ok"
    version: str


class Health(Out):
    status: Literal["ok"] = "ok"


class Ready(Out):
    status: Literal["ready"] = "ready"
    revision: str
    backend: str


class Page(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page"
    )


class Run(Out):
    """A ``baselinr_runs`` row. ``rows_avoided``: rows of the table a partial or
    sampled run did not read."""

    run_id: str
    batch_id: str
    database_name: str | None = None
    schema_name: str | None = None
    table_name: str
    environment: str | None = None
    status: str
    action: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    row_count: int | None = None
    column_count: int | None = None
    rows_scanned: int | None = None
    snapshot_id: str | None = None
    dagster_run_id: str | None = None
    error: str | None = None
    sample_fraction: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    duration_seconds: float | None = None
    rows_avoided: int = 0


class ColumnMetrics(Out):
    name: str
    type: str | None = None
    metrics: dict[str, Any]


class RunDetail(Run):
    columns: list[ColumnMetrics]


class DriftItem(Out):
    """A ``DataDriftDetected`` or ``SchemaChangeDetected`` event with its triage."""

    event_id: str
    event_type: str
    run_id: str | None = None
    schema_name: str | None = None
    table_name: str | None = None
    column_name: str | None = None
    metric_name: str | None = None
    baseline_value: float | None = None
    current_value: float | None = None
    change_percent: float | None = None
    severity: str | None = None
    action: str | None = None
    reason: str | None = None
    snapshot_id: str | None = None
    payload: dict[str, Any] | None = None
    created_at: dt.datetime
    status: TriageStatus = "open"
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_note: str | None = None
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_note: str | None = None


class TriageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
        AfterValidator(_no_nul),
    ] = Field(description="Who acknowledges or resolves (free text, e.g. an email)")
    note: Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_nul)] = ""


class TableState(Out):
    """A ``baselinr_table_state`` row."""

    database_name: str
    schema_name: str | None = None
    table_name: str
    last_run_id: str | None = None
    snapshot_id: str | None = None
    decision: str | None = None
    decision_reason: str | None = None
    last_profiled_at: dt.datetime | None = None
    last_checked_at: dt.datetime | None = None
    interval_minutes: int | None = None
    staleness_score: float | None = None
    row_count: int | None = None
    bytes_estimate: int | None = None
    cost_estimate: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class TableStateDetail(TableState):
    explanation: str = Field(description="The planner's last decision in words")


class TableSummary(Out):
    database_name: str | None = None
    schema_name: str | None = None
    table_name: str
    latest_run: Run | None = None
    state: TableState | None = None


class TableList(Out):
    items: list[TableSummary]


class Point(Out):
    run_id: str
    profiled_at: dt.datetime
    value: Any = None


class Series(Out):
    column: str
    metric: str
    points: list[Point]


class MetricHistory(Out):
    table: str = Field(description="schema.table")
    schema_name: str | None = None
    table_name: str
    series: list[Series]


class Warehouse(Out):
    database_name: str | None = None
    environment: str | None = None
    tables: int
    runs: int
    last_run_at: dt.datetime | None = None


class WarehouseList(Out):
    items: list[Warehouse]


# --- dashboard ---------------------------------------------------------------------------


class Avoided(Out):
    tables: int = 0
    rows_avoided: int = 0
    bytes_avoided: int = 0


class Savings(Out):
    """Rows and bytes scanned (from the runs) versus not scanned (from the batch records:
    skipped and deferred tables, the rest of the table a partial or a sample did not
    read)."""

    rows_scanned: int = 0
    bytes_scanned: int = Field(
        default=0, description="Estimated: the table's estimated bytes x rows scanned / rows"
    )
    rows_avoided: int = 0
    bytes_avoided: int = 0
    avoided_ratio: float | None = Field(
        default=None, description="rows_avoided / (rows_scanned + rows_avoided)"
    )
    by_action: dict[str, Avoided] = Field(
        default_factory=dict, description="skip, defer, partial, sample"
    )


class RunCounts(Out):
    total: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    by_action: dict[str, int] = Field(default_factory=dict)


class DriftCounts(Out):
    total: int = 0
    by_severity: dict[str, int] = Field(default_factory=dict)
    schema_changes: int = 0
    open: int = 0


class Day(Out):
    day: dt.date
    runs: RunCounts
    savings: Savings
    drift: DriftCounts


class DashboardMetrics(Out):
    since: dt.datetime
    until: dt.datetime
    runs: RunCounts
    tables: int = Field(description="Tables with a run in the window")
    drift: DriftCounts
    savings: Savings
    trend: list[Day] = Field(description="One entry per UTC day with activity, oldest first")
