"""Incremental planning and partial profiling on PostgreSQL (a benchmark, not a test).

Part 1 — 1,000 configured tables, nothing changed since they were profiled: wall time
of ``PlanBuilder.get_tables_to_run()`` (a new builder each time, as the CLI and the
Dagster sensor make one), the statements it sends to the warehouse split into the
change-detection catalog query, other catalog lookups and data scans.
Targets: <= 2 s, 1 detection query for the source, 0 scans.

Part 2 — 10M rows in a table partitioned into 100 daily partitions, one partition
changed: the partial profile (planned by the same entry point) against a full
profile of the table. Target: partial <= 5% of full.

Run: ``make bench-plan`` (starts a throwaway PostgreSQL; BASELINR_TEST_PG_URL uses an
existing server). ``--rows``/``--tables`` scale it down for a quick look.
"""

import argparse
import datetime as dt
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baselinr.config import BaselinrConfig, load_config  # noqa: E402
from baselinr.planner import PlanBuilder  # noqa: E402
from baselinr.runner import ProfileRunner  # noqa: E402
from tests.support.pgcluster import ExistingServer, PostgresCluster  # noqa: E402

SCAN = re.compile(r"\bbench\.\"?t\d{4}\b")
MERGEABLE = ["count", "null_count", "null_ratio", "min", "max", "mean", "stddev", "histogram"]


