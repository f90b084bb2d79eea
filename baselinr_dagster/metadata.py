"""Materialization metadata: what a run did for each table of an asset, laid out for
the Dagster UI.

- Numbers only where a plot over time means something: ``dagster/row_count``,
  ``baselinr/null_cells``, ``baselinr/drifted_metrics``, rows scanned and avoided, and
  the column metrics an entry lists in ``plot_metrics`` (``baselinr/plot/<column>.<metric>``).
- Everything else is text or a table (``MetadataValue.table`` with a schema): the
  decision per table, the metrics per column.
- Standard keys (``dagster/row_count``, ``dagster/column_schema``,
  ``dagster/table_name``) where they have one meaning.
"""

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from baselinr.runner import TableOutcome
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import RunResults

# Narrow enough for the asset page's metadata column: ids last.
_DECISION_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("table", "string"),
        dg.TableColumn("action", "string", description="carried out (planned → carried out)"),
        dg.TableColumn("reason", "string"),
        dg.TableColumn("status", "string"),
        dg.TableColumn("rows_scanned", "int"),
        dg.TableColumn("run_id", "string", description="the stored run whose results are shown"),
    ]
)


_BATCH_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("table", "string"),
        dg.TableColumn("action", "string"),
        dg.TableColumn("reason", "string"),
        dg.TableColumn("status", "string"),
        dg.TableColumn("rows_scanned", "int"),
        dg.TableColumn("run_id", "string"),
    ]
)


def batch_decisions(decisions: Sequence[Mapping[str, Any]]) -> dg.TableMetadataValue:
    """The summary asset's table: one row per table of the batch record."""
    return dg.MetadataValue.table(
        [
            dg.TableRecord(
                {
                    "table": str(d.get("table") or ""),
                    "action": str(d.get("action") or ""),
                    "reason": str(d.get("reason") or ""),
                    "status": str(d.get("status") or ""),
                    "rows_scanned": int(d.get("rows_scanned") or 0),
                    "run_id": str(d.get("run_id") or d.get("cached_run_id") or ""),
                }
            )
            for d in decisions
        ],
        schema=_BATCH_SCHEMA,
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def metric_table(reports: Sequence[dict[str, Any]]) -> dg.TableMetadataValue:
    """One row per column (and table, for entries with several): nulls, distinct
    values, range and mean ± standard deviation — five narrow columns, so the table
    fits the asset page (types are in ``dagster/column_schema``)."""
    several = len(reports) > 1
    names = ["column", "nulls", "distinct", "range", "mean ± sd"]
    if several:
        names.insert(0, "table")
    records = []
    for r in reports:
        for name, m in (r.get("columns") or {}).items():
            row = {
                "column": name,
                "nulls": _percent(m.get("null_ratio")),
                "distinct": _fmt(m.get("distinct_count")),
                "range": _range(m.get("min"), m.get("max")),
                "mean ± sd": _spread(m.get("mean"), m.get("stddev")),
            }
            if several:
                row = {"table": r["table"], **row}
            records.append(dg.TableRecord(row))
    schema = dg.TableSchema(columns=[dg.TableColumn(n, "string") for n in names])
    return dg.MetadataValue.table(records, schema=schema)


def _percent(ratio: Any) -> str:
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):
        return ""
    value = ratio * 100
    return "0%" if value == 0 else f"{value:.3g}%"


def _range(low: Any, high: Any) -> str:
    if low is None and high is None:
        return ""
    return f"{_fmt(low)} … {_fmt(high)}"


def _spread(mean: Any, sd: Any) -> str:
    if mean is None:
        return ""
    return f"{_fmt(mean)} ± {_fmt(sd)}" if sd is not None else _fmt(mean)


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
    report["drifted_metrics"] = len(outcome.drift.findings) if outcome.drift else 0
    current = outcome.run if outcome.status == "completed" else outcome.cached
    report["shown_run_id"] = current.run_id if current else None
    report["shown_snapshot_id"] = current.snapshot_id if current else None
    finished = current.finished_at if current else None
    report["metrics_as_of"] = finished.isoformat(timespec="seconds") if finished else None
    if outcome.profile is not None:
        report["columns"] = {c.column.name: c.metrics for c in outcome.profile.columns}
        report["types"] = {c.column.name: c.column.type_name for c in outcome.profile.columns}
        return report
    if outcome.cached is not None and cached is not None:
        report["cached_as_of"] = report["metrics_as_of"]
        report["columns"] = cached.metrics
        report["types"] = cached.columns
    return report


