"""`baselinr drift`: the report and its exit codes (0 no drift, 1 drift at or above the
fail-on severity, 2 bad usage or config)."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from baselinr.cli import main
from baselinr.config import BaselinrConfig
from tests.support.drift_data import config_for, orders_rows, profile, write_orders


def drift(config: BaselinrConfig, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["drift", "-c", str(config.path), *args])
    return result.exit_code, result.output


@pytest.fixture
def drifted(sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]) -> BaselinrConfig:
    """Two tables: `stable` re-profiled unchanged, `orders` with a 20% null explosion
    (medium)."""
    config = make_config(
        {"url": str(sqlite_engine.url)}, [{"table": "orders"}, {"table": "stable"}]
    )
    write_orders(sqlite_engine, orders_rows(seed=1))
    write_orders(sqlite_engine, orders_rows(seed=5), table="stable")
    profile(config)
    write_orders(sqlite_engine, orders_rows(seed=1, null_every=5))
    profile(config)
    return config


def test_exit_1_on_drift_at_the_configured_level(drifted: BaselinrConfig) -> None:
    code, output = drift(drifted)
    assert code == 1
    assert "main.orders: medium" in output
    assert "null_ratio 0.0% -> 20.0% (+20.0 pts)" in output
    assert "No drift in 1 table(s)." in output
    assert "drift at or above medium in 1 table(s): main.orders" in output


def test_fail_on_option_and_table_filter(drifted: BaselinrConfig) -> None:
    assert drift(drifted, "--fail-on", "high")[0] == 0
    assert drift(drifted, "--fail-on", "low")[0] == 1
    code, output = drift(drifted, "--table", "stable")
    assert code == 0 and "orders" not in output
    assert drift(drifted, "-t", "main.orders")[0] == 1


def test_json_output(drifted: BaselinrConfig) -> None:
    code, output = drift(drifted, "--json")
    assert code == 1
    data = json.loads(output[: output.rindex("}") + 1])
    assert data["fail_on"] == "medium" and data["failed"] is True
    by_table = {t["table"]: t for t in data["tables"]}
    assert set(by_table) == {"orders", "stable"}
    assert by_table["stable"]["findings"] == [] and by_table["stable"]["max_severity"] == "none"
    finding = next(f for f in by_table["orders"]["findings"] if f["metric"] == "null_ratio")
    assert finding == {
        **finding,
        "column": "amount",
        "baseline_value": 0.0,
        "severity": "medium",
        "score_unit": "points",
        "strategy": "absolute_threshold",
        "baseline_kind": "last_run",
    }


def test_a_run_can_be_judged_by_id_and_config_decides_fail_on(
    drifted: BaselinrConfig, tmp_path: Path
) -> None:
    code, output = drift(drifted, "--json", "--table", "orders")
    assert code == 1
    run_id = json.loads(output[: output.rindex("}") + 1])["tables"][0]["run_id"]
    assert drift(drifted, "--run", run_id)[0] == 1
    text = (
        Path(str(drifted.path))
        .read_text()
        .replace("environment: test", "environment: test\ndrift_detection: {fail_on: high}")
    )
    relaxed = tmp_path / "relaxed.yml"
    relaxed.write_text(text)
    result = CliRunner().invoke(main, ["drift", "-c", str(relaxed), "--run", run_id])
    assert result.exit_code == 0, result.output


def test_usage_errors_exit_2(drifted: BaselinrConfig, tmp_path: Path) -> None:
    code, output = drift(drifted, "--table", "nope")
    assert code == 2 and "no completed runs of nope" in output
    code, output = drift(drifted, "--run", "0123")
    assert code == 2 and "no run 0123" in output
    assert drift(drifted, "--fail-on", "severe")[0] == 2
    bad = tmp_path / "bad.yml"
    bad.write_text(Path(str(drifted.path)).read_text() + "\ndrift_detection: {strategy: magic}\n")
    result = CliRunner().invoke(main, ["drift", "-c", str(bad)])
    assert result.exit_code == 2
    assert "drift_detection.strategy" in result.output and "Traceback" not in result.output


def test_nothing_profiled_yet(
    sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    config = config_for(make_config, sqlite_engine)
    code, output = drift(config)
    assert code == 0 and "No completed runs yet" in output


def test_profile_mentions_drift(
    sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    config = config_for(make_config, sqlite_engine)
    write_orders(sqlite_engine, orders_rows(seed=1))
    runner = CliRunner()
    assert runner.invoke(main, ["profile", "-c", str(config.path)]).exit_code == 0
    write_orders(sqlite_engine, orders_rows(seed=1, amount_factor=2.0))
    result = runner.invoke(main, ["profile", "-c", str(config.path), "--json"])
    assert result.exit_code == 0  # drift never fails a profile
    (table,) = json.loads(result.output)["tables"]
    assert table["drift"]["max_severity"] == "high"
    assert "amount" in table["drift"]["drifted_columns"]
