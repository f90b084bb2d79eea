"""Drift as Dagster asset checks, from the same run's profiles, and re-evaluated
without re-profiling."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from baselinr.storage.schema import runs
from baselinr_dagster import DRIFT_CHECK, SCHEMA_CHECK, build_baselinr_definitions
from baselinr_dagster.resource import clear_cache
from tests.support.dagster import plain

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")


def make_table(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE people (id INTEGER, email TEXT, age INTEGER, note TEXT)")
        )
        conn.execute(
            sa.text("INSERT INTO people VALUES (:id, :email, :age, 'x')"),
            [{"id": i, "email": f"p{i}@example.com", "age": 20 + i % 50} for i in range(500)],
        )


def write_config(tmp_path: Path, **drift: Any) -> Path:
    data = {
        "source": {"type": "sqlite", "filepath": str(tmp_path / "wh.db")},
        "storage": {"connection": {"type": "sqlite", "filepath": str(tmp_path / "store.db")}},
        "profiling": {"tables": [{"table": "people"}]},
        "drift_detection": drift,
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def checks(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def profiled_runs(tmp_path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
    engine.dispose()
    return n


def test_checks_report_drift_and_schema_changes_of_the_same_run(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    make_table(engine)
    defs = build_baselinr_definitions(write_config(tmp_path))
    job = defs.resolve_job_def("baselinr_profile_all")
    key = dg.AssetKey(["baselinr", "people"])
    with dg.instance_for_test() as instance:
        first = job.execute_in_process(instance=instance, run_config=QUIET)
        results = checks(first)
        assert set(results) == {DRIFT_CHECK, SCHEMA_CHECK}
        assert all(r.passed for r in results.values())
        assert "first profile" in results[DRIFT_CHECK].description

        # a never-null column becomes 20% null, and a column is dropped
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE people SET email = NULL WHERE id % 5 = 0"))
            conn.execute(sa.text("ALTER TABLE people DROP COLUMN note"))
        second = job.execute_in_process(instance=instance, run_config=QUIET)
        results = checks(second)
        drift, schema = results[DRIFT_CHECK], results[SCHEMA_CHECK]
        assert drift.asset_key == key
        assert not drift.passed
        assert drift.severity == dg.AssetCheckSeverity.WARN
        meta = {k: getattr(v, "value", v) for k, v in drift.metadata.items()}
        assert "main.people.email" in meta["baselinr/drifted_columns"]
        email = next(
            f for f in meta["baselinr/findings"]
            if f["column"] == "email" and f["metric"] == "null_ratio"
        )  # fmt: skip
        assert email["baseline_value"] == 0
        assert email["current_value"] == pytest.approx(0.2)
        assert email["severity"] == "medium"
        # the check judged the run this materialization made
        (materialization,) = [
            e.materialization for e in second.get_asset_materialization_events()
            if e.materialization.asset_key == key
        ]  # fmt: skip
        (decision,) = plain(materialization.metadata["baselinr/decisions"])
        assert meta["baselinr/run_ids"] == [decision["run_id"]]
        assert not schema.passed
        schema_rows = schema.metadata["baselinr/findings"].value
        assert [(r["column"], r["change"]) for r in schema_rows] == [("note", "removed")]
    engine.dispose()


def test_error_severity_and_rechecking_without_reprofiling(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    make_table(engine)
    path = write_config(tmp_path, check_severity="ERROR")
    with dg.instance_for_test() as instance:
        defs = build_baselinr_definitions(path)
        job = defs.resolve_job_def("baselinr_profile_all")
        job.execute_in_process(instance=instance, run_config=QUIET)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE people SET email = NULL WHERE id % 5 = 0"))
        second = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
        drift = checks(second)[DRIFT_CHECK]
        assert not drift.passed
        assert drift.severity == dg.AssetCheckSeverity.ERROR
        runs_before = profiled_runs(tmp_path)

        # thresholds change: re-evaluate the checks alone; nothing is re-profiled
        clear_cache()
        path = write_config(tmp_path, check_severity="ERROR", fail_on="high")
        rebuilt = build_baselinr_definitions(path)
        checks_only = dg.Definitions.merge(
            rebuilt,
            dg.Definitions(
                jobs=[
                    dg.define_asset_job(
                        "checks_only", selection=dg.AssetSelection.all_asset_checks()
                    )
                ]
            ),
        ).resolve_job_def("checks_only")
        rechecked = checks_only.execute_in_process(instance=instance, run_config=QUIET)
        drift = checks(rechecked)[DRIFT_CHECK]
        assert drift.passed  # a 20-point null change is 'medium', below 'high'
        assert profiled_runs(tmp_path) == runs_before
        assert not rechecked.get_asset_materialization_events()
    engine.dispose()
