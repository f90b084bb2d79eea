"""The plan sensor over several ticks, feeding the cursor back, on real SQLite and
PostgreSQL warehouses with incremental planning on: every RunRequest is executed
with exactly its selection, tags and run config."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from baselinr.storage.schema import results
from baselinr_dagster import build_baselinr_definitions
from tests.support.dagster import plain_metadata
from tests.support.tables import create_orders, insert_orders

SUMMARY = dg.AssetKey(["baselinr", "summary"])  # every run that profiles materializes it
pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


class Scenario:
    def __init__(self, tmp_path: Path, engine: sa.Engine, schema: str | None) -> None:
        self.tmp_path = tmp_path
        self.engine = engine
        self.schema = schema
        self.cursor: str | None = None
        self.orders = create_orders(engine, 100, name="orders", schema=schema)
        self.customers = create_orders(engine, 50, name="customers", schema=schema, seed=9)
        self.flush()
        self.metrics = ["count", "null_count", "null_ratio", "min", "max", "mean"]
        self.write_config()

    @property
    def prefix(self) -> list[str]:
        return ["baselinr", self.schema] if self.schema else ["baselinr"]

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([*self.prefix, name])

    def write_config(self) -> None:
        schema = {"schema": self.schema} if self.schema else {}
        data = {
            "environment": "test",
            "source": {"url": self.engine.url.render_as_string(hide_password=False)},
            "storage": {
                "connection": {"type": "sqlite", "filepath": str(self.tmp_path / "store.db")}
            },
            "profiling": {
                "metrics": ["count", "null_count", "null_ratio", "min", "max", "mean"],
                "tables": [
                    {"table": "orders", **schema},
                    {"table": "customers", **schema, "metrics": self.metrics},
                ],
            },
            "incremental": {"enabled": True},
        }
        self.path = self.tmp_path / "baselinr.yml"
        self.path.write_text(yaml.safe_dump(data))
        self.defs = build_baselinr_definitions(self.path)

    def flush(self) -> None:
        """Make Postgres statistics counters visible to the next tick."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
                conn.commit()
        self.engine.dispose()

    def tick(self, instance: dg.DagsterInstance) -> Any:
        sensor = self.defs.resolve_sensor_def("baselinr_plan_sensor")
        context = dg.build_sensor_context(
            instance=instance, cursor=self.cursor, definitions=self.defs
        )
        data = sensor.evaluate_tick(context)
        if data.cursor is not None:
            self.cursor = data.cursor
        return data

    def launch(self, instance: dg.DagsterInstance, request: dg.RunRequest) -> dict[str, Any]:
        job = self.defs.resolve_job_def(request.job_name or "baselinr_profile_all")
        result = job.execute_in_process(
            run_config=request.run_config,
            tags=request.tags,
            asset_selection=list(request.asset_selection or []),
            instance=instance,
        )
        assert result.success
        found = {}
        for event in result.get_asset_materialization_events():
            m = event.materialization
            found[m.asset_key] = plain_metadata(m.metadata)
        assert set(found) == set(request.asset_selection or [])
        return found


@pytest.fixture(params=["sqlite", "postgres"])
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
        yield Scenario(tmp_path, engine, None)
    else:
        engine = sa.create_engine(request.getfixturevalue("pg_url"))
        yield Scenario(tmp_path, engine, "public")
    engine.dispose()


def test_sensor_requests_only_what_changed(scenario: Scenario) -> None:
    s = scenario
    with dg.instance_for_test() as instance:
        # tick 1: nothing profiled yet -> everything
        first = s.tick(instance)
        (request,) = first.run_requests
        assert set(request.asset_selection) == {s.key("orders"), s.key("customers"), SUMMARY}
        assert json.loads(s.cursor)["v"] == 2
        done = s.launch(instance, request)
        assert {d["action"] for m in done.values() for d in m["baselinr/decisions"]} == {"full"}

        # tick 2: nothing changed -> skip
        second = s.tick(instance)
        assert not second.run_requests
        assert "No Baselinr table needs profiling" in second.skip_message

        # an insert into orders -> exactly that asset
        insert_orders(s.engine, s.orders, 25, start_id=1000)
        s.flush()
        third = s.tick(instance)
        (request,) = third.run_requests
        assert request.asset_selection == [s.key("orders"), SUMMARY]
        assert "orders" in request.tags["baselinr/changed_tables"]
        assert "customers" not in request.tags["baselinr/changed_tables"]
        done = s.launch(instance, request)
        assert done[s.key("orders")]["dagster/row_count"] == 125
        assert not s.tick(instance).run_requests

        # a second insert is a legitimately new request: a new run key
        insert_orders(s.engine, s.orders, 5, start_id=2000)
        s.flush()
        fourth = s.tick(instance)
        (again,) = fourth.run_requests
        assert again.asset_selection == [s.key("orders"), SUMMARY]
        assert again.run_key != request.run_key
        s.launch(instance, again)
        assert not s.tick(instance).run_requests

        # config change of one entry -> only that asset, profiled even though its data
        # did not change
        s.metrics = [*s.metrics, "stddev"]
        s.write_config()
        fifth = s.tick(instance)
        (request,) = fifth.run_requests
        assert request.asset_selection == [s.key("customers"), SUMMARY]
        assert request.tags["baselinr/config_changed"] == s.key("customers").to_user_string()
        done = s.launch(instance, request)
        (decision,) = done[s.key("customers")]["baselinr/decisions"]
        assert decision["status"] == "completed"
        store = sa.create_engine(f"sqlite:///{s.tmp_path / 'store.db'}")
        with store.connect() as conn:
            metrics = set(
                conn.execute(
                    sa.select(results.c.metric_name).where(results.c.run_id == decision["run_id"])
                ).scalars()
            )
        store.dispose()
        assert "stddev" in metrics
        assert not s.tick(instance).run_requests
