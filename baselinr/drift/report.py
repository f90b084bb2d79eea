"""What drift detection found for one run: values that cross module boundaries
(runner, CLI, events, the Dagster checks)."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from baselinr.catalog import TableRef
from baselinr.drift.severity import at_least, highest, rank


@dataclass(frozen=True)
class DriftFinding:
    """One metric of one column (``column_name=None``: of the table) that moved."""

    column_name: str | None
    column_type: str | None
    metric: str
    baseline_value: float | None  # None for distributions
    current_value: float | None
    change: float | None  # current - baseline
    change_percent: float | None  # None when the baseline is 0 or not a number
    score: float | None  # what was judged against the levels, in ``score_unit``
    score_unit: str  # percent | points | z | psi
    severity: str  # low | medium | high
    strategy: str  # absolute_threshold | standard_deviation | psi
    baseline_kind: str  # last_run | moving_average | prior_period
    baseline_runs: int
    detail: str  # one line for people

    @property
    def where(self) -> str:
        return self.column_name if self.column_name is not None else "(table)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column_name,
            "column_type": self.column_type,
            "metric": self.metric,
            "baseline_value": self.baseline_value,
            "current_value": self.current_value,
            "change": self.change,
            "change_percent": self.change_percent,
            "score": self.score,
            "score_unit": self.score_unit,
            "severity": self.severity,
            "strategy": self.strategy,
            "baseline_kind": self.baseline_kind,
            "baseline_runs": self.baseline_runs,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SchemaChange:
    """A column added, removed or retyped since the table's previous completed run."""

    column_name: str
    change: str  # added | removed | type_changed
    previous_type: str | None
    current_type: str | None
    severity: str

    @property
    def detail(self) -> str:
        if self.change == "added":
            return f"column {self.column_name} added ({self.current_type})"
        if self.change == "removed":
            return f"column {self.column_name} removed (was {self.previous_type})"
        return f"column {self.column_name} type {self.previous_type} -> {self.current_type}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column_name,
            "change": self.change,
            "previous_type": self.previous_type,
            "current_type": self.current_type,
            "severity": self.severity,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DriftReport:
    """One completed run judged against its baseline. Built from stored results only,
    so it can be rebuilt any time (``DriftDetector.detect(run_id)``)."""

    run_id: str
    schema_name: str | None
    table_name: str
    action: str  # full | partial | sample
    started_at: dt.datetime
    strategy: str  # the configured default; findings say what each column used
    baseline_kind: str
    baseline_run_ids: tuple[str, ...] = ()  # every run a baseline was taken from
    previous_run_id: str | None = None  # what schema changes are relative to
    findings: tuple[DriftFinding, ...] = ()
    schema_changes: tuple[SchemaChange, ...] = ()
    compared: int = 0  # (column, metric) pairs judged
    notes: tuple[str, ...] = ()
    sample_fraction: float | None = None
    evaluated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    @property
    def qualified(self) -> str:
        return TableRef(self.schema_name, self.table_name).qualified

    @property
    def drift_severity(self) -> str:
        return highest(f.severity for f in self.findings)

    @property
    def schema_severity(self) -> str:
        return highest(c.severity for c in self.schema_changes)

    @property
    def max_severity(self) -> str:
        return highest((self.drift_severity, self.schema_severity))

    @property
    def has_baseline(self) -> bool:
        return bool(self.baseline_run_ids)

    def fails(self, level: str) -> bool:
        """True when anything (drift or schema) is at or above ``level``."""
        return at_least(self.max_severity, level)

    def findings_at_least(self, level: str) -> tuple[DriftFinding, ...]:
        return tuple(f for f in self.findings if at_least(f.severity, level))

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Columns with findings, most severe first (``(table)`` for table metrics)."""
        worst: dict[str, str] = {}
        for f in self.findings:
            worst[f.where] = highest((worst.get(f.where, "none"), f.severity))
        return tuple(sorted(worst, key=lambda c: (-rank(worst[c]), c)))

    def summary(self) -> dict[str, Any]:
        return {
            "max_severity": self.max_severity,
            "findings": len(self.findings),
            "schema_changes": len(self.schema_changes),
            "drifted_columns": list(self.drifted_columns),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "schema": self.schema_name,
            "table": self.table_name,
            "action": self.action,
            "sample_fraction": self.sample_fraction,
            "started_at": self.started_at.isoformat(),
            "strategy": self.strategy,
            "baseline_kind": self.baseline_kind,
            "baseline_run_ids": list(self.baseline_run_ids),
            "previous_run_id": self.previous_run_id,
            "max_severity": self.max_severity,
            "drift_severity": self.drift_severity,
            "schema_severity": self.schema_severity,
            "compared": self.compared,
            "findings": [f.to_dict() for f in self.findings],
            "schema_changes": [c.to_dict() for c in self.schema_changes],
            "notes": list(self.notes),
            "evaluated_at": self.evaluated_at.isoformat(),
        }
