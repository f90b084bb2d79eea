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
from baselinr.drift.severity import highest, rank
from baselinr.runner import TableOutcome
from baselinr_dagster.layout import LayoutConfig
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.translator import EntryAsset

DRIFT_CHECK = "baselinr_drift"
SCHEMA_CHECK = "baselinr_schema"
_MAX_ROWS = 50
_NAMED = 3  # findings a check description names, worst first


def check_specs(assets: Sequence[EntryAsset], layout: LayoutConfig) -> list[dg.AssetCheckSpec]:
    """``baselinr_drift`` and ``baselinr_schema`` on every asset an entry attaches its
    checks to (its own, and/or its ``target_asset``); none when drift detection is off."""
    drift = layout.drift_detection
    if not drift.enabled:
        return []
    specs = []
    for a in assets:
        for key in a.check_keys:
            source = "" if key == a.key else f" (from Baselinr's profile {a.key.to_user_string()})"
            specs.append(
                dg.AssetCheckSpec(
                    DRIFT_CHECK,
                    asset=key,
                    description="Metric drift of the tables' latest profiles against their "
                    f"baseline ({drift.strategy}); fails at {drift.fail_on} or above{source}.",
                )
            )
            specs.append(
                dg.AssetCheckSpec(
                    SCHEMA_CHECK,
                    asset=key,
                    description="Columns added, removed or retyped since the previous "
                    f"profile{source}.",
                )
            )
    return specs


def asset_check_keys(asset: EntryAsset) -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(k, c) for k in asset.check_keys for c in (DRIFT_CHECK, SCHEMA_CHECK)]


def selected_checks(context: dg.AssetExecutionContext, asset: EntryAsset) -> list[dg.AssetCheckKey]:
    selected = context.selected_asset_check_keys
    return [k for k in asset_check_keys(asset) if k in selected]


def check_results(
    baselinr: BaselinrResource,
    asset: EntryAsset,
    checks: Sequence[dg.AssetCheckKey],
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
            report = detector.detect(d["run_id"]) if d.get("run_id") else None
            if report is None:
                missing.append(d["table"])
            else:
                reports.append(report)
    severity = dg.AssetCheckSeverity(config.check_severity)
    return [
        _result(c.asset_key, c.name, reports, missing, config.fail_on, severity) for c in checks
    ]


def as_evaluation(key: dg.AssetCheckKey, result: dg.AssetCheckResult) -> dg.AssetCheckEvaluation:
    """A check result as an event of its own: for checks on a ``target_asset`` that the
    run did not select (materialising Baselinr's asset still updates them)."""
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
    )


def _latest_decisions(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dict[str, Any]]:
    """The tables the asset's latest materialization reported, with the run whose
    results it showed (this run's, or for a skipped table the run still current)."""
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return []
    value = materialization.metadata.get("baselinr/decisions")
    records = getattr(value, "records", None)
    if records is not None:
        return [dict(r.data) for r in records]
    return list(getattr(value, "value", None) or [])  # materializations before the table


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
        rows = [{"table": r.qualified, **f.to_dict()} for r in reports for f in r.findings]
        what = "drift"
    else:
        worst = highest(r.schema_severity for r in reports)
        rows = [{"table": r.qualified, **c.to_dict()} for r in reports for c in r.schema_changes]
        what = "schema changes"
    rows.sort(key=lambda r: (-rank(r["severity"]), -(r.get("score") or 0)))
    failing = at_least(worst, fail_on)
    metadata: dict[str, Any] = {
        "baselinr/max_severity": worst,
        "baselinr/fail_on": fail_on,
        "baselinr/tables_checked": ", ".join(sorted({r.qualified for r in reports})) or "none",
        "baselinr/findings_count": len(rows),  # the one number worth a plot
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
    elif not rows:
        description = f"no {what} in {_tables(reports)}"
    else:
        several = len({r["table"] for r in rows}) > 1
        named = [_finding_text(check, r, several) for r in rows[:_NAMED]]
        more = f"; +{len(rows) - _NAMED} more" if len(rows) > _NAMED else ""
        verdict = "fails" if failing else "passes"
        description = f"{'; '.join(named)}{more} — {verdict} (fails at {fail_on})"
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=not failing,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def _tables(reports: Sequence[DriftReport]) -> str:
    names = sorted({r.qualified for r in reports})
    return names[0] if len(names) == 1 else f"{len(names)} tables"


def _finding_text(check: str, row: dict[str, Any], with_table: bool) -> str:
    """One finding in a few words: ``amount.mean +30% (medium)``,
    ``quantity.null_ratio 0 → 20% (medium)``, ``note removed (high)``."""
    where = f"{row['table']}." if with_table else ""
    if check != DRIFT_CHECK:
        change = {"added": "added", "removed": "removed"}.get(row["change"])
        if change is None:
            change = f"retyped {row['previous_type'] or '?'} → {row['current_type'] or '?'}"
        return f"{where}{row['column']} {change} ({row['severity']})"
    name = f"{where}{row['column']}.{row['metric']}" if row["column"] else f"{where}{row['metric']}"
    unit, before, after = row["score_unit"], row["baseline_value"], row["current_value"]
    if unit == "points" and before is not None and after is not None:
        moved = f"{_pct(before)} → {_pct(after)}"
    elif row.get("change_percent") is not None:
        moved = f"{row['change_percent']:+.0f}%"
    elif unit == "z" and row.get("score") is not None:
        moved = f"z {row['score']:.1f}"
    elif unit == "psi" and row.get("score") is not None:
        moved = f"PSI {row['score']:.2f}"
    elif before is not None and after is not None:
        moved = f"{_num(before)} → {_num(after)}"
    else:
        moved = "changed"
    return f"{name} {moved} ({row['severity']})"


def _pct(ratio: float) -> str:
    value = ratio * 100
    return f"{value:.0f}%" if value == round(value) else f"{value:.1f}%"


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
