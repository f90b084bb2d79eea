"""After a run completes: judge it and tell the hooks (``DataDriftDetected``,
``SchemaChangeDetected``). Drift detection never turns a completed profile into a
failed one: a problem here is logged and the run keeps its results."""

from typing import TYPE_CHECKING, Any

from baselinr.drift.report import DriftReport
from baselinr.events.types import DataDriftDetected, Event, SchemaChangeDetected
from baselinr.logs import get_logger

if TYPE_CHECKING:
    from baselinr.context import BaselinrContext

log = get_logger(__name__)


def drift_events(report: DriftReport, snapshot_id: str | None = None) -> list[Event]:
    """One event per finding and per schema change."""
    where: dict[str, Any] = {
        "run_id": report.run_id,
        "schema_name": report.schema_name,
        "table_name": report.table_name,
        "action": report.action,
        "snapshot_id": snapshot_id,
    }
    found: list[Event] = [
        SchemaChangeDetected(
            column_name=c.column_name,
            change=c.change,
            previous_type=c.previous_type,
            current_type=c.current_type,
            severity=c.severity,
            reason=c.detail,
            previous_run_id=report.previous_run_id,
            **where,
        )
        for c in report.schema_changes
    ]
    found += [
        DataDriftDetected(
            column_name=f.column_name,
            metric_name=f.metric,
            baseline_value=f.baseline_value,
            current_value=f.current_value,
            change_percent=f.change_percent,
            severity=f.severity,
            reason=f.detail,
            column_type=f.column_type,
            score=f.score,
            score_unit=f.score_unit,
            strategy=f.strategy,
            baseline_kind=f.baseline_kind,
            baseline_runs=f.baseline_runs,
            **where,
        )
        for f in report.findings
    ]
    return found


def evaluate_and_notify(
    context: "BaselinrContext", run_id: str, snapshot_id: str | None = None
) -> DriftReport | None:
    """The run's drift report, its events emitted on the context's bus. None when
    drift detection is off or could not run (logged)."""
    if not context.config.drift_detection.enabled:
        return None
    try:
        report = context.drift.detect(run_id)
    except Exception as exc:
        # one line (a storage outage is not a bug); the traceback at debug level
        log.warning(
            "drift detection for run %s failed; the profile is kept (%s: %s)",
            run_id,
            type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
        log.debug("drift detection failure", exc_info=True)
        return None
    for event in drift_events(report, snapshot_id):
        context.bus.emit(event)
    return report
