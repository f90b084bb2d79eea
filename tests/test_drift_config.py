"""The drift_detection and hooks sections: defaults, overrides, readable errors."""

from pathlib import Path

import pytest
import yaml

from baselinr.config import BaselinrConfig, DriftDetectionConfig, load_config
from baselinr.errors import ConfigError

BASE = {
    "source": {"type": "sqlite", "filepath": "w.db"},
    "storage": {"connection": {"type": "sqlite", "filepath": "s.db"}},
}


def load(tmp_path: Path, **sections: object) -> BaselinrConfig:
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump({**BASE, **sections}))
    return load_config(path)


def error(tmp_path: Path, **sections: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, **sections)
    return str(info.value)


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path)
    drift = config.drift_detection
    assert drift.enabled and drift.strategy == "absolute_threshold"
    assert drift.fail_on == "medium" and drift.check_severity == "WARN"
    levels = drift.absolute_threshold
    assert (levels.low, levels.medium, levels.high) == (5, 15, 30)
    settings = drift.settings_for("public", "orders", "amount", "numeric")
    assert settings.baseline == "last_run" and settings.history_runs == 1
    assert {"null_ratio", "mean", "histogram", "row_count"} <= settings.metrics
    # the sql hook is on without being listed
    assert [h.type for h in config.hooks.effective] == ["sql"]


def test_auto_baseline_follows_the_strategy() -> None:
    drift = DriftDetectionConfig(strategy="standard_deviation")
    settings = drift.settings_for(None, "t", "c", "numeric")
    assert settings.baseline == "moving_average" and settings.history_runs == 20
    assert DriftDetectionConfig(strategy="psi").settings_for(None, "t", "c", None).baseline == (
        "last_run"
    )


def test_overrides_apply_column_over_type_over_global(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        drift_detection={
            "absolute_threshold": {"medium": 20},
            "types": {"string": {"strategy": "psi", "metrics": ["top_values"]}},
            "columns": {
                "orders.status": {"psi": {"high": 0.9}},
                "*_id": {"enabled": False},
                "public.orders.amount": {"absolute_threshold": {"low": 10}},
            },
        },
    )
    drift = config.drift_detection
    status = drift.settings_for("public", "orders", "status", "string")
    assert status.strategy == "psi" and status.metrics == frozenset({"top_values"})
    assert status.psi.high == 0.9 and status.psi.medium == 0.25  # merged key by key
    other_table = drift.settings_for("public", "users", "status", "string")
    assert other_table.psi.high == 0.5
    assert not drift.settings_for("x", "orders", "customer_id", "numeric").enabled
    amount = drift.settings_for("public", "orders", "amount", "numeric")
    assert (amount.absolute_threshold.low, amount.absolute_threshold.medium) == (10, 20)
    assert drift.settings_for("other", "orders", "amount", "numeric").absolute_threshold.low == 5


def test_history_needs_cover_every_override() -> None:
    drift = DriftDetectionConfig.model_validate(
        {
            "baseline": {"kind": "prior_period", "days": 1},
            "columns": {"a": {"baseline": {"kind": "moving_average", "window": 30}}},
            "types": {"string": {"baseline": {"days": 30}}},
        }
    )
    runs, days = drift.history_needs()
    assert runs == 30 and days == frozenset({1, 30})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"strategy": "standard_deviation", "baseline": {"kind": "last_run"}},
            "drift_detection: standard_deviation judges a metric against its history",
        ),
        ({"absolute_threshold": {"low": 50}}, "need 0 < low <= medium <= high"),
        (
            {"columns": {"orders.x": {"absolute_threshold": {"medium": 50}}}},
            "columns.orders.x.absolute_threshold: need 0 < low <= medium <= high",
        ),
        (
            {"columns": {"x": {"psi": {"mediun": 0.3}}}},
            "columns.x.psi.mediun: Extra inputs are not permitted",
        ),
        ({"types": {"numbr": {}}}, "unknown column type(s) numbr"),
        ({"metrics": ["mean", "bogus"]}, "unknown metric(s) bogus"),
        ({"fail_on": "critical"}, "drift_detection.fail_on"),
        ({"check_severity": "fatal"}, "drift_detection.check_severity"),
        ({"columns": {"a.b.c.d": {}}}, "must be 'column', 'table.column'"),
        ({"stratgy": "psi"}, "did you mean 'strategy'"),
    ],
)
def test_bad_drift_config_is_one_readable_error(
    tmp_path: Path, section: dict[str, object], message: str
) -> None:
    text = error(tmp_path, drift_detection=section)
    assert message in text
    assert "Traceback" not in text


def test_check_severity_is_case_insensitive(tmp_path: Path) -> None:
    assert (
        load(tmp_path, drift_detection={"check_severity": "error"}).drift_detection.check_severity
        == "ERROR"
    )


def test_hooks_config(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        hooks={
            "hooks": [
                {"type": "logging", "level": "debug", "event_types": ["DataDriftDetected"]},
                {
                    "type": "webhook",
                    "url": "https://hooks.example.com/T000/B000/secret",
                    "headers": {"Authorization": "Bearer x"},
                    "retries": 1,
                },
            ]
        },
    )
    types = [h.type for h in config.hooks.effective]
    assert types == ["sql", "logging", "webhook"]
    webhook = config.hooks.effective[2]
    assert webhook.min_severity == "medium"  # type: ignore[union-attr]
    assert webhook.event_types == ["DataDriftDetected", "SchemaChangeDetected", "ProfilingFailed"]

    off = load(tmp_path, hooks={"hooks": [{"type": "sql", "enabled": False}]})
    assert off.hooks.effective == []
    assert load(tmp_path, hooks={"enabled": False}).hooks.effective == []


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"hooks": [{"type": "pager"}]}, "does not match any of the expected tags"),
        ({"hooks": [{"type": "webhook", "url": "ftp://x"}]}, "must start with http"),
        ({"hooks": [{"type": "webhook"}]}, "url: required key is missing"),
        ({"hooks": [{"type": "logging", "event_types": ["Drift"]}]}, "unknown event type(s) Drift"),
        ({"hooks": [{"type": "webhook", "url": "http://x", "timeout_seconds": 0}]}, "timeout"),
    ],
)
def test_bad_hooks_config_is_one_readable_error(
    tmp_path: Path, hooks: dict[str, object], message: str
) -> None:
    assert message in error(tmp_path, hooks=hooks)
