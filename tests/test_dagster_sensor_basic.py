"""The plan sensor without incremental state: requests that launch, and a warehouse
that is down."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from baselinr_dagster import baselinr_plan_sensor, build_baselinr_definitions
from tests.support.tables import create_orders

pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


def write_config(tmp_path: Path, source: dict[str, Any], tables: list[dict]) -> Path:
    data = {
        "source": source,
        "storage": {"connection": {"type": "sqlite", "filepath": str(tmp_path / "store.db")}},
        "profiling": {"tables": tables},
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> Any:
    sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def test_first_tick_requests_all_and_the_request_launches(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 20, name="orders")
    create_orders(engine, 20, name="customers")
    path = write_config(tmp_path, {"type": "sqlite", "filepath": str(tmp_path / "wh.db")},
                        [{"table": "orders"}, {"table": "customers"}])  # fmt: skip
    defs = build_baselinr_definitions(path)
    with dg.instance_for_test() as instance:
        data = tick(defs, instance, None)
        assert data.skip_message is None
        (request,) = data.run_requests
        assert set(request.asset_selection) == {
            dg.AssetKey(["baselinr", "orders"]),
            dg.AssetKey(["baselinr", "customers"]),
            dg.AssetKey(["baselinr", "summary"]),
        }
        assert request.tags["baselinr/changed_tables"] == "main.customers,main.orders"
        assert int(request.tags["baselinr/metrics_requested"]) == 20
        assert request.run_key
        job = defs.resolve_job_def(request.job_name or "baselinr_profile_all")
        result = job.execute_in_process(
            run_config=request.run_config,
            tags=request.tags,
            asset_selection=list(request.asset_selection),
            instance=instance,
        )
        assert result.success
        keys = {e.materialization.asset_key for e in result.get_asset_materialization_events()}
        assert keys == set(request.asset_selection)


def test_warehouse_down_skips_naming_the_source_and_keeps_the_cursor(tmp_path: Path) -> None:
    source = {"url": "postgresql+psycopg2://u:hunter2@127.0.0.1:9/warehouse"}
    path = write_config(tmp_path, source, [{"table": "orders"}])
    defs = build_baselinr_definitions(path)
    with dg.instance_for_test() as instance:
        previous = '{"v":1,"a":{"baselinr/orders":["x","y"]}}'
        data = tick(defs, instance, previous)
        assert not data.run_requests
        assert "unreachable" in data.skip_message
        assert "127.0.0.1:9" in data.skip_message
        assert "hunter2" not in data.skip_message
        assert data.cursor in (None, previous)


def test_sensor_works_standalone_without_resources(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 5, name="orders")
    path = write_config(tmp_path, {"type": "sqlite", "filepath": str(tmp_path / "wh.db")},
                        [{"table": "orders"}])  # fmt: skip
    sensor = baselinr_plan_sensor(config_path=str(path), job_name="some_job",
                                  minimum_interval_seconds=60,
                                  default_status=dg.DefaultSensorStatus.RUNNING)  # fmt: skip
    assert sensor.minimum_interval_seconds == 60
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    (request,) = data.run_requests
    assert request.asset_selection == [
        dg.AssetKey(["baselinr", "orders"]),
        dg.AssetKey(["baselinr", "summary"]),
    ]
