"""What the planner decided: one ``TableDecision`` per concrete table."""

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIONS = ("full", "partial", "sample", "skip", "defer")
RUN_ACTIONS = frozenset({"full", "partial", "sample"})


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

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    @property
    def runs(self) -> bool:
        return self.action in RUN_ACTIONS

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed_partitions"] = list(self.changed_partitions)
        return data


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