def data_version(reports: Sequence[dict[str, Any]]) -> dg.DataVersion:
    """The asset's data version: a hash of, per table, the snapshot id and the stored run
    whose results the asset shows. A skipped table shows the run it reuses, so a skip
    re-reports the data version of that profile; every real profile is a new run, so
    it gets a new data version."""
    parts = sorted((r["table"], r["shown_snapshot_id"], r["shown_run_id"]) for r in reports)
    return dg.DataVersion(hashlib.sha256(repr(parts).encode()).hexdigest()[:24])


def _outcome_text(reports: Sequence[dict[str, Any]]) -> str:
    if len(reports) == 1:
        r = reports[0]
        text = f"{r['action']} ({r['reason']})"
        if r["status"] in ("skipped", "deferred") and r.get("cached_as_of"):
            when = r["cached_as_of"][:16].replace("T", " ")
            text += f"; metrics of the profile of {when} UTC"
        return text
    counts = Counter(r["action"] for r in reports)
    return f"{len(reports)} tables: " + ", ".join(f"{n} {a}" for a, n in counts.most_common())


def _plots(reports: Sequence[dict[str, Any]], plot_metrics: Sequence[str]) -> dict[str, float]:
    plots: dict[str, float] = {}
    several = len(reports) > 1
    for item in plot_metrics:
        column, _, metric = item.rpartition(".")
        for r in reports:
            value = (r.get("columns") or {}).get(column, {}).get(metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                name = f"{r['name']}.{item}" if several else item
                plots[f"baselinr/plot/{name}"] = float(f"{value:.6g}")
    return plots


def materialization_metadata(
    reports: Sequence[dict[str, Any]],
    database: str | None,
    plot_metrics: Sequence[str] = (),
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "baselinr/outcome": _outcome_text(reports),
        "baselinr/rows_scanned": sum(r["rows_scanned"] for r in reports),
        "baselinr/estimated_rows_avoided": sum(r["rows_avoided"] for r in reports),
        "baselinr/estimated_bytes_avoided": sum(r["bytes_avoided"] for r in reports),
        "baselinr/drifted_metrics": sum(r["drifted_metrics"] for r in reports),
        "baselinr/decisions": dg.MetadataValue.table(
            [
                dg.TableRecord(
                    {
                        "table": r["table"],
                        "action": r["action"]
                        if r["action"] == r["planned_action"]
                        else f"{r['planned_action']} → {r['action']}",
                        "reason": r["reason"],
                        "status": r["status"],
                        "rows_scanned": r["rows_scanned"],
                        "run_id": r["shown_run_id"] or "",
                    }
                )
                for r in reports
            ],
            schema=_DECISION_SCHEMA,
        ),
    }
    estimated = sorted({m for r in reports for m in r.get("estimated_metrics") or ()})
    if estimated:  # say which values are estimates (distinct sketches)
        metadata["baselinr/estimated_metrics"] = ", ".join(estimated)
    row_counts = [r["row_count"] for r in reports if r.get("row_count") is not None]
    if row_counts:
        metadata["dagster/row_count"] = sum(row_counts)
    nulls = [
        m["null_count"]
        for r in reports
        for m in (r.get("columns") or {}).values()
        if isinstance(m.get("null_count"), (int, float))
    ]
    if nulls:
        metadata["baselinr/null_cells"] = int(sum(nulls))
    metadata.update(_plots(reports, plot_metrics))
    if len(reports) == 1:
        only = reports[0]
        metadata["dagster/table_name"] = ".".join(p for p in (database, only["table"]) if p)
        if only.get("types"):
            metadata["dagster/column_schema"] = dg.TableSchema(
                columns=[dg.TableColumn(name, type_) for name, type_ in only["types"].items()]
            )
    if any(r.get("columns") for r in reports):
        metadata["baselinr/metrics"] = metric_table([r for r in reports if r.get("columns")])
    return metadata
