"""Every figure has one source (the stored run), one signature decides what forces a
profile, and a plan is executed without detecting or reading state again.

On real SQLite and PostgreSQL warehouses, through the CLI and through Dagster."""

import json
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from baselinr.cli import main
from baselinr.config import load_config
from baselinr.runner import ProfileRunner
from baselinr_dagster import build_baselinr_definitions
from baselinr_dagster.resource import clear_cache
from tests.support.dagster import plain_metadata
from tests.support.incremental import ALL_MERGEABLE, StatementLog
from tests.support.tables import create_orders, order_rows

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    else:
        engine = sa.create_engine(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


def write_config(tmp_path: Path, engine: sa.Engine, **changes: Any) -> Path:
    entry: dict[str, Any] = {"table": "orders", "partition": {"key": "order_date"}}
    entry.update(changes.pop("entry", {}))
    data: dict[str, Any] = {
        "environment": "test",
        "source": {"url": engine.url.render_as_string(hide_password=False)},
        "storage": {"connection": {"type": "sqlite", "filepath": str(tmp_path / "store.db")}},
        "profiling": {"metrics": ALL_MERGEABLE, "tables": [entry]},
        "incremental": {
            "enabled": True,
            "partial_profiling": {"mergeable_metrics": ALL_MERGEABLE},
            "change_detection": {"connector_overrides": {"postgresql": {"detector": "fallback"}}},
        },
        **changes,
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def insert_one_day(engine: sa.Engine, orders: sa.Table, n: int, start_id: int) -> None:
    """New orders on a single day: one partition changes."""
    with engine.begin() as conn:
        conn.execute(orders.insert(), order_rows(n, seed=5, start_id=start_id, days=1))


def cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def stored_run(path: Path, run_id: str) -> Any:
    config = load_config(path)
    runner = ProfileRunner(config)
    try:
        run = runner.context.storage.reader.run(run_id)
    finally:
        runner.context.close()
    assert run is not None
    return run


def status_of(path: Path, run_id: str) -> dict[str, Any]:
    (found,) = [
        r for r in cli("status", "-c", str(path), "--json")["runs"] if r["run_id"] == run_id
    ]
    return found


def test_a_partial_run_reports_the_stored_rows_everywhere(
    engine: sa.Engine, tmp_path: Path
) -> None:
    orders = create_orders(engine, 500, name="orders")
    path = write_config(tmp_path, engine)
    defs = build_baselinr_definitions(path)
    job = defs.resolve_job_def("baselinr_profile_all")
    key = dg.AssetKey(["baselinr", "orders"])
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance, run_config=QUIET).success

        # new orders for one day (one partition) -> a partial run through Dagster
        insert_one_day(engine, orders, 40, start_id=10_000)
        result = job.execute_in_process(instance=instance, run_config=QUIET)
        (materialization,) = [
            e.materialization
            for e in result.get_asset_materialization_events()
            if e.materialization.asset_key == key
        ]
        meta = plain_metadata(materialization.metadata)
        (decision,) = meta["baselinr/decisions"]
        assert decision["action"] == "partial"
        run = stored_run(path, decision["run_id"])
        assert run.action == "partial" and run.row_count == 540
        assert 0 < run.rows_scanned < run.row_count  # only the changed day was read
        assert meta["baselinr/rows_scanned"] == decision["rows_scanned"] == run.rows_scanned
        assert meta["baselinr/estimated_rows_avoided"] == run.row_count - run.rows_scanned
        assert meta["dagster/row_count"] == run.row_count
        assert status_of(path, run.run_id)["rows_scanned"] == run.rows_scanned
        summary = next(
            e.materialization
            for e in result.get_asset_materialization_events()
            if e.materialization.asset_key == dg.AssetKey(["baselinr", "summary"])
        )
        assert summary.metadata["baselinr/rows_scanned"].value == run.rows_scanned

    # the same through the CLI: --json, status --json and storage agree
    insert_one_day(engine, orders, 7, start_id=20_000)
    clear_cache()
    data = cli("profile", "-c", str(path), "--json")
    (table,) = data["tables"]
    assert table["action"] == "partial"
    run = stored_run(path, table["run_id"])
    assert table["rows_scanned"] == run.rows_scanned == status_of(path, run.run_id)["rows_scanned"]
    assert table["row_count"] == run.row_count == 547
    assert run.rows_scanned <= run.row_count
    assert table["rows_avoided"] == run.row_count - run.rows_scanned
    assert table["statements"] == run.statements and table["columns"] == run.column_count


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> Any:
    sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
    return sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    )


