"""Materialization metadata: what a run did for each table of an asset.

Standard keys (``dagster/row_count``, ``dagster/column_schema``,
``dagster/table_name``) where they have one meaning, plus Baselinr's own: the
decision per table, run ids, and a compact metric table.
"""

import math
from collections.abc import Sequence
from typing import Any

import dagster as dg

from baselinr.runner import TableOutcome
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import RunResults

_METRIC_COLUMNS = ("null_ratio", "distinct_count", "min", "max", "mean", "stddev")
_DECISION_KEYS: tuple[str, ...] = (
    "table", "schema", "name", "action", "planned_action", "reason", "status", "run_id", "snapshot_id",
    "rows_scanned", "cached_as_of",
)  # fmt: skip


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def metric_table(columns: dict[str, dict[str, Any]], types: dict[str, str]) -> str:
    """A markdown table: one row per column, the metrics people scan first."""
    header = "| column | type | " + " | ".join(_METRIC_COLUMNS) + " |"
    rule = "|" + " --- |" * (len(_METRIC_COLUMNS) + 2)
    rows = [
        f"| {_fmt(name)} | {types.get(name, '')} | "
        + " | ".join(_fmt(metrics.get(m)) for m in _METRIC_COLUMNS)
        + " |"
        for name, metrics in columns.items()
    ]
    return "\n".join([header, rule, *rows])


def cached_results(outcomes: Sequence[TableOutcome], reader: ResultReader) -> dict[str, RunResults]:
    """The stored results of the runs still current for skipped and deferred tables,
    keyed by run id: one query, however many tables were skipped."""
    return reader.results_for_runs(o.cached_run_id for o in outcomes if o.cached_run_id)


def table_report(outcome: TableOutcome, cached: RunResults | None) -> dict[str, Any]:
    """One table's part of the materialization: the outcome's stored figures, with fresh
    metrics for profiled tables and cached ones (with their age) for skipped or
    deferred tables."""
    report = outcome.to_dict()
    report["estimated_rows"] = outcome.decision.estimated_rows
    report["estimated_bytes"] = outcome.decision.estimated_bytes
    if outcome.profile is not None:
        report["columns"] = {c.column.name: c.metrics for c in outcome.profile.columns}
        report["types"] = {c.column.name: c.column.type_name for c in outcome.profile.columns}
        return report
    if outcome.cached is not None and cached is not None:
        finished = outcome.cached.finished_at
        report["cached_as_of"] = finished.isoformat() if finished else None
        report["columns"] = cached.metrics
        report["types"] = cached.columns
    return report


def materialization_metadata(
    reports: Sequence[dict[str, Any]], database: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "baselinr/tables": len(reports),
        "baselinr/profiled": sum(1 for r in reports if r["status"] == "completed"),
        "baselinr/skipped": sum(1 for r in reports if r["status"] in ("skipped", "deferred")),
        "baselinr/rows_scanned": sum(r["rows_scanned"] for r in reports),
        "baselinr/estimated_rows_avoided": sum(r["rows_avoided"] for r in reports),
        "baselinr/estimated_bytes_avoided": sum(r["bytes_avoided"] for r in reports),
        "baselinr/decisions": dg.MetadataValue.json(
            [{k: r.get(k) for k in _DECISION_KEYS} for r in reports]
        ),
    }
    row_counts = [r["row_count"] for r in reports if r.get("row_count") is not None]
    if row_counts:
        metadata["dagster/row_count"] = sum(row_counts)
    if len(reports) == 1:
        only = reports[0]
        metadata["dagster/table_name"] = ".".join(p for p in (database, only["table"]) if p)
        if only.get("types"):
            metadata["dagster/column_schema"] = dg.TableSchema(
                columns=[dg.TableColumn(name, type_) for name, type_ in only["types"].items()]
            )
    sections = []
    for r in reports:
        if not r.get("columns"):
            continue
        title = f"**{r['table']}** — {r['action']} ({r['reason']})"
        if r.get("cached_as_of"):
            title += f"; cached metrics as of {r['cached_as_of']}"
        sections.append(title + "\n\n" + metric_table(r["columns"], r.get("types", {})))
    if sections:
        metadata["baselinr/metrics"] = dg.MetadataValue.md("\n\n".join(sections))
    return metadata
