"""Materialising Baselinr assets through Dagster on real warehouses."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from baselinr.storage.schema import runs
from baselinr_dagster import build_baselinr_definitions
from tests.support.dagster import materializations
from tests.support.tables import create_orders

pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


def write_config(tmp_path: Path, engine: sa.Engine, tables: list[dict], **extra: Any) -> Path:
    data = {
        "environment": "test",
        "source": {"url": engine.url.render_as_string(hide_password=False)},
        "storage": {"connection": {"type": "sqlite", "filepath": str(tmp_path / "store.db")}},
        "profiling": {"tables": tables, "max_workers": 2},
        **extra,
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_job_materializes_every_asset_with_standard_metadata(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine_name == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
        schema = None
    else:
        engine = sa.create_engine(request.getfixturevalue("pg_url"))
        schema = "public"
    create_orders(engine, 300, name="orders")
    create_orders(engine, 50, name="fct_a", seed=3)
    create_orders(engine, 70, name="fct_b", seed=4)
    path = write_config(
        tmp_path,
        engine,
        [{"table": "orders", **({"schema": schema} if schema else {})},
         {"name": "facts", "pattern": "fct_*"}],
    )  # fmt: skip
    defs = build_baselinr_definitions(path)
    result = defs.resolve_job_def("baselinr_profile_all").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    found = materializations(result)
    orders_key = "baselinr/public/orders" if schema else "baselinr/orders"
    assert set(found) == {orders_key, "baselinr/facts", "baselinr/summary"}
    orders = found[orders_key]
    assert orders["dagster/row_count"] == 300
    assert orders["dagster/table_name"].endswith("orders")
    columns = [c.name for c in orders["dagster/column_schema"].columns]
    assert columns == ["id", "amount", "status", "order_date"]
    assert [d["action"] for d in orders["baselinr/decisions"]] == ["full"]
    assert orders["baselinr/decisions"][0]["status"] == "completed"
    amount = next(r for r in orders["baselinr/metrics"] if r["column"] == "amount")
    assert amount["nulls"] == "0%" and " ± " in amount["mean ± sd"]
    facts = found["baselinr/facts"]
    assert facts["dagster/row_count"] == 120
    assert facts["baselinr/outcome"] == "2 tables: 2 full"
    assert sorted(r["table"].split(".")[-1] for r in facts["baselinr/decisions"]) == [
        "fct_a",
        "fct_b",
    ]
    assert "dagster/column_schema" not in facts  # two tables: no single schema
    summary = found["baselinr/summary"]
    assert summary["baselinr/tables"] == 3
    assert summary["baselinr/tables_profiled"] == 3
    assert summary["baselinr/rows_scanned"] == 420
    assert summary["baselinr/action/full"] == 3
    # storage has one completed run per table, tagged with the Dagster run id
    store = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(runs.c.table_name, runs.c.status, runs.c.dagster_run_id)
        ).all()
    assert sorted(r.table_name for r in rows) == ["fct_a", "fct_b", "orders"]
    assert {r.status for r in rows} == {"completed"}
    assert {r.dagster_run_id for r in rows} == {result.run_id}
    engine.dispose()
    store.dispose()


def test_subset_materializes_only_the_selection(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 10, name="orders")
    create_orders(engine, 10, name="customers")
    path = write_config(tmp_path, engine, [{"table": "orders"}, {"table": "customers"}])
    defs = build_baselinr_definitions(path)
    job = defs.resolve_job_def("baselinr_profile_all")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(["baselinr", "customers"])],
    )
    assert result.success
    assert set(materializations(result)) == {"baselinr/customers"}


def test_failing_table_fails_its_asset_and_keeps_the_others(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 10, name="orders")
    create_orders(engine, 10, name="broken")
    # the partition key does not exist in 'broken': that table fails at profile time
    path = write_config(
        tmp_path,
        engine,
        [{"table": "orders"}, {"table": "broken", "partition": {"key": "nope"}}],
    )
    defs = build_baselinr_definitions(path)
    result = defs.resolve_job_def("baselinr_profile_all").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert set(materializations(result)) == {"baselinr/orders"}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "baselinr/broken" in message and "nope" in message


def test_unreachable_warehouse_fails_with_a_clear_message(tmp_path: Path) -> None:
    engine = sa.create_engine("postgresql+psycopg2://nobody:secret@127.0.0.1:9/none")
    path = write_config(tmp_path, engine, [{"table": "orders"}])
    defs = build_baselinr_definitions(path)
    result = defs.resolve_job_def("baselinr_profile_all").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "127.0.0.1" in message and "secret" not in message


def test_second_run_skips_and_the_summary_says_so(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 40, name="orders")
    create_orders(engine, 60, name="customers")
    path = write_config(
        tmp_path, engine, [{"table": "orders"}, {"table": "customers"}],
        incremental={"enabled": True},
    )  # fmt: skip
    defs = build_baselinr_definitions(path)
    job = defs.resolve_job_def("baselinr_profile_all")
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance).success
        second = job.execute_in_process(instance=instance)
    assert second.success
    found = materializations(second)
    (decision,) = found["baselinr/orders"]["baselinr/decisions"]
    assert (decision["action"], decision["status"]) == ("skip", "skipped")
    assert decision["run_id"]  # the run whose (cached) metrics are shown
    assert "metrics of the profile of" in found["baselinr/orders"]["baselinr/outcome"]
    assert found["baselinr/orders"]["dagster/row_count"] == 40
    summary = found["baselinr/summary"]
    assert summary["baselinr/action/skip"] == 2
    assert summary["baselinr/tables_profiled"] == 0
    assert summary["baselinr/rows_scanned"] == 0
    assert summary["baselinr/estimated_rows_avoided"] == 100
    engine.dispose()
