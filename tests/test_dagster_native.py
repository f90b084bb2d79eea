"""Dagster-native semantics (DESIGN §8b) against real Dagster instances: the translator,
specs at definition time, data versions and downstream automation, checks on the
user's own asset, the automation sensor, split sensor requests, and what the UI is
given."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from baselinr.config.effective import profile_signature
from baselinr_dagster import (
    DRIFT_CHECK,
    SCHEMA_CHECK,
    BaselinrEntry,
    BaselinrTranslator,
    build_baselinr_definitions,
    eager_on_new_data,
)
from baselinr_dagster.layout import load_layout
from tests.support.dagster import materializations, plain_metadata
from tests.support.tables import create_orders

pytestmark = pytest.mark.usefixtures("fresh_dagster_cache")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
ORDERS = dg.AssetKey(["baselinr", "orders"])
SUMMARY = dg.AssetKey(["baselinr", "summary"])


def write_config(tmp_path: Path, tables: list[dict[str, Any]], **extra: Any) -> Path:
    data = {
        "environment": "test",
        "source": {"type": "sqlite", "filepath": str(tmp_path / "wh.db")},
        "storage": {"connection": {"type": "sqlite", "filepath": str(tmp_path / "store.db")}},
        "profiling": {"tables": tables, "max_workers": 2},
        "incremental": {"enabled": True},
        **extra,
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Any:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    create_orders(engine, 200, name="orders")
    yield engine
    engine.dispose()


def data_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None
    return event.asset_materialization.tags.get("dagster/data_version")


# --- specs at definition time ------------------------------------------------------------
def test_specs_carry_code_version_table_name_owners_and_freshness(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    path = write_config(
        tmp_path,
        [
            {
                "table": "orders",
                "owners": ["team:data-quality", "ana@example.com"],
                "freshness": {"fail_after_minutes": 1440, "warn_after_minutes": 720},
            },
            {"name": "facts", "pattern": "fct_*"},
        ],
    )
    defs = build_baselinr_definitions(path)
    graph = defs.resolve_asset_graph()
    orders = graph.get(ORDERS)
    layout = load_layout(path)
    entry = layout.profiling.tables[0]
    assert orders.code_version == profile_signature(layout.profiling, layout.incremental, entry)
    assert orders.metadata["dagster/table_name"] == "wh.main.orders"  # the runtime name too
    assert set(orders.owners) == {"team:data-quality", "ana@example.com"}
    policy = orders.freshness_policy
    assert policy is not None and policy.fail_window.to_timedelta().total_seconds() == 86400
    facts = graph.get(dg.AssetKey(["baselinr", "facts"]))
    assert "dagster/table_name" not in facts.metadata  # a pattern is not one table

    # drift settings and owners do not change the code version; metrics do
    edited = write_config(
        tmp_path,
        [{"table": "orders", "owners": ["bo@example.com"]}, {"name": "facts", "pattern": "fct_*"}],
        drift_detection={"fail_on": "high"},
    )
    assert build_baselinr_definitions(edited).resolve_asset_graph().get(ORDERS).code_version == (
        orders.code_version
    )
    edited = write_config(tmp_path, [{"table": "orders", "metrics": ["count"]}])
    assert build_baselinr_definitions(edited).resolve_asset_graph().get(ORDERS).code_version != (
        orders.code_version
    )


def test_bad_dagster_keys_are_config_errors(tmp_path: Path) -> None:
    from baselinr.config import load_config
    from baselinr.errors import ConfigError

    for bad in (
        {"table": "orders", "owners": ["not an owner"]},
        {"table": "orders", "attach_checks_to": "target"},
        {"table": "orders", "plot_metrics": ["amount"]},
        {"table": "orders", "freshness": {"fail_after_minutes": 10, "warn_after_minutes": 20}},
    ):
        with pytest.raises(ConfigError):
            load_config(write_config(tmp_path, [bad]))


class WarehouseKeys(BaselinrTranslator):
    """Keys under the user's own prefix, and a team tag."""

    def get_asset_key(self, entry: BaselinrEntry) -> dg.AssetKey:
        return dg.AssetKey(["warehouse", "profiles", entry.config.table or "x"])

    def get_tags(self, entry: BaselinrEntry) -> dict[str, str]:
        return {**super().get_tags(entry), "team": "dq"}


