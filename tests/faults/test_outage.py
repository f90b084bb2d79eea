"""The warehouse, then the result storage, stopped in the middle of a batch.

Warehouse down: the batch finishes — the tables profiled before keep their results,
each later table is a failed run saying it cannot reach the warehouse, and the batch
record and the ``ProfilingFailed`` events are stored. Storage down: every later table
is still tried, the ones that could not be recorded are reported with the reason,
``ProfilingFailed`` still reaches the webhook, one line says what was lost, and the
next run (storage back) marks the stranded run failed and redoes what was lost."""

import json
import os
import random
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import Victim, check_invariants, cli, rows_of, spawn, write_config
from tests.test_hooks import Endpoint

TABLES = ["t0", "t1", "t2", "t3", "t4"]


def _tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for t in TABLES:
            conn.execute(sa.text(f"CREATE TABLE {t} (a integer, b integer)"))
            conn.execute(sa.text(f"INSERT INTO {t} SELECT g, g % 5 FROM generate_series(1, 100) g"))
        conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))  # counters seen by the plan


def _wait_for(storage: sa.Engine, want: dict[str, str], process: object) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:  # type: ignore[attr-defined]
        try:
            seen = {r["table_name"]: r["status"] for r in rows_of(storage, "baselinr_runs")}
        except sa.exc.SQLAlchemyError:
            seen = {}
        if seen == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"never reached {want}: {process.communicate()}")  # type: ignore[attr-defined]


def _one_error_line(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.postgres
def test_warehouse_stopped_mid_batch(victim: Victim, tmp_path: Path) -> None:
    name = f"wh{os.getpid()}_{random.randrange(10**6)}"
    warehouse = sa.create_engine(victim.create_database(name))
    _tables(warehouse)
    storage_url = f"sqlite:///{tmp_path / 'storage.db'}"
    config = write_config(
        tmp_path / "baselinr.yml",
        source={"url": warehouse.url.render_as_string(hide_password=False)},
        storage={"connection": {"url": storage_url}},
        profiling={"max_workers": 1, "tables": [{"pattern": "t*"}]},
    )
    storage = sa.create_engine(storage_url)
    blocker = warehouse.connect()
    blocker.execute(sa.text("LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE"))
    process = spawn("profile", "-c", str(config))
    try:
        _wait_for(storage, {"t0": "completed", "t1": "completed", "t2": "running"}, process)
        victim.stop()
        _, stderr = process.communicate(timeout=120)
    finally:
        blocker.invalidate()
        warehouse.dispose()
        victim.start()
    assert process.returncode == 1
    assert _one_error_line(stderr) == ["error: 3 table(s) failed: public.t2, public.t3, public.t4"]
    status = check_invariants(storage, 10)
    runs = {r["table_name"]: r for r in rows_of(storage, "baselinr_runs")}
    assert sorted(status.values()) == ["completed"] * 2 + ["failed"] * 3
    assert all("warehouse" in runs[t]["error"] for t in ("t3", "t4")), runs
    (batch,) = rows_of(storage, "baselinr_batches")
    assert json.loads(batch["counts"])["failed"] == 3
    failed = {
        e["table_name"]
        for e in rows_of(storage, "baselinr_events")
        if e["event_type"] == "ProfilingFailed"
    }
    assert failed == {"t2", "t3", "t4"}
    storage.dispose()


@pytest.mark.postgres
def test_storage_stopped_mid_batch(victim: Victim, pg_url: str, tmp_path: Path) -> None:
    warehouse = sa.create_engine(pg_url)
    _tables(warehouse)
    storage_url = victim.create_database(f"st{os.getpid()}_{random.randrange(10**6)}")
    hook = Endpoint()
    config = write_config(
        tmp_path / "baselinr.yml",
        source={"url": pg_url},
        storage={"connection": {"url": storage_url}},
        profiling={"max_workers": 1, "tables": [{"pattern": "t*"}]},
        incremental={"enabled": True},
        hooks={
            "hooks": [
                {
                    "type": "webhook",
                    "url": hook.url,
                    "event_types": ["ProfilingFailed"],
                    "timeout_seconds": 2,
                    "retries": 0,
                }
            ]
        },
    )
    storage = sa.create_engine(storage_url)
    blocker = warehouse.connect()
    blocker.execute(sa.text("LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE"))
    process = spawn("profile", "-c", str(config))
    try:
        _wait_for(storage, {"t0": "completed", "t1": "completed", "t2": "running"}, process)
        storage.dispose()
        victim.stop()
        blocker.rollback()  # t2 is profiled now, but its results cannot be stored
        _, stderr = process.communicate(timeout=120)
    finally:
        blocker.close()
        victim.start()
        hook.close()
    assert process.returncode == 1
    assert _one_error_line(stderr) == ["error: 3 table(s) failed: public.t2, public.t3, public.t4"]
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: result storage")]
    assert len(warnings) == 1 and "3 table(s) not recorded" in warnings[0], stderr
    assert "batch record not stored" in warnings[0]
    # the hooks still heard of every table that could not be profiled or recorded
    assert sorted(b["table_name"] for b in hook.bodies) == ["t2", "t3", "t4"]

    # storage is back: invariants held, t2's run is stranded "running" ...
    status = check_invariants(storage, 10)
    assert sorted(status.values()) == ["completed", "completed", "running"]
    # ... until the next run finds it abandoned, and redoes exactly t2, t3, t4
    again = cli("profile", "-c", str(config), "--json")
    assert again.exit_code == 0, again.output
    done = {t["table"] for t in json.loads(again.stdout)["tables"] if t["status"] == "completed"}
    assert done == {"t2", "t3", "t4"}
    status = check_invariants(storage, 10)
    assert sorted(status.values()) == ["completed"] * 5 + ["failed"]
    storage.dispose()
    warehouse.dispose()
