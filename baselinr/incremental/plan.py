"""What the planner decided: one ``TableDecision`` per concrete table.

A decision is also the planner's hand-off to the executor: besides the contract
fields (``plan --json``) it carries the detector's snapshot and the stored state it
was decided from, typed, so executing a plan never detects or reads state again.
``details`` holds explanations only (``explain``, ``--json``).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from baselinr.catalog import TableRef
from baselinr.incremental.detectors.base import PartitionSnapshot, TableSnapshot
from baselinr.storage.state import PartitionRecord, TableState

#: Every action a decision can take, in the order summaries list them (DESIGN §5).
ACTIONS = ("full", "partial", "sample", "skip", "defer")
RUN_ACTIONS = frozenset({"full", "partial", "sample"})

# How a run is carried out (``strategies.py``).
FULL = "full"
PARTITIONED_FULL = "partitioned_full"  # a full profile that also stores every partition
PARTIAL = "partial"
SAMPLE = "sample"


@dataclass(frozen=True)
class PartialScope:
    """What a partial run profiles: the partitions that changed (as the detector saw
    them) and the stored partitions that are gone."""

    mode: str  # detectors.base.KEY | RELATION
    changed: tuple[PartitionSnapshot, ...]
    deleted: tuple[PartitionRecord, ...] = ()


@dataclass(frozen=True)
class TableDecision:
    database: str
    schema: str | None
    table: str
    entry_index: int
    action: str
    reason: str
    snapshot_id: str | None = None
    changed_partitions: tuple[Any, ...] = ()
    estimated_rows: int | None = None
    estimated_bytes: int | None = None
    estimated_cost: float | None = None
    sample_fraction: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # --- the hand-off to the executor (not part of --json) -------------------------
    snapshot: TableSnapshot | None = field(default=None, compare=False, repr=False)
    state: TableState | None = field(default=None, compare=False, repr=False)
    partial: PartialScope | None = field(default=None, compare=False, repr=False)
    #: A full profile also stores every partition's aggregates (later runs can be partial).
    track_partitions: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    @property
    def ref(self) -> TableRef:
        return TableRef(self.schema, self.table)

    @property
    def qualified(self) -> str:
        return self.ref.qualified

    @property
    def runs(self) -> bool:
        return self.action in RUN_ACTIONS

    @property
    def strategy(self) -> str | None:
        """How the run is carried out; None for tables that do not run."""
        if self.action == "sample":
            return SAMPLE
        if self.action == "partial" and self.partial is not None:
            return PARTIAL
        if self.action in ("full", "partial"):
            parts = self.snapshot.partitions if self.snapshot is not None else None
            return PARTITIONED_FULL if self.track_partitions and parts is not None else FULL
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "schema": self.schema,
            "table": self.table,
            "entry_index": self.entry_index,
            "action": self.action,
            "reason": self.reason,
            "snapshot_id": self.snapshot_id,
            "changed_partitions": list(self.changed_partitions),
            "estimated_rows": self.estimated_rows,
            "estimated_bytes": self.estimated_bytes,
            "estimated_cost": self.estimated_cost,
            "sample_fraction": self.sample_fraction,
            "strategy": self.strategy,
            "details": self.details,
        }


@dataclass(frozen=True)
class IncrementalPlan:
    decisions: tuple[TableDecision, ...]
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    warnings: tuple[str, ...] = ()

    def to_summary(self) -> dict[str, int]:
        counts = Counter(d.action for d in self.decisions)
        return {action: counts.get(action, 0) for action in ACTIONS}

    @property
    def to_run(self) -> list[TableDecision]:
        return [d for d in self.decisions if d.runs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisions": [d.to_dict() for d in self.decisions],
            "summary": self.to_summary(),
            "created_at": self.created_at.isoformat(),
            "warnings": list(self.warnings),
        }