def test_translator_keys_are_used_by_assets_checks_and_sensor(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    path = write_config(tmp_path, [{"table": "orders"}])
    defs = build_baselinr_definitions(path, translator=WarehouseKeys())
    key = dg.AssetKey(["warehouse", "profiles", "orders"])
    graph = defs.resolve_asset_graph()
    assert graph.get(key).tags["team"] == "dq"
    assert dg.AssetCheckKey(key, DRIFT_CHECK) in graph.asset_check_keys
    with dg.instance_for_test() as instance:
        sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
        (request,) = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, definitions=defs)
        ).run_requests
        assert set(request.asset_selection) == {key, SUMMARY}
        result = defs.resolve_job_def("baselinr_profile_all").execute_in_process(
            instance=instance, asset_selection=list(request.asset_selection), run_config=QUIET
        )
        assert set(materializations(result)) == {key.to_user_string(), SUMMARY.to_user_string()}


# --- data versions and downstream automation ----------------------------------------------
def downstream_defs(path: Path) -> dg.Definitions:
    @dg.asset(deps=[ORDERS], automation_condition=dg.AutomationCondition.eager())
    def on_any_update() -> None: ...

    @dg.asset(
        deps=[ORDERS],
        automation_condition=dg.AutomationCondition.any_deps_match(
            dg.AutomationCondition.data_version_changed()
        ),
    )
    def on_new_data_version() -> None: ...

    @dg.asset(deps=[ORDERS], automation_condition=eager_on_new_data())
    def eager_new_data() -> None: ...

    return dg.Definitions.merge(
        build_baselinr_definitions(path),
        dg.Definitions(assets=[on_any_update, on_new_data_version, eager_new_data]),
    )


NAMES = (
    "on_any_update",
    "on_new_data_version",
    "eager_new_data",
    "baselinr/orders",
    "baselinr/summary",
)


def run_downstream(defs: dg.Definitions, instance: dg.DagsterInstance, names: set[str]) -> None:
    """Materialize the downstream assets a tick requested, as the daemon would."""
    keys = [dg.AssetKey(n) for n in sorted(names) if "/" not in n]
    if keys:
        job = defs.resolve_implicit_global_asset_job_def()
        assert job.execute_in_process(instance=instance, asset_selection=keys).success


def requested(result: Any) -> set[str]:
    return {n for n in NAMES if result.get_num_requested(dg.AssetKey.from_user_string(n))}


@pytest.mark.parametrize("instance_kind", ["sqlite", "postgres"])
def test_a_skip_keeps_the_data_version_and_fools_no_data_version_condition(
    instance_kind: str, tmp_path: Path, warehouse: sa.Engine, request: pytest.FixtureRequest
) -> None:
    path = write_config(tmp_path, [{"table": "orders"}])
    defs = downstream_defs(path)
    job = defs.resolve_job_def("baselinr_profile_all")
    overrides = (
        {"storage": {"postgres": {"postgres_url": request.getfixturevalue("pg_url")}}}
        if instance_kind == "postgres"
        else None
    )
    with dg.instance_for_test(overrides=overrides) as instance:
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert job.execute_in_process(instance=instance, run_config=QUIET).success
        first = data_version(instance, ORDERS)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        # the first profile is new data for all three (eager_new_data also fires on
        # newly_missing, so it was requested on the first tick already)
        assert {"on_any_update", "on_new_data_version"} <= requested(tick)
        run_downstream(defs, instance, requested(tick))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert not requested(tick) & {"on_any_update", "on_new_data_version", "eager_new_data"}

        # nothing changed: the run skips the table, re-reporting the data version of
        # the profile it reuses
        result = job.execute_in_process(instance=instance, run_config=QUIET)
        (decision,) = materializations(result)["baselinr/orders"]["baselinr/decisions"]
        assert decision["action"] == "skip"
        assert data_version(instance, ORDERS) == first
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert "on_new_data_version" not in requested(tick)
        assert "eager_new_data" not in requested(tick)
        # Dagster's eager() reacts to every materialization, skips included
        assert "on_any_update" in requested(tick)
        run_downstream(defs, instance, requested(tick))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert not requested(tick) & {"on_any_update", "on_new_data_version", "eager_new_data"}

        # new rows: a real profile, a new data version, and both conditions fire
        with warehouse.begin() as conn:
            conn.execute(sa.text("INSERT INTO orders (id, amount) VALUES (9001, 5.0)"))
        result = job.execute_in_process(instance=instance, run_config=QUIET)
        (decision,) = materializations(result)["baselinr/orders"]["baselinr/decisions"]
        assert decision["action"] == "full"
        assert data_version(instance, ORDERS) not in (None, first)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert {"on_new_data_version", "eager_new_data", "on_any_update"} <= requested(tick)


