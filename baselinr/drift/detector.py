"""``DriftDetector``: judge one completed run against its baseline.

Works from stored results only, so the same report can be rebuilt later (a Dagster
check re-evaluated, ``baselinr drift`` run tomorrow) without profiling again.
"""

import math
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from baselinr.config.drift import TABLE_METRICS, DriftDetectionConfig, DriftSettings
from baselinr.config.models import BaselinrConfig
from baselinr.connectors.base import categorize
from baselinr.drift.baselines import (
    SAMPLE_SAFE,
    History,
    RunSnapshot,
    load_history,
    unusable_reason,
)
from baselinr.drift.distributions import align_histograms, align_top_values
from baselinr.drift.report import DriftFinding, DriftReport
from baselinr.drift.schema_changes import schema_changes
from baselinr.drift.severity import rank
from baselinr.drift.strategies import (
    Judgement,
    Observation,
    Skipped,
    judge_distribution,
    judge_scalar,
    metric_kind,
)
from baselinr.errors import DriftError
from baselinr.profiling.metrics import METRICS, OTHER
from baselinr.storage import Storage
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import StoredRun
from baselinr.values import to_float

_ORDER = {name: i for i, name in enumerate((*TABLE_METRICS, *METRICS))}


class DriftDetector:
    """Judge completed runs. Thread-safe; reuse it."""

    def __init__(
        self,
        config: BaselinrConfig | DriftDetectionConfig,
        storage: Storage | ResultReader,
    ) -> None:
        self.config = config.drift_detection if isinstance(config, BaselinrConfig) else config
        self.reader = storage.reader if isinstance(storage, Storage) else storage
        self._history_runs, self._period_days = self.config.history_needs()
        self._watched = self.config.watched_metrics() | {"count", "stddev"}
        self._settings: dict[tuple[str | None, str, str | None, str | None], DriftSettings] = {}

    def detect(self, run_id: str) -> DriftReport:
        """The drift report of one completed run."""
        row = self.reader.run(run_id)
        if row is None:
            raise DriftError(f"no run {run_id} in storage")
        if not row.completed:
            raise DriftError(f"run {run_id} is {row.status}; drift needs a completed run")
        return self._detect(row)

    def detect_latest(self, schema: str | None, table: str) -> DriftReport | None:
        """The report of the table's latest completed run (None: never profiled)."""
        run = self.reader.latest_completed_run(schema, table)
        return self._detect(run) if run is not None else None

    # --- internals ---------------------------------------------------------------------
    def _detect(self, row: StoredRun) -> DriftReport:
        cfg = self.config
        table_settings = self._settings_for(row.schema_name, row.table_name, None, None)
        sampled = row.sampled
        report = _Builder(row, cfg, table_settings)
        if sampled and cfg.sampled_runs == "exclude":
            report.note("sampled run: excluded from drift detection (sampled_runs: exclude)")
            return report.build()
        history = load_history(
            self.reader,
            row,
            self._history_runs,
            self._period_days,
            self._watched,
            include_sampled=cfg.sampled_runs == "compare",
        )
        if not history.previous:
            report.note("first completed run of this table: nothing to compare with yet")
            return report.build()
        previous = history.previous[0]
        report.previous_run_id = previous.run_id
        report.schema_changes = schema_changes(
            previous.columns, history.current.columns, cfg.schema_changes
        )
        if sampled:
            fraction = row.sample_fraction
            report.note(
                f"sampled run{f' ({fraction:g} of rows)' if fraction else ''}: compared only "
                f"{', '.join(sorted(SAMPLE_SAFE))}"
            )
        if row.action == "partial":
            report.note("partial run: non-mergeable metrics are not compared")
        for column, category in self._columns(history.current):
            settings = self._settings_for(row.schema_name, row.table_name, column, category)
            if settings.enabled:
                self._judge_column(report, history, column, settings)
        return report.build()

    def _settings_for(
        self, schema: str | None, table: str, column: str | None, category: str | None
    ) -> DriftSettings:
        key = (schema, table, column, category)
        found = self._settings.get(key)
        if found is None:
            found = self._settings[key] = self.config.settings_for(schema, table, column, category)
        return found

    @staticmethod
    def _columns(run: RunSnapshot) -> Iterator[tuple[str | None, str | None]]:
        yield None, None
        for column, type_name in run.columns.items():
            yield column, categorize(type_name)[0] if type_name else OTHER

    def _judge_column(
        self,
        report: "_Builder",
        history: History,
        column: str | None,
        settings: DriftSettings,
    ) -> None:
        current = history.current
        table_level = column is None
        for metric in sorted(settings.metrics, key=lambda m: _ORDER.get(m, len(_ORDER))):
            if (metric in TABLE_METRICS) != table_level:
                continue
            value = current.value(column, metric)
            if value is None:
                continue  # not profiled for this column
            reason = unusable_reason(current, metric)
            if reason is not None:
                report.skip(reason, column, metric)
                continue
            candidates = history.baseline(
                settings.baseline, settings.baseline_window, settings.days
            )
            if (
                column is not None
                and candidates
                and all(column not in r.columns for r in candidates)
            ):
                continue  # a new column: a schema change, not drift
            runs = [
                r
                for r in candidates
                if r.value(column, metric) is not None and unusable_reason(r, metric) is None
            ]
            if len(runs) < len(candidates):
                report.dropped(column, metric, len(candidates) - len(runs))
            if not runs:
                report.skip(f"no comparable {settings.baseline} baseline", column, metric)
                continue
            column_type = current.columns.get(column) if column is not None else None
            for name, judged, used, now in self._judge_metric(
                settings, column, metric, value, current, runs
            ):
                if isinstance(judged, Skipped):
                    report.skip(judged.reason, column, name)
                    continue
                report.judged(settings, column, column_type, name, judged, used, now)

    def _judge_metric(
        self,
        settings: DriftSettings,
        column: str | None,
        metric: str,
        value: Any,
        current: RunSnapshot,
        runs: list[RunSnapshot],
    ) -> Iterator[tuple[str, Judgement | Skipped, list[RunSnapshot], float | None]]:
        """(metric name, judgement, baseline runs used, current value) per judged
        metric; quantiles give one per level."""
        kind = metric_kind(metric)
        significance = self.config.significance_level
        if metric == "histogram":
            aligned = align_histograms(value, [r.value(column, metric) for r in runs])
            if aligned is None:
                return
            edges = value.get("edges") if isinstance(value, dict) else None
            used = [r for r in runs if (r.value(column, metric) or {}).get("edges") == edges]
            yield metric, judge_distribution(settings, metric, aligned, significance), used, None
            return
        if metric == "top_values":
            aligned = align_top_values(
                value,
                _number(current.value(column, "count")),
                [(r.value(column, metric), _number(r.value(column, "count"))) for r in runs],
            )
            if aligned is None:
                return
            yield metric, judge_distribution(settings, metric, aligned, significance), runs, None
            return
        if metric == "quantiles":
            if not isinstance(value, dict):
                return
            for level in value:
                name = f"quantiles.{level}"
                cur = _number(value.get(level))
                base = [_number((r.value(column, metric) or {}).get(level)) for r in runs]
                pairs = [(r, b) for r, b in zip(runs, base, strict=True) if b is not None]
                if cur is None or not pairs:
                    continue
                yield (
                    name,
                    judge_scalar(
                        settings,
                        name,
                        Observation(cur),
                        [Observation(b) for _, b in pairs],
                        significance,
                    ),
                    [r for r, _ in pairs],
                    cur,
                )
            return
        cur = _number(value)
        if cur is None:
            yield metric, Skipped("not a number"), runs, None
            return
        observed = [(r, self._observe(kind, metric, column, r)) for r in runs]
        usable = [(r, o) for r, o in observed if o is not None]
        mine = self._observe(kind, metric, column, current)
        if mine is None or not usable:
            yield metric, Skipped("not a number"), runs, None
            return
        judged = judge_scalar(settings, metric, mine, [o for _, o in usable], significance)
        yield metric, judged, [r for r, _ in usable], cur

    @staticmethod
    def _observe(
        kind: str, metric: str, column: str | None, run: RunSnapshot
    ) -> Observation | None:
        value = _number(run.value(column, metric))
        if value is None:
            return None
        if kind == "ratio":
            return Observation(value, n=_ratio_size(metric, column, run))
        if metric == "mean":
            return Observation(value, spread=_number(run.value(column, "stddev")))
        return Observation(value)


