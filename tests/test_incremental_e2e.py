"""Incremental profiling end to end on real warehouses: the seed-002 test plan
(profile; no change -> skip; insert, update, delete, TRUNCATE -> profile), adaptive
scheduling without starvation, cost caps, the CLI and plans that never write."""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from baselinr.cli import main
from baselinr.config import BaselinrConfig
from baselinr.planner import PlanBuilder
from baselinr.runner import BatchResult, ProfileRunner
from baselinr.storage.schema import events, partition_state, runs, table_state
from tests.support.incremental import (
    T0,
    StatementLog,
    analyze,
    event_types,
    incremental_block,
    make_incremental,
    runs_of,
    seed_block,
    state_of,
    storage_rows,
    write,
)

MakeConfig = Callable[..., BaselinrConfig]


def schema_for(engine: sa.Engine) -> str:
    return "main" if engine.dialect.name == "sqlite" else "analytics"


def create_orders(engine: sa.Engine, rows: int = 20) -> str:
    schema = schema_for(engine)
    prefix = "" if schema == "main" else f"{schema}."
    statements = [] if schema == "main" else [f"CREATE SCHEMA {schema}"]
    statements.append(
        f"CREATE TABLE {prefix}daily_orders (id integer, order_date date, amount float8, "
        "status varchar(20), updated_at timestamp)"
    )
    write(engine, *statements)
    insert_orders(engine, range(1, rows + 1))
    return f"{prefix}daily_orders"


def insert_orders(engine: sa.Engine, ids: range, when: str = "2025-01-01 00:00:00") -> None:
    name = "daily_orders" if engine.dialect.name == "sqlite" else "analytics.daily_orders"
    values = ", ".join(
        f"({i}, '2025-01-{1 + i % 3:02d}', {i * 1.5}, '{'paid' if i % 4 else 'open'}', '{when}')"
        for i in ids
    )
    write(engine, f"INSERT INTO {name} VALUES {values}")


def seed_config(make_config: MakeConfig, engine: sa.Engine) -> BaselinrConfig:
    schema = schema_for(engine)
    block = seed_block()
    if schema == "main":  # SQLite has no schema 'analytics'; pin the same table there
        block["adaptive_scheduling"]["priority_overrides"]["main.daily_orders"] = 180
    return make_incremental(
        make_config,
        engine,
        [{"table": "daily_orders", "schema": schema, "watermark_column": "updated_at"}],
        block,
    )


def run(config: BaselinrConfig, at: dt.datetime) -> BatchResult:
    runner = ProfileRunner(config)
    try:
        result = runner.profile(now=at)
    finally:
        runner.context.close()
    assert result.ok, [o.error for o in result.failed]
    return result


def plan(config: BaselinrConfig, at: dt.datetime) -> Any:
    builder = PlanBuilder(config)
    try:
        return builder.get_tables_to_run(now=at)
    finally:
        builder.context.close()


def only(result: BatchResult) -> Any:
    (outcome,) = result.outcomes
    return outcome


def storage_snapshot(config: BaselinrConfig) -> list[list[dict[str, Any]]]:
    return [storage_rows(config, t) for t in (table_state, partition_state, runs, events)]


# --- the seed's test plan ------------------------------------------------------------------