def test_a_forced_profile_of_unchanged_data_is_a_new_data_version(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    path = write_config(tmp_path, [{"table": "orders"}])
    job = build_baselinr_definitions(path).resolve_job_def("baselinr_profile_all")
    with dg.instance_for_test() as instance:
        job.execute_in_process(instance=instance, run_config=QUIET)
        first = data_version(instance, ORDERS)
        forced = {
            "ops": {"baselinr_profile_tables": {"config": {"force_full": ["baselinr/orders"]}}}
        }
        job.execute_in_process(instance=instance, run_config={**QUIET, **forced})
        assert data_version(instance, ORDERS) != first


# --- checks and observations on the user's own asset --------------------------------------
def test_checks_and_an_observation_land_on_the_target_asset(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    create_orders(warehouse, 50, name="refunds", seed=5)
    path = write_config(
        tmp_path,
        [
            {"table": "orders", "target_asset": "dbt/orders"},
            {"table": "refunds", "target_asset": "dbt/refunds", "attach_checks_to": "target"},
        ],
    )

    @dg.asset(key=["dbt", "orders"])
    def dbt_orders() -> None: ...

    @dg.asset(key=["dbt", "refunds"])
    def dbt_refunds() -> None: ...

    defs = dg.Definitions.merge(
        dg.Definitions(assets=[dbt_orders, dbt_refunds]), build_baselinr_definitions(path)
    )
    dg.Definitions.validate_loadable(defs)
    checks = defs.resolve_asset_graph().asset_check_keys
    dbt_orders_key, dbt_refunds_key = (
        dg.AssetKey(["dbt", "orders"]),
        dg.AssetKey(["dbt", "refunds"]),
    )
    refunds = dg.AssetKey(["baselinr", "refunds"])
    for name in (DRIFT_CHECK, SCHEMA_CHECK):
        assert dg.AssetCheckKey(ORDERS, name) in checks
        assert dg.AssetCheckKey(dbt_orders_key, name) in checks
        assert dg.AssetCheckKey(dbt_refunds_key, name) in checks
        assert dg.AssetCheckKey(refunds, name) not in checks  # attach_checks_to: target

    job = defs.resolve_job_def("baselinr_profile_all")
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance, run_config=QUIET).success
        with warehouse.begin() as conn:
            # the fallback detector sees row counts: 50 new rows without an amount
            conn.execute(
                sa.text("INSERT INTO orders (id, status) VALUES (:i, 'new')"),
                [{"i": 201 + i} for i in range(50)],
            )
        result = job.execute_in_process(instance=instance, run_config=QUIET)
        records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dbt_orders_key, DRIFT_CHECK), dg.AssetCheckKey(ORDERS, DRIFT_CHECK)]
        )
        for key in (
            dg.AssetCheckKey(dbt_orders_key, DRIFT_CHECK),
            dg.AssetCheckKey(ORDERS, DRIFT_CHECK),
        ):
            record = records[key]
            assert record.run_id == result.run_id
            evaluation = record.event.dagster_event.event_specific_data
            assert not evaluation.passed
            findings = plain_metadata(evaluation.metadata)["baselinr/findings"]
            named = [".".join(p for p in (f["column"], f["metric"]) if p) for f in findings[:3]]
            assert evaluation.description.startswith(named[0])  # worst first, by name
            assert all(n in evaluation.description for n in named)
            assert any(
                n == "amount.null_ratio" for n in (f"{f['column']}.{f['metric']}" for f in findings)
            )
        observed = instance.fetch_observations(dbt_orders_key, limit=1).records[0]
        meta = plain_metadata(observed.asset_observation.metadata)
        assert meta["dagster/row_count"] == 250
        assert meta["baselinr/profile_asset"] == "baselinr/orders"
        assert [c.name for c in meta["dagster/column_schema"].columns][:2] == ["id", "amount"]


