"""Storage that is not what its version stamp says, from a newer Baselinr, missing,
or down — and runs whose process was killed.

- a missing column or table is found when storage opens and named (no event silently
  dropped, no run stranded);
- a newer schema revision is refused with advice (no ``CommandError``), with and
  without ``create_tables``; the sensor skips saying so, and says "storage", not
  "warehouse", when storage is down;
- ``plan`` on a fresh config creates nothing;
- a run whose heartbeat is stale is not in flight for the sensor or ``status`` and
  the next batch marks it failed."""

import datetime as dt
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from baselinr.config import load_config
from baselinr.errors import StorageError
from baselinr.runner import ProfileRunner
from baselinr.storage import Storage, migrate
from baselinr.storage.liveness import STALE_AFTER
from baselinr.storage.writer import RunRecord
from baselinr_dagster import baselinr_plan_sensor
from tests.faults.conftest import cli, rows_of, write_config

pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    return str(request.getfixturevalue("pg_url"))


def _project(tmp_path: Path, storage: dict[str, Any], **extra: Any) -> Path:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS orders (id integer, updated_at text)")
        conn.exec_driver_sql("INSERT INTO orders VALUES (1, '2024-01-01'), (2, '2024-01-02')")
    engine.dispose()
    return write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage=storage,
        profiling={"tables": [{"table": "orders", **extra}]},
        incremental={"enabled": True},
    )


@pytest.fixture
def opened(storage_url: str, tmp_path: Path) -> Iterator[tuple[Path, sa.Engine]]:
    config = _project(tmp_path, {"connection": {"url": storage_url}})
    assert cli("profile", "-c", str(config)).exit_code == 0
    engine = sa.create_engine(storage_url)
    yield config, engine
    engine.dispose()


def _reopen(config: Path) -> None:
    """As a new process would: the once-per-process check forgotten."""
    storage = Storage.open_existing(load_config(config).storage)
    if storage is not None:
        migrate.forget(storage.engine)
        storage.engine.dispose()


def test_a_dropped_column_is_named_at_open(opened: tuple[Path, sa.Engine]) -> None:
    config, engine = opened
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE baselinr_events DROP COLUMN payload"))
    migrate.forget(engine)
    for command in ("profile", "status", "plan"):
        result = cli(command, "-c", str(config))
        assert result.exit_code == 1, (command, result.output)
        assert "baselinr_events lacks payload" in result.output
        assert "Traceback" not in result.output
    with pytest.raises(StorageError, match="do not match this version"):
        Storage.open(load_config(config).storage)


def test_a_dropped_table_is_named_at_open(opened: tuple[Path, sa.Engine]) -> None:
    config, engine = opened
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE baselinr_batches"))
    migrate.forget(engine)
    result = cli("profile", "-c", str(config))
    assert result.exit_code == 1 and "baselinr_batches is missing" in result.output


@pytest.mark.parametrize("create_tables", [True, False])
def test_a_newer_schema_is_refused_with_advice(
    opened: tuple[Path, sa.Engine], create_tables: bool, tmp_path: Path
) -> None:
    config, engine = opened
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE baselinr_alembic_version SET version_num = '0099'"))
    migrate.forget(engine)
    data = load_config(config)
    path = write_config(
        tmp_path / "c.yml",
        source={"type": "sqlite", "filepath": str(tmp_path / "w.db")},
        storage={
            "connection": {"url": data.storage.connection.url.get_secret_value()},  # type: ignore[union-attr]
            "create_tables": create_tables,
        },
        profiling={"tables": [{"table": "orders"}]},
        incremental={"enabled": True},
    )
    for command in ("profile", "plan", "status"):
        result = cli(command, "-c", str(path))
        assert result.exit_code == 1, (command, result.output)
        assert "created by a newer Baselinr (schema revision 0099" in result.output
        assert "upgrade Baselinr" in result.output and "CommandError" not in result.output
    sensor = baselinr_plan_sensor(path)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor="keep")
        data_ = sensor.evaluate_tick(context)
    assert "newer Baselinr" in (data_.skip_message or "")
    assert data_.cursor in (None, "keep")  # the cursor does not move