class Counter:
    """Statements an engine sends, by kind."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def kinds(self) -> dict[str, int]:
        detection = [s for s in self.statements if "pg_stat_all_tables" in s]
        scans = [s for s in self.statements if SCAN.search(s)]
        return {
            "detection": len(detection),
            "scans": len(scans),
            "other catalog": len(self.statements) - len(detection) - len(scans),
        }


def write_config(
    directory: Path,
    name: str,
    url: str,
    tables: list[dict[str, Any]],
    incremental: dict[str, Any],
    **profiling: Any,
) -> BaselinrConfig:
    data = {
        "environment": "bench",
        "source": {"url": url},
        "storage": {"connection": {"type": "sqlite", "filepath": str(directory / f"{name}.db")}},
        "profiling": {"max_workers": 2, "tables": tables, **profiling},
        "incremental": incremental,
    }
    path = directory / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def execute(engine: sa.Engine, sql: str, flush: bool = True) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql))
        if flush:
            conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))


def part1(url: str, directory: Path, n_tables: int) -> None:
    engine = sa.create_engine(url)
    print(
        f"== Part 1: {n_tables:,} configured tables, nothing changed "
        "(adaptive scheduling off: every table is checked)"
    )
    started = time.perf_counter()
    execute(engine, "CREATE SCHEMA bench")
    execute(
        engine,
        f"""
        DO $$ BEGIN
          FOR i IN 0..{n_tables - 1} LOOP
            EXECUTE format('CREATE TABLE bench.%I (id int, v float8, s text)', 't' || lpad(i::text, 4, '0'));
            EXECUTE format('INSERT INTO bench.%I SELECT g, g * 0.5, ''x'' || g FROM generate_series(1, 10) g',
                           't' || lpad(i::text, 4, '0'));
          END LOOP;
        END $$;
        """,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))
    print(f"setup: {time.perf_counter() - started:.1f} s")

    tables = [{"table": f"t{i:04d}", "schema": "bench"} for i in range(n_tables)]
    config = write_config(
        directory,
        "many",
        url,
        tables,
        {"enabled": True, "change_detection": {"snapshot_ttl_minutes": 1440}},
        metrics=["count", "null_count", "min", "max"],
    )
    runner = ProfileRunner(config)
    started = time.perf_counter()
    first = runner.profile()
    runner.context.close()
    print(
        f"first profile of all tables (seeds the state): {time.perf_counter() - started:.1f} s, {first.summary()}"
    )

    times, counts, summary = [], {}, {}
    for _ in range(5):
        builder = PlanBuilder(config)
        counter = Counter(builder.context.warehouse)
        started = time.perf_counter()
        plan = builder.get_tables_to_run()
        times.append(time.perf_counter() - started)
        counts, summary = counter.kinds(), plan.to_summary()
        builder.context.close()
    assert summary["skip"] == n_tables, summary
    print(
        f"plan wall time: median {statistics.median(times):.3f} s, first {times[0]:.3f} s, max {max(times):.3f} s (5 runs, new PlanBuilder each)"
    )
    print(
        f"warehouse statements per plan: {counts['detection']} change-detection catalog query, "
        f"{counts['other catalog']} other catalog lookups (resolving the configured tables), "
        f"{counts['scans']} data scans"
    )
    print(f"decisions: {summary}")
    target = statistics.median(times) <= 2.0 and counts["detection"] == 1 and counts["scans"] == 0
    print(f"target (<= 2 s, 1 detection query, 0 scans): {'met' if target else 'NOT met'}")
    engine.dispose()


def part2(url: str, directory: Path, rows: int, partitions: int) -> None:
    engine = sa.create_engine(url)
    per = rows // partitions
    print(f"\n== Part 2: {rows:,} rows in {partitions} daily partitions, one partition changed")
    started = time.perf_counter()
    execute(
        engine,
        "CREATE TABLE bench.events (id bigint, day date, amount float8, qty int, category text, note text) PARTITION BY RANGE (day)",
    )
    execute(
        engine,
        f"""
        DO $$ BEGIN
          FOR d IN 0..{partitions - 1} LOOP
            EXECUTE format('CREATE TABLE bench.%I PARTITION OF bench.events FOR VALUES FROM (%L) TO (%L)',
                           'events_' || to_char(DATE '2024-01-01' + d, 'YYYYMMDD'),
                           DATE '2024-01-01' + d, DATE '2024-01-01' + d + 1);
          END LOOP;
        END $$;
        """,
    )
    execute(
        engine,
        f"""
        INSERT INTO bench.events
        SELECT g, DATE '2024-01-01' + CAST(g % {partitions} AS int),
               CASE WHEN g % 50 = 0 THEN NULL ELSE ((g * 7919) % 100000) / 100.0 END,
               (g * 31) % 1000,
               'cat' || ((g * 13) % 200),
               CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || (g % 10007) END
        FROM generate_series(CAST(1 AS bigint), {rows}) g
        """,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE bench.events"))
    print(f"setup: {time.perf_counter() - started:.1f} s ({per:,} rows per partition)")

    entry = [{"table": "events", "schema": "bench"}]
    plain = write_config(directory, "plain", url, entry, {"enabled": False})
    incremental = write_config(
        directory,
        "incremental",
        url,
        entry,
        {"enabled": True, "partial_profiling": {"mergeable_metrics": MERGEABLE}},
    )

    def profile(config: BaselinrConfig) -> tuple[float, Any]:
        runner = ProfileRunner(config)
        started = time.perf_counter()
        result = runner.profile()
        elapsed = time.perf_counter() - started
        runner.context.close()
        (outcome,) = result.outcomes
        assert outcome.status == "completed", outcome.error
        return elapsed, outcome

    full_time, full = profile(plain)
    print(
        f"full profile (default metrics, incremental off): {full_time:.2f} s, {full.profile.statements} statements"
    )
    first_time, first = profile(incremental)
    print(
        f"first incremental run ({first.action}, {first.decision.reason}; also stores {partitions} partition aggregates): {first_time:.2f} s"
    )

    day = (dt.date(2024, 1, 1) + dt.timedelta(days=partitions // 2)).isoformat()
    execute(
        engine, f"UPDATE bench.events SET amount = amount + 1 WHERE day = '{day}' AND id % 100 = 0"
    )
    execute(
        engine,
        f"INSERT INTO bench.events SELECT {rows} + g, DATE '{day}', g, 1, 'new', NULL FROM generate_series(1, 1000) g",
    )

    builder = PlanBuilder(incremental)
    started = time.perf_counter()
    plan = builder.get_tables_to_run()
    plan_time = time.perf_counter() - started
    builder.context.close()
    (decision,) = plan.decisions
    print(
        f"plan: {decision.action} ({decision.reason}) {list(decision.changed_partitions)} in {plan_time:.3f} s"
    )
    assert decision.action == "partial", decision

    runner = ProfileRunner(incremental)
    started = time.perf_counter()
    result = runner.execute(plan)
    partial_time = time.perf_counter() - started
    (outcome,) = result.outcomes
    assert outcome.status == "completed" and outcome.action == "partial", outcome
    record = runner.context.storage.reader.run(outcome.run_id)
    runner.context.close()
    print(
        f"partial profile: {partial_time:.2f} s, scanned {record.rows_scanned:,} rows of {record.row_count:,}, {outcome.profile.statements} statements"
    )

    after_time, after = profile(plain)
    worst = 0.0
    for got, want in zip(outcome.profile.columns, after.profile.columns, strict=True):
        for name in MERGEABLE:
            a, b = got.metrics.get(name), want.metrics.get(name)
            if isinstance(a, float) and isinstance(b, float) and b:
                worst = max(worst, abs(a - b) / abs(b))
            elif name in want.metrics and a != b:
                raise AssertionError(f"{got.column.name}.{name}: {a!r} != {b!r}")
    print(
        f"merged vs full profile of the changed table ({after_time:.2f} s): counts/min/max/histograms equal, "
        f"max relative difference of mean/stddev/null_ratio {worst:.1e}"
    )
    ratio = partial_time / full_time
    print(
        f"ratio partial / full: {ratio:.4f} ({ratio:.2%}); target <= 5%: {'met' if ratio <= 0.05 else 'NOT met'}"
    )
    warm = partial_time / after_time
    print(
        f"ratio partial / full profile after the change (warmer cache): {warm:.4f} ({warm:.2%}); "
        f"target <= 5%: {'met' if warm <= 0.05 else 'NOT met'}"
    )
    print(f"ratio partial / first incremental run: {partial_time / first_time:.4f}")
    assert math.isfinite(ratio)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=100)
    args = parser.parse_args()
    server: Any
    if os.environ.get("BASELINR_TEST_PG_URL"):
        server = ExistingServer(os.environ["BASELINR_TEST_PG_URL"])
    else:
        server = PostgresCluster().start()
    try:
        url = server.create_database("baselinr_plan_bench")
        with tempfile.TemporaryDirectory() as tmp:
            part1(url, Path(tmp), args.tables)
            part2(url, Path(tmp), args.rows, args.partitions)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