# --- the UI -----------------------------------------------------------------------------
def orders_materialization(path: Path) -> dg.AssetMaterialization:
    """The orders asset's materialization from one in-process run of the job."""
    job = build_baselinr_definitions(path).resolve_job_def("baselinr_profile_all")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, run_config=QUIET)
    (event,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == ORDERS
    ]
    return event


def test_numbers_only_where_a_plot_means_something(tmp_path: Path, warehouse: sa.Engine) -> None:
    path = write_config(tmp_path, [{"table": "orders", "plot_metrics": ["amount.mean"]}])
    event = orders_materialization(path)
    numeric = {
        k
        for k, v in event.metadata.items()
        if isinstance(v, (dg.IntMetadataValue, dg.FloatMetadataValue))
    }
    assert numeric == {
        "dagster/row_count",
        "baselinr/null_cells",
        "baselinr/drifted_metrics",
        "baselinr/rows_scanned",
        "baselinr/estimated_rows_avoided",
        "baselinr/estimated_bytes_avoided",
        "baselinr/plot/amount.mean",
    }
    meta = plain_metadata(event.metadata)
    amount = next(r for r in meta["baselinr/metrics"] if r["column"] == "amount")
    mean = float(amount["mean ± sd"].split(" ± ")[0].replace(",", ""))
    assert meta["baselinr/plot/amount.mean"] == pytest.approx(mean, rel=1e-3)
    assert amount["nulls"] == "0%"
    assert meta["dagster/table_name"] == "wh.main.orders"  # as at definition time
    assert meta["baselinr/null_cells"] == _nulls(warehouse)
    assert isinstance(event.metadata["baselinr/decisions"], dg.TableMetadataValue)
    assert isinstance(event.metadata["baselinr/metrics"], dg.TableMetadataValue)


def test_estimated_metrics_are_named(tmp_path: Path, warehouse: sa.Engine) -> None:
    metrics = ["count", "approx_distinct_count", "unique_ratio"]
    path = write_config(tmp_path, [{"table": "orders", "metrics": metrics}])
    event = orders_materialization(path)
    meta = plain_metadata(event.metadata)
    assert meta["baselinr/estimated_metrics"] == "approx_distinct_count, unique_ratio"


def _nulls(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT sum(id IS NULL) + sum(amount IS NULL) + sum(status IS NULL) "
                    "+ sum(order_date IS NULL) FROM orders"
                )
            ).scalar_one()
        )


