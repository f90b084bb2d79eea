"""SIGKILL during ``baselinr profile``, with Postgres and with SQLite storage.

After the kill: no completed run without all of its results, no results of a run that
did not complete, no state pointing at one; the next run redoes exactly what was lost
(the tables without a committed profile) and marks the killed run failed."""

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import check_invariants, cli, rows_of, spawn, write_config

TABLES = ["t0", "t1", "t2", "t3", "t4"]
METRICS = 10  # the default metrics of an integer column


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    return str(request.getfixturevalue("pg_url"))


def _warehouse(pg_server: object, name: str) -> sa.Engine:
    url = pg_server.create_database(name)  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for t in TABLES:
            conn.execute(sa.text(f"CREATE TABLE {t} (a integer, b integer)"))
            conn.execute(sa.text(f"INSERT INTO {t} SELECT g, g % 7 FROM generate_series(1, 200) g"))
        conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
    return engine


def _config(tmp_path: Path, warehouse: sa.Engine, storage_url: str) -> Path:
    return write_config(
        tmp_path / "baselinr.yml",
        source={"url": warehouse.url.render_as_string(hide_password=False)},
        storage={"connection": {"url": storage_url}},
        profiling={"max_workers": 1, "tables": [{"pattern": "t*"}]},
        incremental={"enabled": True},
    )


def _status(storage: sa.Engine) -> dict[str, str]:
    try:
        return {r["table_name"]: r["status"] for r in rows_of(storage, "baselinr_runs")}
    except sa.exc.SQLAlchemyError:
        return {}  # not created yet


@pytest.mark.postgres
def test_sigkill_mid_table_then_the_next_run_redoes_what_was_lost(
    pg_server: object, tmp_path: Path, storage_url: str
) -> None:
    warehouse = _warehouse(pg_server, f"kill{os.getpid()}_{random.randrange(10**6)}")
    config = _config(tmp_path, warehouse, storage_url)
    storage = sa.create_engine(storage_url)
    blocker = warehouse.connect()
    try:
        # t2's profile waits on this lock: the kill lands while t2 is being profiled
        blocker.execute(sa.text("LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE"))
        process = spawn("profile", "-c", str(config), "--json")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if _status(storage) == {"t0": "completed", "t1": "completed", "t2": "running"}:
                break
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()
        time.sleep(0.3)  # inside the blocked statement
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()

    status = check_invariants(storage, METRICS)
    assert sorted(status.values()) == ["completed", "completed", "running"]
    killed = next(r for r in rows_of(storage, "baselinr_runs") if r["status"] == "running")

    plan = cli("plan", "-c", str(config), "--json")
    assert plan.exit_code == 0, plan.output
    actions = {d["table"]: d["action"] for d in json.loads(plan.stdout)["decisions"]}
    assert actions == {"t0": "skip", "t1": "skip", "t2": "full", "t3": "full", "t4": "full"}

    again = cli("profile", "-c", str(config), "--json")
    assert again.exit_code == 0, again.output
    tables = json.loads(again.stdout)["tables"]
    assert {t["table"] for t in tables if t["status"] == "completed"} == {"t2", "t3", "t4"}
    assert {t["table"] for t in tables if t["status"] == "skipped"} == {"t0", "t1"}
    check_invariants(storage, METRICS)
    runs = {r["run_id"]: r for r in rows_of(storage, "baselinr_runs")}
    # the killed run is no longer "running": the next batch found its process gone
    assert runs[killed["run_id"]]["status"] == "failed"
    assert "abandoned" in runs[killed["run_id"]]["error"]
    events = rows_of(storage, "baselinr_events")
    assert any(
        e["event_type"] == "ProfilingFailed" and e["run_id"] == killed["run_id"] for e in events
    )
    storage.dispose()
    warehouse.dispose()


@pytest.mark.postgres
def test_sigkill_at_random_moments_keeps_the_invariants(
    pg_server: object, tmp_path: Path, storage_url: str
) -> None:
    warehouse = _warehouse(pg_server, f"killr{os.getpid()}_{random.randrange(10**6)}")
    config = _config(tmp_path, warehouse, storage_url)
    storage = sa.create_engine(storage_url)
    rng = random.Random(9)
    try:
        for _ in range(3):
            process = spawn("profile", "-c", str(config), "--json")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None and not _status(storage):
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            check_invariants(storage, METRICS)
        # whatever was lost, one more run completes every table, each exactly once
        final = cli("profile", "-c", str(config), "--json")
        assert final.exit_code == 0, final.output
        check_invariants(storage, METRICS)
        latest = {
            t: max(
                (r for r in rows_of(storage, "baselinr_runs") if r["table_name"] == t),
                key=lambda r: r["started_at"],
            )
            for t in TABLES
        }
        assert all(r["status"] == "completed" for r in latest.values())
        states = rows_of(storage, "baselinr_table_state")
        assert sorted(s["table_name"] for s in states) == TABLES
        assert not [r for r in rows_of(storage, "baselinr_runs") if r["status"] == "running"]
    finally:
        storage.dispose()
        warehouse.dispose()
