"""Partial profiling: only changed partitions are scanned, their aggregates replace the
stored ones, deleted partitions drop out, and the merged table profile equals a full
profile for every mergeable metric (exact for counts/min/max/histograms, 1e-9
relative for mean/stddev/sum)."""

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.catalog import TableRef, select_columns
from baselinr.config import BaselinrConfig
from baselinr.connectors import dialect_for
from baselinr.planner import PlanBuilder
from baselinr.profiling.profiler import TableProfile, profile_table
from baselinr.profiling.query import ProfileRequest
from baselinr.runner import BatchResult, ProfileRunner
from baselinr.storage.schema import results
from tests.support.incremental import (
    ALL_MERGEABLE,
    T0,
    StatementLog,
    incremental_block,
    make_incremental,
    partitions_of,
    runs_of,
    state_of,
    storage_rows,
    write,
)

MakeConfig = Callable[..., BaselinrConfig]
METRICS = [*ALL_MERGEABLE, "distinct_count", "unique_ratio"]
EXACT = {"count", "null_count", "min", "max", "zero_count", "histogram"}


def run(config: BaselinrConfig, at: dt.datetime, log: list[str] | None = None) -> BatchResult:
    runner = ProfileRunner(config)
    statements = StatementLog(runner.context.warehouse) if log is not None else None
    try:
        result = runner.profile(now=at)
    finally:
        if statements is not None:
            log.extend(statements.statements)  # type: ignore[union-attr]
            statements.close()
        runner.context.close()
    assert result.ok, [o.error for o in result.failed]
    return result


def reference(engine: sa.Engine, config: BaselinrConfig, table: TableRef) -> TableProfile:
    """A plain full profile of the table now, with the histogram edges in state."""
    state = state_of(config, table.table, table.schema)
    assert state is not None
    edges = {k: tuple(v) for k, v in state.metadata["histogram_edges"].items()}
    dialect = dialect_for(engine)
    entry = config.profiling.tables[0]
    with engine.connect() as conn:
        columns = select_columns(
            dialect.list_columns(conn, table.schema, table.table), entry.columns
        )
        request = ProfileRequest(
            table=table,
            columns=tuple(columns),
            metrics=tuple(METRICS),
            histogram_bins=config.profiling.histogram_bins,
            histogram_edges=edges,
        )
        return profile_table(conn, dialect, request)


def assert_mergeable_equal(
    got: TableProfile, want: TableProfile, metrics: list[str] = ALL_MERGEABLE
) -> None:
    assert got.rows == want.rows
    assert [c.column.name for c in got.columns] == [c.column.name for c in want.columns]
    for g, w in zip(got.columns, want.columns, strict=True):
        for name in metrics:
            if name not in w.metrics:
                continue
            a, b = g.metrics[name], w.metrics[name]
            where = f"{g.column.name}.{name}: {a!r} != {b!r}"
            if name in EXACT or a is None or b is None:
                assert a == b, where
            else:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), where


# --- Postgres: declaratively partitioned table ---------------------------------------------------

DAYS = [f"2025-01-0{d}" for d in range(1, 6)]


def child(day: str) -> str:
    return "events_" + day.replace("-", "_")


