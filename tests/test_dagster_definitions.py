"""Loading the code location: keys, groups, tags, deps, job, sensor — and that loading
never touches the warehouse or storage."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from baselinr.integrations.dagster import build_baselinr_definitions as seed_import
from baselinr_dagster import build_baselinr_definitions, create_profiling_assets

ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, tables: list[dict], **extra: object) -> Path:
    data = {
        "environment": "prod eu/1",
        # Unreachable on purpose: loading definitions must not connect anywhere.
        "source": {"type": "postgres", "host": "127.0.0.1", "port": 9, "database": "nowhere",
                   "username": "u", "password": "${NOT_SET_ANYWHERE}"},
        "storage": {"connection": {"type": "postgres", "host": "127.0.0.1", "port": 9,
                                   "database": "nowhere"}},
        "profiling": {"tables": tables},
        **extra,
    }  # fmt: skip
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_seed_import_path_is_the_same_function() -> None:
    assert seed_import is build_baselinr_definitions


def test_keys_groups_tags_and_job(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        [
            {"table": "orders", "schema": "public"},
            {"name": "facts", "schema": "analytics", "pattern": "fct_*"},
            {"pattern": "dim_*"},
            {"schema": "staging", "select_schema": True, "deps": [["dbt", "stg_events"]]},
        ],
    )
    defs = build_baselinr_definitions(str(path), default_tags={"team": "dq"},
                                      default_metadata={"owner": "data"})  # fmt: skip
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= {
        "baselinr/public/orders",
        "baselinr/analytics/facts",
        "baselinr/dim",
        "baselinr/staging/all_tables",
        "baselinr/summary",
    }
    orders = graph.get(dg.AssetKey(["baselinr", "public", "orders"]))
    assert orders.group_name == "baselinr_profiling"
    assert orders.tags["environment"] == "prod_eu_1"
    assert orders.tags["team"] == "dq"
    assert orders.metadata["owner"] == "data"
    assert "postgres" in orders.kinds
    staging = graph.get(dg.AssetKey(["baselinr", "staging", "all_tables"]))
    assert dg.AssetKey(["dbt", "stg_events"]) in staging.parent_keys
    summary = graph.get(dg.AssetKey(["baselinr", "summary"]))
    assert summary.parent_keys == {
        dg.AssetKey(["baselinr", "public", "orders"]),
        dg.AssetKey(["baselinr", "analytics", "facts"]),
        dg.AssetKey(["baselinr", "dim"]),
        dg.AssetKey(["baselinr", "staging", "all_tables"]),
    }
    job = defs.resolve_job_def("baselinr_profile_all")
    assert set(job.asset_layer.selected_asset_keys) == graph.get_all_asset_keys() - {
        dg.AssetKey(["dbt", "stg_events"])
    }
    assert defs.resolve_sensor_def("baselinr_plan_sensor").job_name == "baselinr_profile_all"
    assert "baselinr" in defs.resources


def test_custom_names_and_no_sensor(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"table": "orders"}])
    defs = build_baselinr_definitions(
        path, asset_prefix="dq", job_name="profile_now", enable_sensor=False, group_name="g"
    )
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey(["dq", "orders"]) in graph.get_all_asset_keys()
    assert graph.get(dg.AssetKey(["dq", "orders"])).group_name == "g"
    assert defs.resolve_job_def("profile_now") is not None
    assert not list(defs.sensors or [])


def test_duplicate_keys_are_a_clear_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"table": "orders"}, {"pattern": "orders"}])
    with pytest.raises(
        dg.DagsterInvalidDefinitionError, match=r"profiling.tables\[1\].*tables\[0\]"
    ):
        create_profiling_assets(path)


def test_hostile_names_become_safe_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"table": 'we"ird; drop table x', "schema": "my schema"}])
    defs = build_baselinr_definitions(path)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "baselinr/my_schema/we_ird__drop_table_x" in keys


def test_automation_condition_applies_to_entries_with_deps(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, [{"table": "orders", "deps": ["dbt/orders"]}, {"table": "customers"}]
    )
    defs = build_baselinr_definitions(path, automation_condition=dg.AutomationCondition.eager())
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["baselinr", "orders"])).automation_condition is not None
    assert graph.get(dg.AssetKey(["baselinr", "customers"])).automation_condition is None
    assert (
        dg.AssetKey(["dbt", "orders"]) in graph.get(dg.AssetKey(["baselinr", "orders"])).parent_keys
    )


def test_workspace_validates_with_the_dagster_cli() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w",
         "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "baselinr" in (result.stdout + result.stderr)


def test_upstream_example_merges_into_one_code_location() -> None:
    example = ROOT / "examples" / "upstream_definitions.py"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-f",
         str(example)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    namespace: dict[str, object] = {"__file__": str(example)}
    exec(compile(example.read_text(), str(example), "exec"), namespace)
    defs = namespace["defs"]
    assert isinstance(defs, dg.Definitions)
    graph = defs.resolve_asset_graph()
    orders = graph.get(dg.AssetKey(["baselinr", "orders"]))
    assert dg.AssetKey(["dbt", "orders"]) in orders.parent_keys
    assert orders.automation_condition is not None
    checks = graph.asset_check_keys
    assert dg.AssetCheckKey(dg.AssetKey(["dbt", "orders"]), "baselinr_drift") in checks
    sensor = defs.resolve_sensor_def("baselinr_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