def test_seed_end_to_end_plan(warehouse: sa.Engine, make_config: MakeConfig) -> None:
    name = create_orders(warehouse)
    config = seed_config(make_config, warehouse)
    hours = lambda n: T0 + dt.timedelta(hours=n)  # noqa: E731

    first = only(run(config, T0))
    assert (first.action, first.decision.reason, first.status) == (
        "full",
        "no_prior_state",
        "completed",
    )
    assert first.row_count == 20
    state = state_of(config, "daily_orders")
    assert state is not None
    assert (state.decision, state.last_profiled_at, state.interval_minutes) == ("full", T0, 180)
    assert state.snapshot_id == first.decision.snapshot_id is not None
    assert state.last_run_id == first.run_id

    # Not due yet (pinned to 180 minutes by priority_overrides): skipped unchecked.
    early = only(run(config, hours(1)))
    assert (early.action, early.decision.reason) == ("skip", "fresh_within_interval")
    assert early.cached_run_id == first.run_id

    # Due, nothing changed: skipped, checked, never re-profiled.
    unchanged = only(run(config, hours(3)))
    assert (unchanged.action, unchanged.decision.reason) == ("skip", "snapshot_match")
    state = state_of(config, "daily_orders")
    assert state is not None
    assert (state.last_profiled_at, state.last_checked_at) == (T0, hours(3))
    assert (state.decision, state.decision_reason) == ("skip", "snapshot_match")
    assert len(runs_of(config, "daily_orders")) == 1
    types = event_types(config, "daily_orders")
    assert types.count("ProfilingSkipped") == 2 and types.count("profile_skipped_no_change") == 1

    steps = [
        ("insert", lambda: insert_orders(warehouse, range(21, 26), "2025-01-02 00:00:00"), 25),
        (
            "update",
            lambda: write(
                warehouse,
                f"UPDATE {name} SET amount = -1, updated_at = '2025-01-03 00:00:00' WHERE id = 7",
            ),
            25,
        ),
        ("delete", lambda: write(warehouse, f"DELETE FROM {name} WHERE id > 22"), 22),
        (
            "truncate",
            lambda: write(
                warehouse, f"DELETE FROM {name}" if name == "daily_orders" else f"TRUNCATE {name}"
            ),
            0,
        ),
    ]
    at = hours(3)
    for label, change, expected_rows in steps:
        change()
        at += dt.timedelta(minutes=181)  # due: 180 minutes after the last check
        outcome = only(run(config, at))
        assert (outcome.action, outcome.decision.reason, outcome.status) == (
            "full",
            "snapshot_changed",
            "completed",
        ), label
        assert outcome.row_count == expected_rows, label
        state = state_of(config, "daily_orders")
        assert state is not None
        assert state.last_profiled_at == at, label
        assert state.snapshot_id == outcome.decision.snapshot_id, label
        assert state.last_run_id == outcome.run_id, label
        at += dt.timedelta(minutes=181)
        again = only(run(config, at))
        assert again.decision.reason == "snapshot_match", label
    completed = [r for r in runs_of(config, "daily_orders") if r["status"] == "completed"]
    assert [r["row_count"] for r in completed] == [20, 25, 25, 22, 0]


