"""``ProfileRunner`` end to end on real warehouses and real storage: what lands in
storage, sampling recorded on the run, concurrency bounded by ``max_workers``."""

import datetime as dt
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.runner import ProfileRunner
from tests.conftest import source_block
from tests.support.reference import check_column
from tests.support.warehouse import create_table


def _rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"id": k, "amount": rng.gauss(50, 10), "kind": rng.choice("abc"), "day": None}
        for k in range(n)
    ]


COLUMNS = [("id", sa.Integer()), ("amount", sa.Double()), ("kind", sa.Text()), ("day", sa.Date())]


def test_results_in_storage_match_the_profile(
    warehouse: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    rows = _rows(500)
    create_table(warehouse, "orders", COLUMNS, rows)
    config = make_config(source_block(warehouse), [{"table": "orders"}])
    runner = ProfileRunner(config)
    try:
        result = runner.profile()
        assert result.ok and [o.status for o in result.outcomes] == ["completed"]
        outcome = result.outcomes[0]
        reader = runner.context.storage.reader
        run = reader.run(outcome.run_id)
        assert run is not None
        assert (run.status, run.action, run.row_count, run.rows_scanned) == (
            "completed",
            "full",
            500,
            500,
        )
        assert run.column_count == 4 and run.sample_fraction is None
        assert run.environment == "test" and run.error is None
        stored = reader.run_metrics(outcome.run_id)
        assert set(stored) == {"id", "amount", "kind", "day"}
        for name in ("id", "amount", "kind"):
            problems = check_column(name, stored[name], [r[name] for r in rows])
            assert not problems, problems
        # histogram edges are reused by the next run (fixed once chosen)
        edges = reader.histogram_edges(outcome.table.schema, "orders")
        assert edges["amount"] == outcome.profile.histogram_edges["amount"]
        with warehouse.begin() as conn:
            conn.execute(sa.text("DELETE FROM orders WHERE id < 250"))
        second = runner.profile().outcomes[0]
        assert second.profile is not None
        assert second.profile.histogram_edges["amount"] == edges["amount"]
        hist = reader.run_metrics(second.run_id)["amount"]["histogram"]
        assert sum(hist["counts"]) + hist["underflow"] + hist["overflow"] == 250
    finally:
        runner.context.close()


def test_sampling_is_recorded_on_the_run(
    warehouse: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    create_table(warehouse, "big", COLUMNS, _rows(6000))
    config = make_config(
        source_block(warehouse),
        [{"table": "big", "sampling": {"enabled": True, "fraction": 0.25, "method": "bernoulli"}}],
    )
    runner = ProfileRunner(config)
    try:
        outcome = runner.profile().outcomes[0]
        assert outcome.status == "completed" and outcome.action == "sample"
        run = runner.context.storage.reader.run(outcome.run_id)
        assert run is not None
        assert run.action == "sample" and run.sample_fraction == 0.25
        assert 0.15 * 6000 < run.rows_scanned < 0.35 * 6000
        # row_count is the estimate for the whole table
        assert run.row_count == round(run.rows_scanned / 0.25)
        assert run.metadata["row_count_estimated"] is True
    finally:
        runner.context.close()


def test_one_failing_table_does_not_stop_the_others(
    sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    for name in ("a", "b", "c"):
        create_table(sqlite_engine, name, COLUMNS, _rows(50))
    config = make_config(source_block(sqlite_engine), [{"table": n} for n in "abc"])
    runner = ProfileRunner(config)
    try:
        plan = runner.plan()
        with sqlite_engine.begin() as conn:  # dropped after planning, before profiling
            conn.execute(sa.text("DROP TABLE b"))
        result = runner.execute(plan)
        assert [o.status for o in result.outcomes] == ["completed", "failed", "completed"]
        assert not result.ok and result.summary()["failed"] == 1
        failed = result.outcomes[1]
        assert failed.error and "b" in failed.error
        reader = runner.context.storage.reader
        assert reader.run(failed.run_id).status == "failed"  # type: ignore[union-attr]
        assert reader.run_metrics(failed.run_id or "") == {}
    finally:
        runner.context.close()


@pytest.mark.postgres
def test_tables_are_profiled_concurrently_up_to_max_workers(
    pg_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    """Six views that sleep on every statement: with max_workers 3 at most three are
    in flight at once, and more than one is."""
    with pg_engine.begin() as conn:
        for k in range(6):
            conn.execute(
                sa.text(
                    f"CREATE VIEW slow_{k} AS SELECT g AS n, g * 0.5 AS x "
                    "FROM generate_series(1, 50) g WHERE pg_sleep(0.01) IS NOT NULL"
                )
            )
    config = make_config(
        source_block(pg_engine), [{"pattern": "slow_*"}], profiling={"max_workers": 3}
    )
    lock = threading.Lock()
    in_flight, peak, threads = [0], [0], set()

    def started(_: Any) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            threads.add(threading.current_thread().name)

    def done(_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    runner = ProfileRunner(config)
    try:
        result = runner.execute(runner.plan(), on_start=started, on_done=done)
        assert [o.status for o in result.outcomes] == ["completed"] * 6
        assert all(o.row_count == 50 for o in result.outcomes)
        assert 1 < peak[0] <= 3
        assert 1 < len(threads) <= 3
        # the warehouse pool is bounded by max_workers too
        assert runner.context.warehouse.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        runner.context.close()


def test_timestamps_are_aware_utc(
    sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    create_table(sqlite_engine, "t", COLUMNS, _rows(5))
    config = make_config(source_block(sqlite_engine), [{"table": "t"}])
    runner = ProfileRunner(config)
    try:
        before = dt.datetime.now(dt.timezone.utc)
        outcome = runner.profile().outcomes[0]
        run = runner.context.storage.reader.run(outcome.run_id or "")
        assert run is not None
        for key in ("started_at", "finished_at"):
            value = getattr(run, key)
            assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)
            assert before - dt.timedelta(seconds=1) <= value <= dt.datetime.now(dt.timezone.utc)
    finally:
        runner.context.close()
