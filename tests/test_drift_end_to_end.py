"""Drift on real warehouses: profile real tables through ProfileRunner, change the
data, profile again, and check what the detector, the events table and a later
re-evaluation say."""

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.drift import DriftDetector, DriftReport
from baselinr.profiling.metrics import DEFAULT_METRICS
from baselinr.storage import Storage
from baselinr.storage.schema import events, runs
from tests.support.drift_data import config_for, orders_rows, profile, write_orders

MakeConfig = Callable[..., BaselinrConfig]


def _report(config: BaselinrConfig) -> DriftReport:
    result = profile(config)
    (outcome,) = result.outcomes
    assert outcome.status == "completed"
    assert outcome.drift is not None
    return outcome.drift


def _finding(report: DriftReport, column: str | None, metric: str):  # type: ignore[no-untyped-def]
    found = [f for f in report.findings if f.column_name == column and f.metric == metric]
    assert found, (
        f"no {column}.{metric} finding in {[(f.where, f.metric) for f in report.findings]}"
    )
    return found[0]


def _events(config: BaselinrConfig, event_type: str) -> list[dict]:  # type: ignore[type-arg]
    storage = Storage.open(config.storage)
    try:
        with storage.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events).where(events.c.event_type == event_type)
            ).mappings()
            return [dict(r) for r in rows]
    finally:
        storage.engine.dispose()


def test_first_run_has_nothing_to_compare(warehouse: sa.Engine, make_config: MakeConfig) -> None:
    write_orders(warehouse, orders_rows())
    report = _report(config_for(make_config, warehouse))
    assert report.findings == () and report.schema_changes == ()
    assert report.max_severity == "none"
    assert not report.has_baseline
    assert any("first completed run" in n for n in report.notes)


