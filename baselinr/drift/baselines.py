"""Which earlier runs a run is compared with, and which metrics two runs can fairly be
compared on.

Baselines: ``last_run`` (the previous completed run), ``moving_average`` (the last
``window`` completed runs; for ``standard_deviation``, its history window) and
``prior_period`` (the completed run closest to ``days`` before this one, within half a
period). Everything is read from storage, so a run can be judged again at any time.

Fair comparison: a sampled run estimates shares, means and shapes well but not counts
(its row count is an extrapolation, its distinct count is of the sample), so only
``SAMPLE_SAFE`` metrics of a sampled run are compared. A partial run (merged partition
aggregates) is exact for mergeable metrics; the others may be carried over from an
older run, so they are not compared.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from baselinr.config.drift import TABLE_METRICS
from baselinr.profiling.metrics import METRICS
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import RunResults, StoredRun, was_sampled

#: Metrics a sample estimates without bias from its size.
SAMPLE_SAFE = frozenset(
    {"null_ratio", "mean", "stddev", "avg_length", "histogram", "top_values", "quantiles"}
)


@dataclass(frozen=True)
class RunSnapshot:
    """A completed run and (some of) its stored results."""

    run_id: str
    schema_name: str | None
    table_name: str
    started_at: dt.datetime
    action: str
    sample_fraction: float | None
    row_count: int | None
    rows_scanned: int | None
    columns: Mapping[str, str | None] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: StoredRun, results: RunResults | None) -> "RunSnapshot":
        return cls(
            run_id=row.run_id,
            schema_name=row.schema_name,
            table_name=row.table_name,
            started_at=row.started_at,
            action=row.action,
            sample_fraction=row.sample_fraction,
            row_count=row.row_count,
            rows_scanned=row.rows_scanned,
            columns=results.columns if results else {},
            metrics=results.metrics if results else {},
        )

    @property
    def sampled(self) -> bool:
        return was_sampled(self.action, self.sample_fraction)

    def value(self, column: str | None, metric: str) -> Any:
        """A stored metric (``column=None``: table metrics such as ``row_count``)."""
        if column is None:
            return self.row_count if metric == "row_count" else None
        return self.metrics.get(column, {}).get(metric)


def unusable_reason(run: RunSnapshot, metric: str) -> str | None:
    """Why ``metric`` of ``run`` must not be compared, or None when it may."""
    base = metric.split(".", 1)[0]
    if run.sampled and base not in SAMPLE_SAFE:
        return "sampled run (count-like metrics are not comparable)"
    if run.action == "partial" and base not in TABLE_METRICS and not METRICS[base].mergeable:
        return "partial run (non-mergeable metrics may be carried over)"
    return None


@dataclass(frozen=True)
class History:
    """A run and the earlier completed runs of its table that baselines draw from."""

    current: RunSnapshot
    previous: tuple[RunSnapshot, ...]  # newest first
    periods: Mapping[int, RunSnapshot | None]  # days -> run closest to days before

    def baseline(self, kind: str, window: int, days: int) -> tuple[RunSnapshot, ...]:
        """The runs of one baseline, newest first."""
        if kind == "last_run":
            return self.previous[:1]
        if kind == "moving_average":
            return self.previous[:window]
        if kind == "prior_period":
            run = self.periods.get(days)
            return (run,) if run is not None else ()
        raise ValueError(f"unknown baseline kind {kind!r}")


def load_history(
    reader: ResultReader,
    current: StoredRun,
    runs: int,
    period_days: Iterable[int],
    metrics: Iterable[str],
    *,
    include_sampled: bool = True,
) -> History:
    """Read the current run's results and those of the runs its baselines need: one
    query for the last ``runs`` runs, one per prior period, one for all results."""
    schema, table, started = current.schema_name, current.table_name, current.started_at
    database = current.database_name  # the same schema.table elsewhere is another table
    previous_rows = reader.completed_runs_before(
        schema, table, started, max(runs, 1), database=database
    )
    if not include_sampled:
        previous_rows = [r for r in previous_rows if not r.sampled]
    period_rows: dict[int, StoredRun | None] = {}
    for days in sorted(set(period_days)):
        target = started - dt.timedelta(days=days)
        half = dt.timedelta(days=days) / 2
        candidates = reader.completed_runs_between(
            schema, table, target - half, min(target + half, started), database=database
        )
        candidates = [
            r
            for r in candidates
            if r.run_id != current.run_id and (include_sampled or not r.sampled)
        ]
        period_rows[days] = min(
            candidates, key=lambda r: abs((r.started_at - target).total_seconds()), default=None
        )
    ids = [current.run_id, *(r.run_id for r in previous_rows)]
    ids += [r.run_id for r in period_rows.values() if r is not None]
    full = [current.run_id] + ([previous_rows[0].run_id] if previous_rows else [])
    found = reader.results_for_runs(ids, metrics=metrics, all_metrics_of=full)
    return History(
        current=RunSnapshot.from_row(current, found[current.run_id]),
        previous=tuple(RunSnapshot.from_row(r, found[r.run_id]) for r in previous_rows),
        periods={
            d: (RunSnapshot.from_row(r, found[r.run_id]) if r is not None else None)
            for d, r in period_rows.items()
        },
    )
