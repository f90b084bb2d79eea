"""Drift as Dagster asset checks: ``baselinr_drift`` and ``baselinr_schema`` on every
table asset, declared on the profiling multi-asset itself.

In a materialization the checks report the drift of the profiles that run made (for
tables the planner skipped: of their last completed run). Run alone (the UI's
"Execute checks"), the step profiles nothing and judges the runs the asset's latest
materialization reported again, from stored results — so changed thresholds can be
re-evaluated without re-profiling.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from baselinr.drift import DriftReport, at_least
from baselinr.drift.severity import highest
from baselinr.runner import TableOutcome
from baselinr_dagster.layout import LayoutConfig
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.translator import EntryAsset

DRIFT_CHECK = "baselinr_drift"
SCHEMA_CHECK = "baselinr_schema"
_MAX_ROWS = 50


def check_specs(assets: Sequence[EntryAsset], layout: LayoutConfig) -> list[dg.AssetCheckSpec]:
    """``baselinr_drift`` and ``baselinr_schema`` for every table asset (none when drift
    detection is off)."""
    drift = layout.drift_detection
    if not drift.enabled:
        return []
    specs = []
    for a in assets:
        specs.append(
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset=a.key,
                description="Metric drift of the tables' latest profiles against their "
                f"baseline ({drift.strategy}); fails at {drift.fail_on} or above.",
            )
        )
        specs.append(
            dg.AssetCheckSpec(
                SCHEMA_CHECK,
                asset=a.key,
                description="Columns added, removed or retyped since the previous profile.",
            )
        )
    return specs


def selected_checks(context: dg.AssetExecutionContext, asset: EntryAsset) -> list[str]:
    selected = context.selected_asset_check_keys
    return [c for c in (DRIFT_CHECK, SCHEMA_CHECK) if dg.AssetCheckKey(asset.key, c) in selected]


def check_results(
    baselinr: BaselinrResource,
    asset: EntryAsset,
    checks: Sequence[str],
    outcomes: Sequence[TableOutcome] | None,
    instance: dg.DagsterInstance,
) -> list[dg.AssetCheckResult]:
    """Results of ``checks`` for one asset: from the drift reports of this run's
    profiles (``outcomes``), or — when only the checks run — from the runs the asset's
    latest materialization reported, judged again from stored results."""
    if not checks:
        return []
    config = baselinr.config.drift_detection
    detector = baselinr.context.drift
    reports: list[DriftReport] = []
    missing: list[str] = []
    if outcomes is not None:
        for o in outcomes:
            report = o.drift
            if report is None and o.status != "completed" and o.cached_run_id:
                report = detector.detect(o.cached_run_id)  # the run still current
            if report is None:
                missing.append(o.decision.qualified)
            else:
                reports.append(report)
    else:
        for d in _latest_decisions(instance, asset.key):
            report = (
                detector.detect(d["run_id"])
                if d.get("status") == "completed" and d.get("run_id")
                else detector.detect_latest(d.get("schema"), d.get("name") or d["table"])
            )
            if report is None:
                missing.append(d["table"])
            else:
                reports.append(report)
    severity = dg.AssetCheckSeverity(config.check_severity)
    return [_result(asset.key, c, reports, missing, config.fail_on, severity) for c in checks]


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