def test_unchanged_data_gives_no_drift_at_all(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    write_orders(warehouse, orders_rows())
    config = config_for(make_config, warehouse, metrics=_ALL_METRICS)
    _report(config)
    for _ in range(2):
        report = _report(config)
        assert report.findings == (), report.findings
        assert report.schema_changes == ()
        assert report.compared >= 10  # it did compare: row_count, ratios, moments, shapes
        assert report.max_severity == "none"


def test_fresh_data_from_the_same_distribution_raises_no_alarm(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    config = config_for(make_config, warehouse, metrics=_ALL_METRICS)
    for seed in range(1, 5):
        write_orders(warehouse, orders_rows(seed=seed))
        report = _report(config)
        assert not report.fails("medium"), [f.detail for f in report.findings]


def test_null_explosion_from_zero_is_caught_and_stored(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    config = config_for(make_config, warehouse)
    write_orders(warehouse, orders_rows())
    _report(config)
    write_orders(warehouse, orders_rows(null_every=5))  # 20% nulls in a never-null column
    report = _report(config)

    finding = _finding(report, "amount", "null_ratio")
    assert finding.severity == "medium"  # 20 points with the default 5/15/30 levels
    assert finding.baseline_value == 0.0
    assert finding.current_value == pytest.approx(0.2)
    assert finding.score == pytest.approx(20.0) and finding.score_unit == "points"
    assert finding.change_percent is None  # no division by zero
    assert report.fails("medium") and not report.fails("high")

    (row,) = [e for e in _events(config, "DataDriftDetected") if e["metric_name"] == "null_ratio"]
    assert row["column_name"] == "amount" and row["severity"] == "medium"
    assert row["baseline_value"] == 0.0 and row["current_value"] == pytest.approx(0.2)
    assert row["run_id"] == report.run_id and row["change_percent"] is None
    payload = json.loads(row["payload"])
    assert payload["strategy"] == "absolute_threshold" and payload["baseline_kind"] == "last_run"


def test_mean_shift_is_caught(warehouse: sa.Engine, make_config: MakeConfig) -> None:
    config = config_for(make_config, warehouse)
    write_orders(warehouse, orders_rows(seed=1))
    _report(config)
    write_orders(warehouse, orders_rows(seed=2, amount_factor=1.5))
    report = _report(config)
    mean = _finding(report, "amount", "mean")
    assert mean.severity == "high"  # +50% against 5/15/30
    assert mean.change_percent == pytest.approx(50, abs=8)
    assert _finding(report, "amount", "histogram").severity in ("medium", "high")
    assert report.drifted_columns[0] == "amount"


def test_category_shift_is_caught_through_top_values(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    config = config_for(
        make_config, warehouse, metrics=["count", "null_ratio", "distinct_count", "top_values"]
    )
    write_orders(warehouse, orders_rows(seed=1))
    _report(config)

    def mostly_white(i: int, rng: object) -> str:
        return "white" if i % 2 == 0 else ["red", "green", "blue", "black"][i % 4 // 2 * 2]

    write_orders(warehouse, orders_rows(seed=2, category=mostly_white))
    report = _report(config)
    top = _finding(report, "category", "top_values")
    assert top.severity in ("medium", "high")
    assert top.score_unit == "points" and top.score is not None and top.score > 30


@pytest.mark.parametrize("strategy", ["standard_deviation", "psi"])
def test_other_strategies_catch_shifts_and_stay_quiet_on_noise(
    warehouse: sa.Engine, make_config: MakeConfig, strategy: str
) -> None:
    config = config_for(make_config, warehouse, drift_detection={"strategy": strategy})
    for seed in range(1, 8):  # seven stable runs: history for standard_deviation
        write_orders(warehouse, orders_rows(seed=seed))
        report = _report(config)
        assert not report.fails("medium"), [f.detail for f in report.findings]
    write_orders(warehouse, orders_rows(seed=99, null_every=5, amount_factor=1.6))
    report = _report(config)
    assert report.fails("medium")
    columns = {f.column_name for f in report.findings_at_least("medium")}
    assert columns == {"amount"}
    metrics = {f.metric for f in report.findings_at_least("medium")}
    assert "null_ratio" in metrics and "histogram" in metrics
    assert {f.strategy for f in report.findings} == {strategy}
    expected_kind = "moving_average" if strategy == "standard_deviation" else "last_run"
    assert {f.baseline_kind for f in report.findings} == {expected_kind}


def test_report_can_be_rebuilt_later_from_storage(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    config = config_for(make_config, warehouse)
    write_orders(warehouse, orders_rows(seed=1))
    _report(config)
    write_orders(warehouse, orders_rows(seed=2, null_every=4))
    live = _report(config)
    storage = Storage.open(config.storage)
    try:
        again = DriftDetector(config, storage).detect(live.run_id)
        latest = DriftDetector(config, storage).detect_latest(live.schema_name, "orders")
    finally:
        storage.engine.dispose()
    assert again.findings == live.findings
    assert latest is not None and latest.run_id == live.run_id
    assert again.baseline_run_ids == live.baseline_run_ids


def test_drift_can_be_switched_off(warehouse: sa.Engine, make_config: MakeConfig) -> None:
    config = config_for(make_config, warehouse, drift_detection={"enabled": False})
    write_orders(warehouse, orders_rows())
    profile(config)
    write_orders(warehouse, orders_rows(null_every=2))
    (outcome,) = profile(config).outcomes
    assert outcome.drift is None
    assert _events(config, "DataDriftDetected") == []


# --- schema changes ---------------------------------------------------------------------


def test_schema_changes_added_removed_retyped(
    warehouse: sa.Engine, make_config: MakeConfig
) -> None:
    config = config_for(make_config, warehouse)
    write_orders(warehouse, orders_rows())
    _report(config)

    with warehouse.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE orders ADD COLUMN note VARCHAR(30)")
    added = _report(config)
    assert [(c.column_name, c.change, c.severity) for c in added.schema_changes] == [
        ("note", "added", "low")
    ]

    with warehouse.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE orders DROP COLUMN category")
    removed = _report(config)
    (change,) = removed.schema_changes
    assert (change.column_name, change.change, change.severity) == ("category", "removed", "high")
    assert change.previous_type is not None and "CHAR" in change.previous_type.upper()
    assert removed.fails("high")

    _retype_amount(warehouse)
    retyped = _report(config)
    (change,) = retyped.schema_changes
    assert (change.column_name, change.change, change.severity) == (
        "amount",
        "type_changed",
        "medium",
    )
    assert change.previous_type != change.current_type

    stored = _events(config, "SchemaChangeDetected")
    assert sorted(
        (e["column_name"], json.loads(e["payload"])["change"], e["severity"]) for e in stored
    ) == [
        ("amount", "type_changed", "medium"),
        ("category", "removed", "high"),
        ("note", "added", "low"),
    ]

    unchanged = _report(config)
    assert unchanged.schema_changes == ()


def _retype_amount(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":  # no ALTER COLUMN TYPE: rebuild the table
            conn.exec_driver_sql("CREATE TABLE orders2 (id INTEGER, amount TEXT, note VARCHAR(30))")
            conn.exec_driver_sql(
                "INSERT INTO orders2 SELECT id, CAST(amount AS TEXT), note FROM orders"
            )
            conn.exec_driver_sql("DROP TABLE orders")
            conn.exec_driver_sql("ALTER TABLE orders2 RENAME TO orders")
        elif engine.dialect.name == "duckdb":
            conn.exec_driver_sql("ALTER TABLE orders ALTER amount TYPE VARCHAR")
        else:
            conn.exec_driver_sql("ALTER TABLE orders ALTER COLUMN amount TYPE text")


# --- baselines ----------------------------------------------------------------------------


def _set_started(config: BaselinrConfig, run_id: str, when: dt.datetime) -> None:
    storage = Storage.open(config.storage)
    try:
        with storage.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(started_at=when))
    finally:
        storage.engine.dispose()


def test_prior_period_and_moving_average_baselines(
    sqlite_engine: sa.Engine, make_config: MakeConfig
) -> None:
    """Same stored runs, judged with three baselines: each picks its own runs."""
    config = config_for(make_config, sqlite_engine)
    now = dt.datetime.now(dt.timezone.utc)
    ids = []
    # a week ago: mean ~100; then 160, 100 (yesterday); now ~100 again
    for seed, factor, age in ((1, 1.0, 7), (2, 1.6, 2), (3, 1.0, 1), (4, 1.0, 0)):
        write_orders(sqlite_engine, orders_rows(seed=seed, amount_factor=factor))
        report = _report(config)
        ids.append(report.run_id)
        if age:
            _set_started(config, report.run_id, now - dt.timedelta(days=age, minutes=5))
    current = ids[-1]

    def judged(baseline: dict[str, object]) -> DriftReport:
        cfg = config_for(make_config, sqlite_engine, drift_detection={"baseline": baseline})
        storage = Storage.open(cfg.storage)
        try:
            return DriftDetector(cfg, storage).detect(current)
        finally:
            storage.engine.dispose()

    last = judged({"kind": "last_run"})
    assert last.baseline_run_ids == (ids[2],)
    assert not [f for f in last.findings_at_least("medium") if f.metric == "mean"]

    week = judged({"kind": "prior_period", "days": 7})
    assert week.baseline_run_ids == (ids[0],) and week.baseline_kind == "prior_period"

    average = judged({"kind": "moving_average", "window": 3})
    assert set(average.baseline_run_ids) == set(ids[:3])
    mean = _finding(average, "amount", "mean")  # 100 vs avg(100, 160, 100) = 120
    assert mean.baseline_runs == 3
    assert mean.change_percent == pytest.approx(-16.7, abs=4)

    month = judged({"kind": "prior_period", "days": 30})
    assert month.baseline_run_ids == () and month.findings == ()
    assert any("no comparable prior_period baseline" in n for n in month.notes)


def test_sampled_run_compares_only_what_a_sample_estimates(
    sqlite_engine: sa.Engine, make_config: MakeConfig
) -> None:
    write_orders(sqlite_engine, orders_rows(n=2000))
    full = config_for(make_config, sqlite_engine)
    _report(full)
    sampled = config_for(
        make_config, sqlite_engine, entry={"sampling": {"enabled": True, "fraction": 0.5}}
    )
    write_orders(sqlite_engine, orders_rows(n=2000, null_every=5))
    report = _report(sampled)
    assert report.action == "sample" and report.sample_fraction == 0.5
    assert any(n.startswith("sampled run (0.5 of rows)") for n in report.notes)
    assert any("row_count" in n and "sampled" in n for n in report.notes)
    assert _finding(report, "amount", "null_ratio").severity == "medium"
    assert not [f for f in report.findings if f.metric in ("row_count", "unique_ratio")]

    excluded = config_for(
        make_config,
        sqlite_engine,
        entry={"sampling": {"enabled": True, "fraction": 0.5}},
        drift_detection={"sampled_runs": "exclude"},
    )
    report = _report(excluded)
    assert report.findings == () and report.compared == 0
    assert "sampled_runs: exclude" in report.notes[0]


@pytest.mark.postgres
def test_storage_on_postgres(
    pg_server: object, make_config: MakeConfig, sqlite_engine: sa.Engine
) -> None:
    name = f"drift_storage_{os.getpid()}"
    storage_url = pg_server.create_database(name)  # type: ignore[attr-defined]
    config = config_for(make_config, sqlite_engine, storage={"connection": {"url": storage_url}})
    write_orders(sqlite_engine, orders_rows())
    _report(config)
    write_orders(sqlite_engine, orders_rows(null_every=5))
    report = _report(config)
    assert _finding(report, "amount", "null_ratio").severity == "medium"
    assert len(_events(config, "DataDriftDetected")) == len(report.findings)
    storage = Storage.open(config.storage)
    try:
        latest = storage.reader.latest_completed_runs(environment="test")
        assert [r.run_id for r in latest] == [report.run_id]
    finally:
        storage.engine.dispose()


_ALL_METRICS = [*DEFAULT_METRICS, "top_values"]


def test_the_same_table_in_another_warehouse_is_not_a_baseline(
    tmp_path: Path, make_config: MakeConfig
) -> None:
    """Two warehouses share one result store and both have main.orders: each table is
    judged against its own history only."""
    east = sa.create_engine(f"sqlite:///{tmp_path / 'east.db'}")
    west = sa.create_engine(f"sqlite:///{tmp_path / 'west.db'}")
    write_orders(east, orders_rows())
    write_orders(west, orders_rows(seed=2, amount_factor=3.0, null_every=4))
    east_config, west_config = config_for(make_config, east), config_for(make_config, west)
    first = _report(east_config)
    west_first = _report(west_config)
    assert not west_first.has_baseline and west_first.findings == ()  # not east's run
    again = _report(east_config)
    assert again.previous_run_id == first.run_id
    assert again.findings == ()  # west's nulls and amounts are not east's drift
    east.dispose()
    west.dispose()