def _launch(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest) -> Any:
    """Launch a request the way the sensor daemon does: the job subset of exactly its
    assets and checks."""
    job = defs.resolve_job_def("baselinr_profile_all")
    subset = job.get_subset(
        asset_selection=frozenset(request.asset_selection)
        if request.asset_selection is not None
        else None,
        asset_check_selection=frozenset(request.asset_check_keys)
        if request.asset_check_keys is not None
        else None,
    )
    result = subset.execute_in_process(
        instance=instance, run_config={**request.run_config, **QUIET}, tags=request.tags
    )
    assert result.success
    return result


def runs_in_storage(tmp_path: Path) -> int:
    store = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM baselinr_runs")).scalar())
    finally:
        store.dispose()


def test_drift_and_deps_edits_never_force_a_profile(engine: sa.Engine, tmp_path: Path) -> None:
    create_orders(engine, 200, name="orders")
    path = write_config(tmp_path, engine)
    with dg.instance_for_test() as instance:
        defs = build_baselinr_definitions(path)
        first = _tick(defs, instance, None)
        (request,) = first.run_requests
        _launch(defs, instance, request)
        profiled = runs_in_storage(tmp_path)
        quiet = _tick(defs, instance, first.cursor)
        assert not quiet.run_requests

        # a drift threshold edit: the checks are re-judged, nothing is profiled
        clear_cache()
        drift = {"absolute_threshold": {"low": 2, "medium": 4, "high": 8}}
        path = write_config(tmp_path, engine, drift_detection=drift)
        defs = build_baselinr_definitions(path)
        edited = _tick(defs, instance, quiet.cursor)
        (rejudge,) = edited.run_requests
        assert rejudge.asset_selection == []
        assert {k.name for k in rejudge.asset_check_keys} == {"baselinr_drift", "baselinr_schema"}
        result = _launch(defs, instance, rejudge)
        assert not result.get_asset_materialization_events()
        assert {e.check_name for e in result.get_asset_check_evaluations()} == {
            "baselinr_drift",
            "baselinr_schema",
        }
        assert runs_in_storage(tmp_path) == profiled
        plan = cli("plan", "-c", str(path), "--json")
        assert [d["action"] for d in plan["decisions"]] == ["skip"]
        settled = _tick(defs, instance, edited.cursor)
        assert not settled.run_requests

        # deps (and tags, owners) are not part of the profile: nothing at all
        clear_cache()
        path = write_config(
            tmp_path, engine, drift_detection=drift, entry={"deps": [["dbt", "stg_orders"]]}
        )
        defs = build_baselinr_definitions(path)
        after_deps = _tick(defs, instance, settled.cursor)
        assert not after_deps.run_requests
        assert "No Baselinr table needs profiling" in (after_deps.skip_message or "")
        plan = cli("plan", "-c", str(path), "--json")
        assert [d["action"] for d in plan["decisions"]] == ["skip"]
        assert runs_in_storage(tmp_path) == profiled

        # a profile setting is part of it: the planner and the sensor both re-profile
        clear_cache()
        path = write_config(
            tmp_path, engine, drift_detection=drift, entry={"metrics": ["count", "min"]}
        )
        defs = build_baselinr_definitions(path)
        changed = _tick(defs, instance, after_deps.cursor)
        (request,) = changed.run_requests
        assert request.tags["baselinr/config_changed"] == "baselinr/orders"
        plan = cli("plan", "-c", str(path), "--json")
        assert [(d["action"], d["reason"]) for d in plan["decisions"]] == [
            ("full", "config_changed")
        ]


# the fallback detector's partition manifest: key, count(*) grouped by the key
MANIFEST = re.compile(r"AS k, count\(\*\) AS n\s+FROM \S*orders GROUP BY", re.IGNORECASE)


def test_a_full_run_detects_once_and_reads_state_once(engine: sa.Engine, tmp_path: Path) -> None:
    create_orders(engine, 300, name="orders")
    config = load_config(write_config(tmp_path, engine))
    runner = ProfileRunner(config)
    warehouse = StatementLog(runner.context.warehouse)
    storage = StatementLog(runner.context.storage.engine)
    try:
        result = runner.profile()
        (outcome,) = result.outcomes
        assert (outcome.action, outcome.decision.strategy) == ("full", "partitioned_full")
        manifests = [s for s in warehouse.statements if MANIFEST.search(s)]
        assert len(manifests) == 1, manifests  # in planning; executing does not detect again
        state_reads = [
            s
            for s in storage.statements
            if s.lstrip().upper().startswith("SELECT") and "baselinr_table_state" in s
        ]
        assert len(state_reads) == 1, state_reads
    finally:
        warehouse.close()
        storage.close()
        runner.context.close()