def test_create_tables_false_tells_missing_from_out_of_date(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    config = _project(
        tmp_path, {"connection": {"url": f"sqlite:///{empty}"}, "create_tables": False}
    )
    result = cli("profile", "-c", str(config))
    assert result.exit_code == 1 and "there are no Baselinr tables" in result.output
    engine = sa.create_engine(f"sqlite:///{empty}")
    from alembic import command

    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    engine.dispose()
    result = cli("profile", "-c", str(config))
    assert result.exit_code == 1
    assert "out of date (schema revision 0002, this version needs" in result.output


def test_plan_on_a_fresh_config_creates_nothing(tmp_path: Path, pg_url: str) -> None:
    config = _project(tmp_path, {"connection": {"type": "sqlite", "filepath": "fresh/s.db"}})
    for command in ("plan", "status", "drift"):
        assert cli(command, "-c", str(config)).exit_code == 0, command
    assert not (tmp_path / "fresh").exists()
    on_pg = _project(tmp_path, {"connection": {"url": pg_url}})
    assert cli("plan", "-c", str(on_pg)).exit_code == 0
    engine = sa.create_engine(pg_url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_the_sensor_blames_storage_not_the_warehouse(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg2://u:St0r3-Pa55@127.0.0.1:{port}/db?password=St0r3-Pa55"
    config = _project(tmp_path, {"connection": {"url": url}})
    sensor = baselinr_plan_sensor(config)
    with dg.instance_for_test() as instance:
        data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor="keep"))
    message = data.skip_message or ""
    assert message.startswith("Baselinr result storage unavailable"), message
    assert "source unreachable" not in message and "St0r3-Pa55" not in message


def test_a_stale_heartbeat_is_not_in_flight_and_the_next_batch_marks_it_failed(
    opened: tuple[Path, sa.Engine],
) -> None:
    config, engine = opened
    loaded = load_config(config)
    storage = Storage.open(loaded.storage)
    long_ago = dt.datetime.now(dt.timezone.utc) - STALE_AFTER - dt.timedelta(seconds=5)
    record = RunRecord(
        run_id="killed-elsewhere", batch_id="b", database_name="w", schema_name="main",
        table_name="orders", environment="development", action="full", started_at=long_ago,
    )  # fmt: skip
    run = storage.writer.start(record)
    with engine.begin() as conn:  # a process on another machine, silent since then
        conn.execute(
            sa.text("UPDATE baselinr_runs SET owner = 'elsewhere/1/1' WHERE run_id = :r"),
            {"r": run.run_id},
        )
    assert not storage.reader.latest_attempts(dt.timedelta(days=1))[("main", "orders")][1]
    status = json.loads(cli("status", "-c", str(config), "--json").stdout)["runs"]
    assert next(r for r in status if r["run_id"] == "killed-elsewhere")["stale"] is True
    # a fresh heartbeat from a live process elsewhere: in flight
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE baselinr_runs SET heartbeat_at = :now WHERE run_id = :r"),
            {"now": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
             if engine.dialect.name == "sqlite" else dt.datetime.now(dt.timezone.utc),
             "r": run.run_id},
        )  # fmt: skip
    assert storage.reader.latest_attempts(dt.timedelta(days=1))[("main", "orders")][1]
    assert storage.writer.reap_abandoned() == []
    # silent again: the next batch marks it failed
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE baselinr_runs SET heartbeat_at = NULL WHERE run_id = :r"),
            {"r": run.run_id},
        )
    runner = ProfileRunner(loaded)
    try:
        runner.profile()
    finally:
        runner.context.close()
    (row,) = [r for r in rows_of(engine, "baselinr_runs") if r["run_id"] == "killed-elsewhere"]
    assert row["status"] == "failed" and row["error"].startswith("abandoned")
    storage.engine.dispose()


def test_a_watermark_column_that_does_not_exist_is_named(tmp_path: Path) -> None:
    config = _project(
        tmp_path,
        {"connection": {"type": "sqlite", "filepath": "s.db"}},
        watermark_column="updatd_at",
    )
    result = cli("plan", "-c", str(config))
    assert result.exit_code == 0
    assert "watermark_column 'updatd_at' does not exist in main.orders" in result.output
    for _ in range(2):  # never a skip on a fingerprint that could not be taken, but said
        again = cli("profile", "-c", str(config), "--json")
        assert again.exit_code == 0
        assert "watermark_column 'updatd_at' does not exist" in again.output
        (table,) = json.loads(again.stdout)["tables"]
        assert (table["action"], table["status"]) == ("full", "completed")
