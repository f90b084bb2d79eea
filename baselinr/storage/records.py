"""What the readers and writers hand out: frozen records of stored rows.

A ``StoredRun`` is the one source of every figure about a run (rows scanned, row
count, action, statements, duration, carried metrics): the writer returns the record
it committed, the reader rebuilds the same record from the row, and the CLI, events,
Dagster metadata and the API all read it.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.redact import redact_data
from baselinr.storage.liveness import is_live


def was_sampled(action: str, sample_fraction: float | None) -> bool:
    """A run is sampled when it was planned as a sample or read a sample of its rows."""
    return action == "sample" or sample_fraction is not None


@dataclass(frozen=True)
class StoredRun:
    """A ``baselinr_runs`` row (DESIGN §4), ``metadata`` decoded."""

    run_id: str
    batch_id: str
    database_name: str | None
    schema_name: str | None
    table_name: str
    environment: str | None
    status: str  # running | completed | failed
    action: str  # full | partial | sample: what was carried out
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    row_count: int | None = None
    column_count: int | None = None
    rows_scanned: int | None = None
    snapshot_id: str | None = None
    dagster_run_id: str | None = None
    error: str | None = None
    sample_fraction: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    heartbeat_at: dt.datetime | None = None  # refreshed while it is profiled
    owner: str | None = None  # the process profiling it (``liveness.process_owner``)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> "StoredRun":
        values = {f.name: row[f.name] for f in fields(cls) if f.name in row}
        values["metadata"] = jsonutil.loads(row.get("metadata")) or {}
        return cls(**values)

    @property
    def table(self) -> TableRef:
        return TableRef(self.schema_name, self.table_name)

    @property
    def qualified(self) -> str:
        return self.table.qualified

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def live(self, now: dt.datetime | None = None) -> bool:
        """Running and really being profiled (``storage.liveness``)."""
        return is_live(self.status, self.started_at, self.heartbeat_at, self.owner, now)

    @property
    def sampled(self) -> bool:
        return was_sampled(self.action, self.sample_fraction)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def statements(self) -> int | None:
        value = self.metadata.get("statements")
        return int(value) if value is not None else None

    @property
    def rows_avoided(self) -> int:
        """Rows of the table this run did not read (partial and sampled runs)."""
        if self.row_count is None or self.rows_scanned is None:
            return 0
        return max(self.row_count - self.rows_scanned, 0)

    @property
    def carried_metrics(self) -> tuple[str, ...]:
        """Metrics reused from an earlier run (partial runs of large tables)."""
        return tuple(self.metadata.get("carried_metrics") or ())

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["metadata"] = dict(self.metadata)
        data["duration_seconds"] = self.duration_seconds
        return data


@dataclass(frozen=True)
class RunResults:
    """The stored results of one run: column -> type (in profiling order) and
    column -> metric -> value."""

    columns: dict[str, str | None]
    metrics: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class StoredBatch:
    """A ``baselinr_batches`` row: what one batch (a CLI invocation or a Dagster run)
    did with each table, and its totals. ``decisions`` lists, per table, ``table``,
    ``schema``, ``name``, ``action`` (carried out), ``planned_action``, ``reason``,
    ``status``, ``run_id``, ``rows_scanned``, ``rows_avoided``, ``bytes_avoided``."""

    batch_id: str
    started_at: dt.datetime
    finished_at: dt.datetime
    tables: int
    counts: Mapping[str, int]  # action -> tables (failed ones under "failed")
    rows_scanned: int
    rows_avoided: int
    bytes_avoided: int
    decisions: tuple[Mapping[str, Any], ...] = ()
    environment: str | None = None
    dagster_run_id: str | None = None

    @property
    def profiled(self) -> int:
        return sum(1 for d in self.decisions if d.get("status") == "completed")

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["counts"] = jsonutil.dumps(dict(self.counts))
        row["decisions"] = jsonutil.dumps(redact_data([dict(d) for d in self.decisions]))
        return row

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> "StoredBatch":
        values = {f.name: row[f.name] for f in fields(cls)}
        values["counts"] = jsonutil.loads(row["counts"]) or {}
        values["decisions"] = tuple(jsonutil.loads(row["decisions"]) or ())
        return cls(**values)