def _number(value: Any) -> float | None:
    """A stored metric as a float for judging (exact integers and decimals too);
    None for non-numbers and values beyond the double range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    number = to_float(value)
    return number if math.isfinite(number) else None


def _ratio_size(metric: str, column: str | None, run: RunSnapshot) -> float | None:
    """How many items a ratio is a share of: rows for null_ratio, non-null values for
    unique_ratio."""
    rows = run.rows_scanned if run.rows_scanned is not None else run.row_count
    if metric == "null_ratio":
        return float(rows) if rows is not None else None
    count = _number(run.value(column, "count"))
    if count is not None:
        return count
    null_ratio = _number(run.value(column, "null_ratio"))
    if rows is not None and null_ratio is not None:
        return rows * (1.0 - null_ratio)
    return None


class _Builder:
    """Collects findings and notes while one run is judged."""

    def __init__(
        self, row: StoredRun, config: DriftDetectionConfig, table_settings: DriftSettings
    ) -> None:
        self.row = row
        self.config = config
        self.table_settings = table_settings
        self.findings: list[DriftFinding] = []
        self.schema_changes: tuple[Any, ...] = ()
        self.previous_run_id: str | None = None
        self.baseline_ids: dict[str, None] = {}
        self.compared = 0
        self.notes: list[str] = []
        self.skipped: dict[str, list[str]] = defaultdict(list)
        self.dropped_runs: dict[int, list[str]] = defaultdict(list)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def skip(self, reason: str, column: str | None, metric: str) -> None:
        self.skipped[reason].append(_label(column, metric))

    def dropped(self, column: str | None, metric: str, count: int) -> None:
        self.dropped_runs[count].append(_label(column, metric))

    def judged(
        self,
        settings: DriftSettings,
        column: str | None,
        column_type: str | None,
        metric: str,
        judged: Judgement,
        runs: list[RunSnapshot],
        current: float | None,
    ) -> None:
        self.compared += 1
        for run in runs:
            self.baseline_ids.setdefault(run.run_id)
        if judged.severity == "none":
            return
        base = judged.baseline_value
        change = current - base if current is not None and base is not None else None
        percent = change / abs(base) * 100.0 if change is not None and base else None
        self.findings.append(
            DriftFinding(
                column_name=column,
                column_type=column_type,
                metric=metric,
                baseline_value=base,
                current_value=current,
                change=change,
                change_percent=percent,
                score=judged.score,
                score_unit=judged.unit,
                severity=judged.severity,
                strategy=settings.strategy,
                baseline_kind=settings.baseline,
                baseline_runs=len(runs),
                detail=judged.detail,
            )
        )

    def build(self) -> DriftReport:
        notes = list(self.notes)
        for reason, labels in sorted(self.skipped.items()):
            notes.append(f"not judged, {reason}: {_listing(labels)}")
        for count, labels in sorted(self.dropped_runs.items()):
            notes.append(
                f"{count} baseline run(s) not comparable (sampled, partial or missing the "
                f"metric) for: {_listing(labels)}"
            )
        findings = sorted(
            self.findings,
            key=lambda f: (-rank(f.severity), f.column_name or "", _ORDER.get(f.metric, 99)),
        )
        return DriftReport(
            run_id=self.row.run_id,
            schema_name=self.row.schema_name,
            table_name=self.row.table_name,
            action=self.row.action,
            started_at=self.row.started_at,
            strategy=self.config.strategy,
            baseline_kind=self.table_settings.baseline,
            baseline_run_ids=tuple(self.baseline_ids),
            previous_run_id=self.previous_run_id,
            findings=tuple(findings),
            schema_changes=self.schema_changes,
            compared=self.compared,
            notes=tuple(notes),
            sample_fraction=self.row.sample_fraction,
        )


def _label(column: str | None, metric: str) -> str:
    return f"{column}.{metric}" if column is not None else metric


def _listing(labels: list[str], limit: int = 8) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")
