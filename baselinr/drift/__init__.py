"""Drift detection: baselines, strategies, schema changes, and the detector that
judges one completed run from stored results."""

from baselinr.drift.detector import DriftDetector
from baselinr.drift.notify import drift_events, evaluate_and_notify
from baselinr.drift.report import DriftFinding, DriftReport, SchemaChange
from baselinr.drift.severity import SEVERITIES, at_least, highest

__all__ = [
    "SEVERITIES",
    "DriftDetector",
    "DriftFinding",
    "DriftReport",
    "SchemaChange",
    "at_least",
    "drift_events",
    "evaluate_and_notify",
    "highest",
]
