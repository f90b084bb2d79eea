"""Drift as Dagster asset checks: ``baselinr_drift`` and ``baselinr_schema`` on every
table asset.

The checks judge the runs the asset's latest materialization reports — the runs made
in that materialization, or, for tables the planner skipped, their last completed
run — from stored results only. So in a job they report on the profiles of the same
run, and run alone (the UI's "Execute checks") they re-evaluate drift without
re-profiling, e.g. after thresholds changed.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from baselinr.config import load_layout
from baselinr.drift import DriftReport, at_least
from baselinr.drift.severity import highest
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.translator import EntryAsset, entry_assets, safe_name

DRIFT_CHECK = "baselinr_drift"
SCHEMA_CHECK = "baselinr_schema"
_MAX_ROWS = 50


def create_drift_checks(
    config_path: str | Path, asset_name_prefix: str = "baselinr"
) -> list[dg.AssetChecksDefinition]:
    layout = load_layout(config_path)
    assets = entry_assets(layout, [safe_name(asset_name_prefix)])
    if not assets or not layout.drift_detection.enabled:
        return []
    specs = []
    for a in assets:
        specs.append(
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset=a.key,
                description="Metric drift of the tables' latest profiles against their "
                f"baseline ({layout.drift_detection.strategy}); fails at "
                f"{layout.drift_detection.fail_on} or above.",
            )
        )
        specs.append(
            dg.AssetCheckSpec(
                SCHEMA_CHECK,
                asset=a.key,
                description="Columns added, removed or retyped since the previous profile.",
            )
        )
    return [_checks(assets, specs, f"{safe_name(asset_name_prefix)}_drift_checks")]


def _checks(
    assets: Sequence[EntryAsset], specs: Sequence[dg.AssetCheckSpec], name: str
) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=specs, can_subset=True, name=name)
    def drift_checks(
        context: dg.AssetCheckExecutionContext, baselinr: BaselinrResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        config = baselinr.config.drift_detection
        severity = dg.AssetCheckSeverity(config.check_severity)
        detector = baselinr.context.drift
        for asset in assets:
            wanted = [
                c for c in (DRIFT_CHECK, SCHEMA_CHECK) if dg.AssetCheckKey(asset.key, c) in selected
            ]
            if not wanted:
                continue
            decisions = _latest_decisions(context.instance, asset.key)
            reports: list[DriftReport] = []
            missing: list[str] = []
            for d in decisions:
                report = (
                    detector.detect(d["run_id"])
                    if d.get("status") == "completed" and d.get("run_id")
                    else detector.detect_latest(d.get("schema"), d.get("name") or d["table"])
                )
                if report is None:
                    missing.append(d["table"])
                else:
                    reports.append(report)
            for check in wanted:
                yield _result(asset.key, check, reports, missing, config.fail_on, severity)

    return drift_checks


def _latest_decisions(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dict[str, Any]]:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return []
    value = materialization.metadata.get("baselinr/decisions")
    return list(getattr(value, "value", None) or [])


def _result(
    key: dg.AssetKey,
    check: str,
    reports: list[DriftReport],
    missing: list[str],
    fail_on: str,
    severity: dg.AssetCheckSeverity,
) -> dg.AssetCheckResult:
    if check == DRIFT_CHECK:
        worst = highest(r.drift_severity for r in reports)
        rows = [
            {"table": r.qualified, **f.to_dict()}
            for r in reports
            for f in sorted(r.findings, key=lambda f: f.score or 0, reverse=True)
        ]
        what = "drifted column metrics"
    else:
        worst = highest(r.schema_severity for r in reports)
        rows = [{"table": r.qualified, **c.to_dict()} for r in reports for c in r.schema_changes]
        what = "schema changes"
    failing = at_least(worst, fail_on)
    metadata: dict[str, Any] = {
        "baselinr/max_severity": worst,
        "baselinr/fail_on": fail_on,
        "baselinr/tables_checked": len(reports),
        "baselinr/run_ids": dg.MetadataValue.json([r.run_id for r in reports]),
        "baselinr/findings": dg.MetadataValue.json(rows[:_MAX_ROWS]),
    }
    if check == DRIFT_CHECK:
        metadata["baselinr/drifted_columns"] = dg.MetadataValue.json(
            sorted({f"{r.qualified}.{c}" for r in reports for c in r.drifted_columns})
        )
        metadata["baselinr/baseline"] = ", ".join(sorted({r.baseline_kind for r in reports}))
    if missing:
        metadata["baselinr/not_profiled_yet"] = dg.MetadataValue.json(missing)
    if rows:
        metadata["baselinr/report"] = dg.MetadataValue.md(_markdown(check, rows[:_MAX_ROWS]))
    if not reports:
        description = "no profile to judge yet"
    elif not any(r.has_baseline or r.previous_run_id for r in reports):
        description = "first profile: no baseline to compare with yet"
    else:
        description = f"{len(rows)} {what}; worst {worst} (fails at {fail_on} or above)"
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=not failing,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def _markdown(check: str, rows: list[dict[str, Any]]) -> str:
    if check == DRIFT_CHECK:
        header = "| table | column | metric | baseline | current | score | severity |\n"
        header += "| --- | --- | --- | --- | --- | --- | --- |\n"
        body = "".join(
            f"| {r['table']} | {r['column'] or '(table)'} | {r['metric']} | "
            f"{_num(r['baseline_value'])} | {_num(r['current_value'])} | "
            f"{_num(r['score'])} {r['score_unit']} | {r['severity']} |\n"
            for r in rows
        )
    else:
        header = "| table | column | change | before | after | severity |\n"
        header += "| --- | --- | --- | --- | --- | --- |\n"
        body = "".join(
            f"| {r['table']} | {r['column']} | {r['change']} | {r['previous_type'] or ''} | "
            f"{r['current_type'] or ''} | {r['severity']} |\n"
            for r in rows
        )
    return header + body


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