def partitioned_events(engine: sa.Engine) -> None:
    statements = [
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.events (id bigint, day date, amount float8, qty int, "
        "category text) PARTITION BY RANGE (day)",
    ]
    for day in DAYS:
        statements.append(
            f"CREATE TABLE sales.{child(day)} PARTITION OF sales.events "
            f"FOR VALUES FROM ('{day}') TO (DATE '{day}' + 1)"
        )
    statements.append(
        "INSERT INTO sales.events SELECT g, DATE '2025-01-01' + (g % 5), "
        "CASE WHEN g % 13 = 0 THEN NULL ELSE (g % 97) * 1.25 - 30 END, g % 7, "
        "CASE WHEN g % 11 = 0 THEN NULL ELSE 'c' || (g % 17) END "
        "FROM generate_series(1, 5000) g"
    )
    write(engine, *statements)


def events_config(
    make_config: MakeConfig, engine: sa.Engine, metrics: list[str] = ALL_MERGEABLE, **partial: Any
) -> BaselinrConfig:
    block = incremental_block(partial_profiling={"mergeable_metrics": ALL_MERGEABLE, **partial})
    return make_incremental(
        make_config,
        engine,
        [{"table": "events", "schema": "sales"}],
        block,
        profiling={"metrics": metrics},
    )


def tables_read(statements: list[str]) -> set[str]:
    return set(re.findall(r"FROM sales\.(\w+)", " ".join(statements)))


@pytest.mark.postgres
def test_postgres_one_changed_child_is_profiled_alone(
    pg_engine: sa.Engine, make_config: MakeConfig
) -> None:
    partitioned_events(pg_engine)
    config = events_config(make_config, pg_engine, METRICS, recompute_non_mergeable_max_rows=0)
    ref = TableRef("sales", "events")

    first = run(config, T0).outcomes[0]
    assert (first.action, first.decision.reason) == ("full", "no_prior_state")
    stored = partitions_of(config, "events")
    assert sorted(stored) == [child(d) for d in DAYS]
    assert {r["row_count"] for r in stored.values()} == {1000}
    assert_mergeable_equal(first.profile, reference(pg_engine, config, ref), METRICS)

    write(
        pg_engine,
        "INSERT INTO sales.events SELECT g, DATE '2025-01-03', g * 0.5, 1, 'new' FROM generate_series(9000, 9099) g",
        "UPDATE sales.events SET amount = 1e6 WHERE day = '2025-01-03' AND id < 50",
    )
    builder = PlanBuilder(config)
    try:
        decision = builder.get_tables_to_run(now=T0 + dt.timedelta(hours=1)).decisions[0]
    finally:
        builder.context.close()
    assert (decision.action, decision.reason) == ("partial", "partitions_changed")
    assert decision.changed_partitions == (child("2025-01-03"),)

    log: list[str] = []
    second = run(config, T0 + dt.timedelta(hours=1), log).outcomes[0]
    assert (second.action, second.status) == ("partial", "completed")
    assert tables_read(log) == {child("2025-01-03")}  # not the parent, not other children
    record = runs_of(config, "events")[-1]
    assert (record["action"], record["rows_scanned"], record["row_count"]) == (
        "partial",
        1100,
        5100,
    )
    assert_mergeable_equal(second.profile, reference(pg_engine, config, ref))
    assert partitions_of(config, "events")[child("2025-01-03")]["row_count"] == 1100
    assert partitions_of(config, "events")[child("2025-01-01")]["last_run_id"] == first.run_id

    # distinct_count/unique_ratio are not mergeable and the table is over the recompute
    # limit: carried from the first run, with that run's time, and said so.
    meta = json.loads(record["metadata"])
    assert meta["carried_metrics"] == ["distinct_count", "unique_ratio"]
    assert meta["carried_from_run_id"] == first.run_id
    first_finished = runs_of(config, "events")[0]["finished_at"]
    carried = storage_rows(config, results, run_id=second.run_id, metric_name="distinct_count")
    fresh = storage_rows(config, results, run_id=second.run_id, metric_name="count")
    assert {r["profiled_at"] for r in carried} == {first_finished}
    assert all(r["profiled_at"] > first_finished for r in fresh)
    assert (
        second.profile.column("category").metrics["distinct_count"]
        == first.profile.column("category").metrics["distinct_count"]
    )


@pytest.mark.postgres
def test_postgres_dropped_and_added_children(pg_engine: sa.Engine, make_config: MakeConfig) -> None:
    partitioned_events(pg_engine)
    config = events_config(make_config, pg_engine)
    ref = TableRef("sales", "events")
    run(config, T0)

    write(pg_engine, f"DROP TABLE sales.{child('2025-01-05')}")
    dropped = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (dropped.action, dropped.decision.changed_partitions) == (
        "partial",
        (child("2025-01-05"),),
    )
    assert child("2025-01-05") not in partitions_of(config, "events")
    assert dropped.profile.rows == 4000
    want = reference(pg_engine, config, ref)
    assert_mergeable_equal(dropped.profile, want)

    write(
        pg_engine,
        "CREATE TABLE sales.events_2025_01_09 PARTITION OF sales.events FOR VALUES FROM ('2025-01-09') TO ('2025-01-10')",
        "INSERT INTO sales.events SELECT g, DATE '2025-01-09', -g, 0, NULL FROM generate_series(1, 10) g",
    )
    added = run(config, T0 + dt.timedelta(hours=2)).outcomes[0]
    assert (added.action, added.decision.changed_partitions) == ("partial", ("events_2025_01_09",))
    assert_mergeable_equal(added.profile, reference(pg_engine, config, ref))
    record = runs_of(config, "events")[-1]
    assert "carried_metrics" not in json.loads(record["metadata"])

    write(pg_engine, "ALTER TABLE sales.events ADD COLUMN note text")
    altered = run(config, T0 + dt.timedelta(hours=3)).outcomes[0]
    assert (altered.action, altered.decision.reason) == ("full", "snapshot_changed")
    assert "note" in [c.column.name for c in altered.profile.columns]
    assert len(partitions_of(config, "events")) == 5


# --- SQLite (and DuckDB): partitions are values of partition.key --------------------------------


def orders(engine: sa.Engine) -> None:
    rows = ", ".join(
        f"({i}, '2025-02-{1 + i % 4:02d}', {('NULL' if i % 9 == 0 else (i % 31) * 2.5 - 7)}, {i % 5}, 'v{i % 3}')"
        for i in range(1, 201)
    )
    write(
        engine,
        "CREATE TABLE orders (id integer, day varchar(10), amount float8, qty integer, tag varchar(5))",
        f"INSERT INTO orders VALUES {rows}",
    )


def orders_config(
    make_config: MakeConfig, engine: sa.Engine, metrics: list[str] = ALL_MERGEABLE, **partial: Any
) -> BaselinrConfig:
    block = incremental_block(partial_profiling={"mergeable_metrics": ALL_MERGEABLE, **partial})
    return make_incremental(
        make_config,
        engine,
        [{"table": "orders", "partition": {"key": "day"}}],
        block,
        profiling={"metrics": metrics},
    )


@pytest.fixture(params=["sqlite", "duckdb"])
def local(request: pytest.FixtureRequest, tmp_path: Any) -> sa.Engine:
    suffix = "db" if request.param == "sqlite" else "duckdb"
    return sa.create_engine(f"{request.param}:///{tmp_path / f'p.{suffix}'}")


def test_key_partitions_insert_delete_and_new(local: sa.Engine, make_config: MakeConfig) -> None:
    orders(local)
    config = orders_config(make_config, local)
    ref = TableRef("main", "orders")
    first = run(config, T0).outcomes[0]
    assert sorted(partitions_of(config, "orders")) == [f"2025-02-0{d}" for d in range(1, 5)]
    assert_mergeable_equal(first.profile, reference(local, config, ref))

    write(
        local,
        "INSERT INTO orders VALUES (500, '2025-02-02', 99.5, 0, 'z'), (501, '2025-02-02', NULL, 3, NULL)",
    )
    log: list[str] = []
    inserted = run(config, T0 + dt.timedelta(hours=1), log).outcomes[0]
    assert (inserted.action, inserted.decision.changed_partitions) == ("partial", ("2025-02-02",))
    grouped = [s for s in log if "GROUP BY" in s and "amount" in s]
    assert grouped and all("IN (" in s for s in grouped)  # restricted to the changed key
    assert_mergeable_equal(inserted.profile, reference(local, config, ref))

    write(local, "DELETE FROM orders WHERE day = '2025-02-04'")
    deleted = run(config, T0 + dt.timedelta(hours=2)).outcomes[0]
    assert (deleted.action, deleted.decision.changed_partitions) == ("partial", ("2025-02-04",))
    assert "2025-02-04" not in partitions_of(config, "orders")
    assert_mergeable_equal(deleted.profile, reference(local, config, ref))

    write(
        local,
        "INSERT INTO orders VALUES (600, '2025-03-01', 1e9, 1, 'big'), (601, NULL, -1e9, 1, 'neg')",
    )
    added = run(config, T0 + dt.timedelta(hours=3)).outcomes[0]
    assert added.action == "partial"
    assert sorted(added.decision.changed_partitions) == ["2025-03-01", "NULL"]
    # values outside the histogram edges fixed by the first run land in under/overflow
    hist = added.profile.column("amount").metrics["histogram"]
    assert (hist["overflow"], hist["underflow"]) == (2, 1)  # 99.5 and 1e9; -1e9
    assert_mergeable_equal(added.profile, reference(local, config, ref))

    unchanged = run(config, T0 + dt.timedelta(hours=4)).outcomes[0]
    assert unchanged.decision.reason == "snapshot_match"


def test_partial_becomes_full_when_the_columns_changed(
    tmp_path: Any, make_config: MakeConfig
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    orders(engine)
    config = orders_config(make_config, engine)
    run(config, T0)
    write(engine, "ALTER TABLE orders ADD COLUMN note varchar(10)")
    # The fallback fingerprint cannot see a schema change (documented); the next data
    # change plans a partial, which finds the stored aggregates stale and runs full.
    write(engine, "INSERT INTO orders VALUES (700, '2025-02-01', 1, 1, 'x', 'hello')")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert outcome.decision.action == "partial"
    assert (outcome.action, outcome.executed_action, outcome.status) == (
        "full",
        "full",
        "completed",
    )
    record = runs_of(config, "orders")[-1]
    assert record["action"] == "full"  # what ran; the reason says a partial was planned
    meta = json.loads(record["metadata"])
    assert meta["action"] == "full" and "columns changed" in meta["partial_upgraded_to_full"]
    assert_mergeable_equal(outcome.profile, reference(engine, config, TableRef("main", "orders")))
    state = state_of(config, "orders")
    assert state is not None and ["note", "VARCHAR(10)"] in state.metadata["columns"]
    write(engine, "INSERT INTO orders VALUES (701, '2025-02-03', 2, 2, 'y', 'x')")
    assert run(config, T0 + dt.timedelta(hours=2)).outcomes[0].action == "partial"


def test_emptied_table_after_partial_deletes(tmp_path: Any, make_config: MakeConfig) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    orders(engine)
    config = orders_config(make_config, engine)
    run(config, T0)
    write(engine, "DELETE FROM orders")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert outcome.status == "completed" and outcome.profile.rows == 0
    assert outcome.decision.action == "partial"
    assert partitions_of(config, "orders") == {}
    assert outcome.profile.column("amount").metrics["count"] == 0


def test_a_partial_that_needs_a_table_pass_runs_full_instead(
    tmp_path: Any, make_config: MakeConfig
) -> None:
    """Metrics outside ``mergeable_metrics`` (distinct counts, here also mean and
    stddev) on a table small enough to recompute them need a whole-table pass: one
    full profile reads fewer rows than the changed partitions plus that pass."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    orders(engine)
    config = orders_config(
        make_config, engine, METRICS, mergeable_metrics=["count", "null_count", "min", "max"]
    )
    first = run(config, T0).outcomes[0]
    assert first.decision.track_partitions is False  # nothing to gain from partition state
    assert partitions_of(config, "orders") == {}
    write(engine, "INSERT INTO orders VALUES (800, '2025-02-01', 1234.5, 4, 'q')")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (outcome.action, outcome.decision.reason) == ("full", "partial_not_cheaper")
    assert outcome.decision.details["table_pass_metrics"] == [
        "null_ratio", "mean", "stddev", "sum", "zero_count", "histogram", "distinct_count",
        "unique_ratio",
    ]  # fmt: skip
    record = runs_of(config, "orders")[-1]
    assert record["rows_scanned"] == record["row_count"] == 201  # never more than the table
    assert_mergeable_equal(
        outcome.profile, reference(engine, config, TableRef("main", "orders")), METRICS
    )


# --- hostile identifiers, nested partitions ---------------------------------------------------


def test_partial_with_hostile_identifiers(tmp_path: Any, make_config: MakeConfig) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    table, key = 'we"ird; drop table x', 'k"ey day'
    write(
        engine,
        'CREATE TABLE "we""ird; drop table x" ("k""ey day" text, "ünï côde" float)',
        """INSERT INTO "we""ird; drop table x" VALUES ('a', 1), ('b', 2), ('c', NULL)""",
    )
    block = incremental_block(partial_profiling={"mergeable_metrics": ALL_MERGEABLE})
    config = make_incremental(
        make_config,
        engine,
        [{"table": table, "partition": {"key": key}}],
        block,
        profiling={"metrics": ALL_MERGEABLE},
    )
    run(config, T0)
    write(engine, """INSERT INTO "we""ird; drop table x" VALUES ('b', 5)""")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (outcome.action, outcome.decision.changed_partitions) == ("partial", ("b",))
    assert_mergeable_equal(outcome.profile, reference(engine, config, TableRef("main", table)))


@pytest.mark.postgres
def test_postgres_sub_partitions_and_odd_child_names(
    pg_engine: sa.Engine, make_config: MakeConfig
) -> None:
    write(
        pg_engine,
        "CREATE TABLE m (region text, day date, v float8) PARTITION BY LIST (region)",
        "CREATE TABLE \"m eu; x\" PARTITION OF m FOR VALUES IN ('eu') PARTITION BY RANGE (day)",
        "CREATE TABLE \"m eu jan\" PARTITION OF \"m eu; x\" FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')",
        "CREATE TABLE \"m eu feb\" PARTITION OF \"m eu; x\" FOR VALUES FROM ('2025-02-01') TO ('2025-03-01')",
        "CREATE TABLE \"M-US\" PARTITION OF m FOR VALUES IN ('us')",
        "INSERT INTO m SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, "
        "DATE '2025-01-01' + (g % 50), g * 0.25 FROM generate_series(1, 300) g",
    )
    block = incremental_block(partial_profiling={"mergeable_metrics": ALL_MERGEABLE})
    config = make_incremental(
        make_config, pg_engine, [{"table": "m"}], block, profiling={"metrics": ALL_MERGEABLE}
    )
    run(config, T0)
    assert sorted(partitions_of(config, "m")) == ["M-US", "m eu feb", "m eu jan"]  # leaves only
    write(pg_engine, "INSERT INTO m VALUES ('eu', '2025-02-10', 99)")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (outcome.action, outcome.decision.changed_partitions) == ("partial", ("m eu feb",))
    assert_mergeable_equal(outcome.profile, reference(pg_engine, config, TableRef("public", "m")))


@pytest.mark.parametrize("switch", [{"enabled": False}, {"allow_partition_pruning": False}])
def test_partial_profiling_switched_off_means_full(
    tmp_path: Any, make_config: MakeConfig, switch: dict[str, bool]
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    orders(engine)
    config = orders_config(make_config, engine, **switch)
    run(config, T0)
    assert partitions_of(config, "orders") == {}
    write(engine, "INSERT INTO orders VALUES (900, '2025-02-01', 3, 3, 'x')")
    outcome = run(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (outcome.action, outcome.decision.reason) == ("full", "snapshot_changed")
    assert outcome.decision.details["detector"] == "fingerprint"  # no manifest needed


def test_unmergeable_metrics_in_mergeable_metrics_are_a_config_error(
    tmp_path: Any, make_config: MakeConfig
) -> None:
    from baselinr.errors import ConfigError

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    orders(engine)
    with pytest.raises(ConfigError, match="distinct_count cannot be merged"):
        orders_config(make_config, engine, mergeable_metrics=["count", "distinct_count"])
