"""The state store: written only with a committed profile; a failed or killed run
leaves it where it was; storage upgrades from the baseline revision; Postgres
storage works like SQLite storage."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from baselinr.config import BaselinrConfig
from baselinr.runner import ProfileRunner
from baselinr.storage import Storage, migrate
from baselinr.storage.schema import partition_state, results, runs, table_state
from tests.support.incremental import (
    T0,
    incremental_block,
    make_incremental,
    partitions_of,
    runs_of,
    state_of,
    storage_rows,
    write,
)

MakeConfig = Callable[..., BaselinrConfig]


def profile(config: BaselinrConfig, at: dt.datetime) -> Any:
    runner = ProfileRunner(config)
    try:
        return runner.profile(now=at)
    finally:
        runner.context.close()


def orders(engine: sa.Engine) -> None:
    write(
        engine,
        "CREATE TABLE orders (id integer, day varchar(10), amount float8)",
        "INSERT INTO orders VALUES "
        + ", ".join(f"({i}, '2025-01-0{1 + i % 3}', {i})" for i in range(30)),
    )


def test_a_failed_state_write_rolls_back_the_results_too(
    tmp_path: Path, make_config: MakeConfig
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    orders(engine)
    # non-mergeable metrics carried rather than recomputed, so that a partial is cheaper
    carry = incremental_block(partial_profiling={"recompute_non_mergeable_max_rows": 0})
    config = make_incremental(
        make_config, engine, [{"table": "orders", "partition": {"key": "day"}}], carry
    )
    assert profile(config, T0).ok
    state_before = storage_rows(config, table_state)
    partitions_before = storage_rows(config, partition_state)

    storage = sa.create_engine(f"sqlite:///{tmp_path / 'storage.db'}")
    with storage.begin() as conn:  # the state write fails, as a full disk would
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON baselinr_partition_state "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    write(engine, "INSERT INTO orders VALUES (100, '2025-01-02', 5)")
    result = profile(config, T0 + dt.timedelta(hours=1))
    (outcome,) = result.outcomes
    assert (outcome.decision.action, outcome.status) == ("partial", "failed")
    assert "disk full" in (outcome.error or "")
    failed = runs_of(config, "orders")[-1]
    assert (failed["status"], failed["run_id"]) == ("failed", outcome.run_id)
    assert storage_rows(config, results, run_id=outcome.run_id) == []
    assert storage_rows(config, table_state) == state_before
    assert storage_rows(config, partition_state) == partitions_before

    with storage.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    storage.dispose()
    retry = profile(config, T0 + dt.timedelta(hours=2)).outcomes[0]
    assert (retry.action, retry.status) == ("partial", "completed")  # the change is still seen
    assert partitions_of(config, "orders")["2025-01-02"]["row_count"] == 11


@pytest.mark.postgres
def test_a_killed_run_leaves_the_state_where_it_was(
    pg_engine: sa.Engine, make_config: MakeConfig
) -> None:
    write(
        pg_engine,
        "CREATE TABLE t (id int, v float8)",
        "INSERT INTO t SELECT g, g FROM generate_series(1, 100) g",
    )
    config = make_incremental(make_config, pg_engine, [{"table": "t"}])
    assert profile(config, T0).ok
    write(pg_engine, "INSERT INTO t VALUES (101, 1)")
    before = state_of(config, "t")
    assert before is not None

    locker = pg_engine.connect()
    locker.execute(sa.text("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"))  # the profile will wait
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from baselinr.cli import main; main()",
            "profile",
            "-c",
            str(config.path),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not [r for r in runs_of(config, "t") if r["status"] == "running"]:
            assert child.poll() is None, "the profile finished although the table was locked"
            assert time.monotonic() < deadline, "the profile never started"
            time.sleep(0.1)
        time.sleep(0.3)  # well inside the blocked profile query
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        locker.rollback()
        locker.close()

    killed = [r for r in runs_of(config, "t") if r["status"] == "running"]
    assert len(killed) == 1  # never marked completed
    assert storage_rows(config, results, run_id=killed[0]["run_id"]) == []
    assert state_of(config, "t") == before

    outcome = profile(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert (outcome.action, outcome.decision.reason, outcome.status) == (
        "full",
        "snapshot_changed",
        "completed",
    )
    after = state_of(config, "t")
    assert after is not None and after.snapshot_id != before.snapshot_id and after.row_count == 101


def test_storage_created_at_the_baseline_revision_is_upgraded(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            table_state.insert().values(
                database_name="d", schema_name="s", table_name="t", last_profiled_at=now
            )
        )
    assert not sa.inspect(engine).has_table("baselinr_partition_state")
    migrate.forget(engine)
    Storage.from_engine(engine, create_tables=True)
    assert sa.inspect(engine).has_table("baselinr_partition_state")
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_state.c.last_profiled_at)).scalar() == now
    engine.dispose()


@pytest.mark.postgres
def test_state_in_postgres_storage(tmp_path: Path, pg_url: str, make_config: MakeConfig) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    orders(engine)
    config = make_incremental(
        make_config,
        engine,
        [{"table": "orders", "partition": {"key": "day"}}],
        incremental_block(partial_profiling={"recompute_non_mergeable_max_rows": 0}),
        storage={"connection": {"url": pg_url}, "create_tables": True},
    )
    assert profile(config, T0).outcomes[0].action == "full"
    skipped = profile(config, T0 + dt.timedelta(hours=1)).outcomes[0]
    assert skipped.decision.reason == "snapshot_match"
    write(engine, "INSERT INTO orders VALUES (200, '2025-01-03', 1)")
    partial = profile(config, T0 + dt.timedelta(hours=2)).outcomes[0]
    assert (partial.action, partial.status) == ("partial", "completed")
    state = state_of(config, "orders")
    assert state is not None
    assert (state.decision, state.last_profiled_at, state.last_run_id) == (
        "partial",
        T0 + dt.timedelta(hours=2),
        partial.run_id,
    )
    assert partitions_of(config, "orders")["2025-01-03"]["row_count"] == 11
    assert len(storage_rows(config, runs)) == 2