# --- upstream automation in one step ------------------------------------------------------
def test_upstream_automation_sensor_runs_by_default_and_tags_its_runs(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    path = write_config(tmp_path, [{"table": "orders", "deps": ["dbt/orders"]}])

    @dg.asset(key=["dbt", "orders"])
    def upstream() -> None: ...

    defs = dg.Definitions.merge(
        dg.Definitions(assets=[upstream]),
        build_baselinr_definitions(path, automation_condition=dg.AutomationCondition.eager()),
    )
    sensor = defs.resolve_sensor_def("baselinr_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.run_tags == {"baselinr/trigger": "upstream"}
    with dg.instance_for_test() as instance:
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        dg.materialize([upstream], instance=instance)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        # the table asset and the summary, in the same tick (so in the same run)
        assert requested(tick) >= {"baselinr/orders", "baselinr/summary"}


# --- scale-out: one request split into runs ------------------------------------------------
def test_a_request_splits_into_runs_of_at_most_n_assets(
    tmp_path: Path, warehouse: sa.Engine
) -> None:
    for i, name in enumerate(("customers", "items", "returns", "refunds", "payments")):
        create_orders(warehouse, 10 + i, name=name, seed=i + 3)
    tables = ["orders", "customers", "items", "returns", "refunds"]
    path = write_config(tmp_path, [{"table": t} for t in tables])
    defs = build_baselinr_definitions(path, max_assets_per_run=2)
    sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
    job = defs.resolve_job_def("baselinr_profile_all")
    with dg.instance_for_test() as instance:
        data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        requests = data.run_requests
        assert len(requests) == 3
        assert len({r.run_key for r in requests}) == 3
        table_keys = [k for r in requests for k in r.asset_selection if k != SUMMARY]
        assert len(table_keys) == len(set(table_keys)) == 5  # none requested twice
        assert all(SUMMARY in r.asset_selection and len(r.asset_selection) <= 3 for r in requests)
        assert [r.tags["baselinr/part"] for r in requests] == ["1/3", "2/3", "3/3"]
        for r in requests:
            # as the daemon launches it: the job subset of exactly its assets and checks
            assert r.asset_check_keys == []
            subset = job.get_subset(
                asset_selection=frozenset(r.asset_selection), asset_check_selection=frozenset()
            )
            result = subset.execute_in_process(
                instance=instance, tags=r.tags, run_config={**r.run_config, **QUIET}
            )
            assert result.success
            assert set(materializations(result)) == {k.to_user_string() for k in r.asset_selection}
            # the checks were not selected, yet each table asset's two were evaluated
            evaluated = {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
            assert evaluated == {
                (k, c)
                for k in r.asset_selection
                if k != SUMMARY
                for c in (DRIFT_CHECK, SCHEMA_CHECK)
            }
        again = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=data.cursor, definitions=defs)
        )
        assert not again.run_requests and "No Baselinr table needs profiling" in again.skip_message


def test_a_pending_request_gets_a_skip_reason(tmp_path: Path, warehouse: sa.Engine) -> None:
    path = write_config(tmp_path, [{"table": "orders"}])
    defs = build_baselinr_definitions(path)
    sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
    with dg.instance_for_test() as instance:
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        (request,) = first.run_requests
        ours = {t for t in request.tags if t.startswith("baselinr/")}
        assert ours == {"baselinr/changed_tables", "baselinr/metrics_requested"}  # compact
        instance.add_run(
            dg.DagsterRun(
                job_name="baselinr_profile_all",
                run_id="started-run",
                status=dg.DagsterRunStatus.STARTED,
                tags={"dagster/run_key": request.run_key},
            )
        )
        second = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs)
        )
        assert not second.run_requests
        assert "already requested" in second.skip_message and "main.orders" in second.skip_message


def test_check_descriptions_name_the_worst_findings() -> None:
    from baselinr_dagster.checks import _finding_text

    base = {"table": "main.orders", "baseline_value": None, "current_value": None,
            "change_percent": None, "score": None}  # fmt: skip
    mean = {**base, "column": "amount", "metric": "mean", "score_unit": "percent",
            "change_percent": 30.2, "severity": "medium"}  # fmt: skip
    nulls = {**base, "column": "quantity", "metric": "null_ratio", "score_unit": "points",
             "baseline_value": 0.0, "current_value": 0.2, "severity": "medium"}  # fmt: skip
    assert _finding_text("baselinr_drift", mean, False) == "amount.mean +30% (medium)"
    assert _finding_text("baselinr_drift", nulls, False) == "quantity.null_ratio 0% → 20% (medium)"
    retyped = {"table": "main.orders", "column": "qty", "change": "type_changed",
               "previous_type": "INTEGER", "current_type": "TEXT", "severity": "high"}  # fmt: skip
    assert _finding_text("baselinr_schema", retyped, True) == (
        "main.orders.qty retyped INTEGER → TEXT (high)"
    )
