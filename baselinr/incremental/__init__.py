"""Incremental profiling: plans, change detectors, state."""

from baselinr.incremental.plan import ACTIONS, RUN_ACTIONS, IncrementalPlan, TableDecision

__all__ = ["ACTIONS", "RUN_ACTIONS", "IncrementalPlan", "TableDecision"]