def test_plan_never_writes_and_on_postgres_never_reads_the_table(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(warehouse)
    config = seed_config(make_config, warehouse)
    run(config, T0)
    insert_orders(warehouse, range(100, 110))
    before = storage_snapshot(config)
    builder = PlanBuilder(config)
    log = StatementLog(builder.context.warehouse)
    try:
        decided = builder.get_tables_to_run(now=T0 + dt.timedelta(hours=5))
    finally:
        log.close()
        builder.context.close()
    assert decided.decisions[0].action == "full"
    assert storage_snapshot(config) == before
    if warehouse.dialect.name == "postgresql":
        assert log.touching("daily_orders") == []
        assert len(log.touching("pg_stat_all_tables")) == 1
    else:  # the fallback's one cheap fingerprint query, and nothing else on the table
        reads = log.touching("daily_orders")
        assert len(reads) == 1 and "count(*)" in reads[0]


def test_metadata_table_setting_renames_the_state_table(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(warehouse)
    block = seed_block(change_detection={"metadata_table": "my_incremental_state"})
    config = make_incremental(
        make_config, warehouse, [{"table": "daily_orders", "schema": schema_for(warehouse)}], block
    )
    run(config, T0)
    assert storage_rows(config, table_state) == []
    assert state_of(config, "daily_orders") is not None  # read through the renamed table
    assert only(run(config, T0 + dt.timedelta(days=2))).decision.reason == "snapshot_ttl_expired"


# --- adaptive scheduling -------------------------------------------------------------------------


def test_frequent_ticks_do_not_starve_a_changing_table(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(warehouse)
    block = incremental_block(
        adaptive_scheduling={
            "enabled": True,
            "default_interval_minutes": 60,
            "min_interval_minutes": 30,
            "max_interval_minutes": 480,
        }
    )
    config = make_incremental(
        make_config,
        warehouse,
        [{"table": "daily_orders", "schema": schema_for(warehouse)}],
        block,
    )
    run(config, T0)
    profiled, matched = [], []
    next_id = 1000
    for tick in range(1, 19):  # every 10 minutes for 3 hours, new rows before each tick
        insert_orders(warehouse, range(next_id, next_id + 1))
        next_id += 1
        outcome = only(run(config, T0 + dt.timedelta(minutes=10 * tick)))
        if outcome.status == "completed":
            profiled.append(10 * tick)
        else:
            assert outcome.decision.reason == "fresh_within_interval"
    # due at 60 (default), then every 30 minutes (halved on change, clamped to the minimum)
    assert profiled == [60, 90, 120, 150, 180]

    # No more changes: each due check finds nothing and doubles the interval, and the
    # next check is one (grown) interval after it.
    for tick in range(19, 19 + 60):
        minute = 10 * tick
        outcome = only(run(config, T0 + dt.timedelta(minutes=minute)))
        assert outcome.status == "skipped"
        if outcome.decision.reason == "snapshot_match":
            matched.append(minute - 180)
    assert matched == [30, 90, 210, 450]
    state = state_of(config, "daily_orders")
    assert state is not None and state.interval_minutes == 480
    assert state.last_profiled_at == T0 + dt.timedelta(minutes=180)


# --- cost caps -----------------------------------------------------------------------------------


def capped(
    make_config: MakeConfig, engine: sa.Engine, strategy: str, **caps: Any
) -> BaselinrConfig:
    costs = {"enabled": True, "fallback_strategy": strategy, "sample_fraction": 0.5, **caps}
    return make_incremental(
        make_config,
        engine,
        [{"table": "daily_orders", "schema": schema_for(engine)}],
        incremental_block(cost_controls=costs),
    )


@pytest.fixture
def big_orders(warehouse: sa.Engine) -> sa.Engine:
    create_orders(warehouse, rows=400)
    return warehouse


def test_cost_cap_sample(big_orders: sa.Engine, make_config: MakeConfig) -> None:
    config = capped(make_config, big_orders, "sample", max_rows_scanned=100)
    outcome = only(run(config, T0))
    assert (outcome.action, outcome.decision.reason, outcome.status) == (
        "sample",
        "cost_cap_rows",
        "completed",
    )
    assert outcome.decision.sample_fraction == pytest.approx(0.25)  # 100 of 400 < 0.5
    (record,) = runs_of(config, "daily_orders")
    assert (record["action"], record["sample_fraction"]) == ("sample", pytest.approx(0.25))
    assert "profile_sampled_cost_cap" in event_types(config, "daily_orders")
    state = state_of(config, "daily_orders")
    assert state is not None and (state.decision, state.decision_reason) == (
        "sample",
        "cost_cap_rows",
    )
    # an unchanged table is not sampled again
    assert only(run(config, T0 + dt.timedelta(hours=1))).decision.reason == "snapshot_match"


def test_cost_cap_defer(big_orders: sa.Engine, make_config: MakeConfig) -> None:
    config = capped(make_config, big_orders, "defer", max_rows_scanned=100)
    for hour in (0, 1):
        outcome = only(run(config, T0 + dt.timedelta(hours=hour)))
        assert (outcome.action, outcome.decision.reason, outcome.status) == (
            "defer",
            "cost_cap_rows",
            "deferred",
        )
    assert runs_of(config, "daily_orders") == []
    state = state_of(config, "daily_orders")
    assert state is not None
    assert (state.decision, state.last_profiled_at) == ("defer", None)
    assert state.last_checked_at == T0 + dt.timedelta(hours=1)
    assert state.row_count == 400
    rows = [r for r in storage_rows(config, events, table_name="daily_orders")]
    kinds = sorted(r["event_type"] for r in rows)
    assert kinds == ["ProfilingSkipped"] * 2 + ["profile_deferred_cost_cap"] * 2
    assert all(r["action"] == "defer" and r["reason"] == "cost_cap_rows" for r in rows)
    assert json.loads(rows[0]["payload"])


def test_cost_cap_full_runs_and_records_the_overage(
    big_orders: sa.Engine, make_config: MakeConfig
) -> None:
    config = capped(make_config, big_orders, "full", max_rows_scanned=100)
    outcome = only(run(config, T0))
    assert (outcome.action, outcome.decision.reason, outcome.status) == (
        "full",
        "cost_cap_rows",
        "completed",
    )
    assert outcome.decision.details["cost_cap"]["estimate"] == 400
    (record,) = runs_of(config, "daily_orders")
    meta = json.loads(record["metadata"])
    assert meta["reason"] == "cost_cap_rows"
    assert record["rows_scanned"] == 400


@pytest.mark.postgres
def test_cost_cap_on_bytes_uses_postgres_page_estimates(
    pg_engine: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(pg_engine, rows=2000)
    analyze(pg_engine, "analytics.daily_orders")
    config = capped(make_config, pg_engine, "defer", max_bytes_scanned=8192)
    d = plan(config, T0).decisions[0]
    assert (d.action, d.reason) == ("defer", "cost_cap_bytes")
    assert d.estimated_bytes > 8192 and d.estimated_cost == pytest.approx(d.estimated_bytes / 1e9)


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_plan_json_and_all_skipped_profile_exits_zero(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(warehouse)
    config = make_incremental(
        make_config, warehouse, [{"table": "daily_orders", "schema": schema_for(warehouse)}]
    )
    path = str(config.path)
    cli = CliRunner()
    result = cli.invoke(main, ["plan", "-c", path, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"decisions", "summary"}
    (d,) = data["decisions"]
    required = {
        "database",
        "schema",
        "table",
        "action",
        "reason",
        "snapshot_id",
        "changed_partitions",
        "estimated_rows",
    }
    assert required <= set(d)
    assert (d["action"], d["reason"], d["estimated_rows"]) == ("full", "no_prior_state", 20)
    assert data["summary"] == {"full": 1, "partial": 0, "sample": 0, "skip": 0, "defer": 0}

    first = cli.invoke(main, ["profile", "-c", path])
    assert first.exit_code == 0, first.output
    assert "1 full" in first.stdout
    second = cli.invoke(main, ["profile", "-c", path])
    assert second.exit_code == 0, second.output
    assert "0 full, 0 partial, 0 sampled, 1 skipped, 0 deferred, 0 failed" in second.stdout
    human = cli.invoke(main, ["plan", "-c", path, "--table", "daily_orders"])
    assert human.exit_code == 0 and "snapshot_match" in human.stdout
    missing = cli.invoke(main, ["plan", "-c", path, "--table", "nope"])
    assert missing.exit_code == 2 and "no configured table" in missing.output


def test_cli_profile_summarises_many_skipped_tables(tmp_path: Any, make_config: MakeConfig) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'many.db'}")
    write(engine, *[f"CREATE TABLE t{i:02d} (x int)" for i in range(35)])
    config = make_incremental(make_config, engine, [{"pattern": "t*"}])
    cli = CliRunner()
    assert cli.invoke(main, ["profile", "-c", str(config.path)]).exit_code == 0
    write(engine, "INSERT INTO t07 VALUES (1)")
    result = cli.invoke(main, ["profile", "-c", str(config.path)])
    assert result.exit_code == 0, result.output
    assert "34 tables not profiled (34 skip: snapshot_match)" in result.stdout
    assert "main.t07" in result.stdout and "main.t08" not in result.stdout
    assert "1 full, 0 partial, 0 sampled, 34 skipped" in result.stdout


def test_incremental_disabled_keeps_the_old_behaviour(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    create_orders(warehouse)
    config = make_incremental(
        make_config,
        warehouse,
        [{"table": "daily_orders", "schema": schema_for(warehouse)}],
        {"enabled": False},
    )
    for _ in range(2):
        outcome = only(run(config, T0))
        assert (outcome.action, outcome.decision.reason) == ("full", "incremental_disabled")
    assert state_of(config, "daily_orders") is None
