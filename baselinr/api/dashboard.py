"""``/api/dashboard/metrics``: KPIs over a time window and their per-day trend.

Each figure has one stored source, read as stored:

- runs per status and action, tables, rows scanned: ``baselinr_runs`` (a run's day is
  the UTC day it started); bytes scanned is estimated there too, from the table's
  estimated bytes the run recorded (``metadata.estimated_bytes``) x rows scanned / rows;
- rows and bytes avoided, by what avoided them (skip, defer, partial, sample): the
  batch records (``baselinr_batches.decisions``, as the runner stored them; a batch's
  day is the day it started), whose totals are the batches' ``rows_avoided`` and
  ``bytes_avoided``;
- drift per severity and triage status: ``baselinr_events``.

Batch records never change once written, so each batch's decisions are summarised
once per process and kept (``BatchSummaries``).
"""

import datetime as dt
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from baselinr import jsonutil
from baselinr.api import models
from baselinr.api.db import json_number, utc_day
from baselinr.api.filters import DRIFT_EVENT_TYPES
from baselinr.storage.schema import UTCDateTime, batches, events, runs

#: What avoided the rows of a table in a batch: the decision's status and action.
AVOIDED_BY = ("skip", "defer", "partial", "sample")
DEFAULT_WINDOW = dt.timedelta(days=30)

# (day, cause) -> [tables, rows avoided, bytes avoided]
_Avoided = dict[str, list[int]]


def _cause(decision: dict[str, Any]) -> str | None:
    status, action = decision.get("status"), decision.get("action")
    if status == "skipped":
        return "skip"
    if status == "deferred":
        return "defer"
    if status == "completed" and action in ("partial", "sample"):
        return str(action)
    return None


def summarise_batch(decisions: Iterable[dict[str, Any]]) -> _Avoided:
    """cause -> [tables, rows avoided, bytes avoided] of one batch's decisions."""
    out: _Avoided = {}
    for d in decisions:
        cause = _cause(d)
        if cause is None:
            continue
        entry = out.setdefault(cause, [0, 0, 0])
        entry[0] += 1
        entry[1] += int(d.get("rows_avoided") or 0)
        entry[2] += int(d.get("bytes_avoided") or 0)
    return out


class BatchSummaries:
    """batch_id -> its summary, decoded once (batches are immutable), LRU-bounded."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Avoided] = OrderedDict()

    def get(self, batch_id: str) -> _Avoided | None:
        with self._lock:
            found = self._cache.get(batch_id)
            if found is not None:
                self._cache.move_to_end(batch_id)
            return found

    def put(self, batch_id: str, summary: _Avoided) -> None:
        with self._lock:
            self._cache[batch_id] = summary
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _window(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    end = until or dt.datetime.now(dt.timezone.utc)
    return since or end - DEFAULT_WINDOW, end


def _t(value: dt.datetime) -> sa.BindParameter[dt.datetime]:
    return sa.bindparam(None, value, type_=UTCDateTime())


def dashboard_metrics(
    engine: Engine,
    summaries: BatchSummaries,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> models.DashboardMetrics:
    start, end = _window(since, until)
    days: dict[str, dict[str, Any]] = defaultdict(_empty_day)
    with engine.connect() as conn:
        tables = _run_figures(conn, start, end, days)
        _avoided(conn, summaries, start, end, days)
        _drift(conn, start, end, days)
    trend = [_day_model(day, figures) for day, figures in sorted(days.items())]
    return models.DashboardMetrics(
        since=start,
        until=end,
        runs=_sum_runs(d.runs for d in trend),
        tables=tables,
        drift=_sum_drift(d.drift for d in trend),
        savings=_sum_savings(d.savings for d in trend),
        trend=trend,
    )


def _empty_day() -> dict[str, Any]:
    return {
        "status": Counter(),
        "action": Counter(),
        "rows_scanned": 0,
        "bytes_scanned": 0.0,
        "avoided": {},
        "severity": Counter(),
        "schema_changes": 0,
        "open": 0,
    }


def _run_figures(
    conn: Connection, start: dt.datetime, end: dt.datetime, days: dict[str, dict[str, Any]]
) -> int:
    c = runs.c
    in_window = sa.and_(c.started_at >= _t(start), c.started_at < _t(end))
    day = utc_day(c.started_at).label("day")
    estimated_bytes = json_number(c.metadata, "estimated_bytes")
    scanned_bytes = sa.case(
        (c.row_count > 0, estimated_bytes * c.rows_scanned / c.row_count), else_=None
    )
    stmt = (
        sa.select(
            day,
            c.status,
            c.action,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(c.rows_scanned), 0),
            sa.func.coalesce(sa.func.sum(scanned_bytes), 0),
        )
        .where(in_window)
        .group_by(day, c.status, c.action)
    )
    for when, status, action, n, rows, size in conn.execute(stmt):
        figures = days[str(when)]
        figures["status"][status] += n
        figures["action"][action] += n
        figures["rows_scanned"] += int(rows)
        figures["bytes_scanned"] += float(size)
    distinct = (
        sa.select(c.database_name, c.schema_name, c.table_name).where(in_window).distinct()
    ).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(distinct)).scalar() or 0)


def _avoided(
    conn: Connection,
    summaries: BatchSummaries,
    start: dt.datetime,
    end: dt.datetime,
    days: dict[str, dict[str, Any]],
) -> None:
    b = batches.c
    in_window = sa.and_(b.started_at >= _t(start), b.started_at < _t(end))
    day = utc_day(b.started_at).label("day")
    known = [(i, str(d)) for i, d in conn.execute(sa.select(b.batch_id, day).where(in_window))]
    missing = [batch_id for batch_id, _ in known if summaries.get(batch_id) is None]
    for chunk in _chunks(missing, 500):
        stmt = sa.select(b.batch_id, b.decisions).where(b.batch_id.in_(chunk))
        for batch_id, text in conn.execute(stmt):
            summaries.put(batch_id, summarise_batch(jsonutil.loads(text) or ()))
    for batch_id, when in known:
        summary = summaries.get(batch_id) or {}
        avoided = days[when]["avoided"]
        for cause, (n, rows, size) in summary.items():
            entry = avoided.setdefault(cause, [0, 0, 0])
            entry[0] += n
            entry[1] += rows
            entry[2] += size


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _drift(
    conn: Connection, start: dt.datetime, end: dt.datetime, days: dict[str, dict[str, Any]]
) -> None:
    e = events.c
    day = utc_day(e.created_at).label("day")
    still_open = sa.or_(e.triage_status.is_(None), e.triage_status == "open")
    is_open = sa.func.sum(sa.case((still_open, 1), else_=0))
    stmt = (
        sa.select(day, e.event_type, e.severity, sa.func.count(), is_open)
        .where(e.event_type.in_(DRIFT_EVENT_TYPES))
        .where(e.created_at >= _t(start), e.created_at < _t(end))
        .group_by(day, e.event_type, e.severity)
    )
    for when, event_type, severity, n, opened in conn.execute(stmt):
        figures = days[str(when)]
        figures["severity"][severity or "unknown"] += n
        figures["open"] += int(opened or 0)
        if event_type == "SchemaChangeDetected":
            figures["schema_changes"] += n


def _day_model(day: str, f: dict[str, Any]) -> models.Day:
    by_action = {
        cause: models.Avoided(tables=n, rows_avoided=rows, bytes_avoided=size)
        for cause, (n, rows, size) in sorted(f["avoided"].items())
    }
    return models.Day(
        day=dt.date.fromisoformat(day),
        runs=models.RunCounts(
            total=sum(f["status"].values()),
            by_status=dict(sorted(f["status"].items())),
            by_action=dict(sorted(f["action"].items())),
        ),
        savings=_savings(f["rows_scanned"], round(f["bytes_scanned"]), by_action),
        drift=models.DriftCounts(
            total=sum(f["severity"].values()),
            by_severity=dict(sorted(f["severity"].items())),
            schema_changes=f["schema_changes"],
            open=f["open"],
        ),
    )


def _savings(
    rows_scanned: int, bytes_scanned: int, by_action: dict[str, models.Avoided]
) -> models.Savings:
    rows_avoided = sum(a.rows_avoided for a in by_action.values())
    total = rows_scanned + rows_avoided
    return models.Savings(
        rows_scanned=rows_scanned,
        bytes_scanned=bytes_scanned,
        rows_avoided=rows_avoided,
        bytes_avoided=sum(a.bytes_avoided for a in by_action.values()),
        avoided_ratio=rows_avoided / total if total else None,
        by_action=by_action,
    )


def _sum_runs(items: Iterable[models.RunCounts]) -> models.RunCounts:
    status: Counter[str] = Counter()
    action: Counter[str] = Counter()
    for r in items:
        status.update(r.by_status)
        action.update(r.by_action)
    return models.RunCounts(
        total=sum(status.values()),
        by_status=dict(sorted(status.items())),
        by_action=dict(sorted(action.items())),
    )


def _sum_drift(items: Iterable[models.DriftCounts]) -> models.DriftCounts:
    severity: Counter[str] = Counter()
    schema = still_open = 0
    for d in items:
        severity.update(d.by_severity)
        schema += d.schema_changes
        still_open += d.open
    return models.DriftCounts(
        total=sum(severity.values()),
        by_severity=dict(sorted(severity.items())),
        schema_changes=schema,
        open=still_open,
    )


def _sum_savings(items: Iterable[models.Savings]) -> models.Savings:
    scanned = size = 0
    by_action: dict[str, list[int]] = {}
    for s in items:
        scanned += s.rows_scanned
        size += s.bytes_scanned
        for cause, a in s.by_action.items():
            entry = by_action.setdefault(cause, [0, 0, 0])
            entry[0] += a.tables
            entry[1] += a.rows_avoided
            entry[2] += a.bytes_avoided
    return _savings(
        scanned,
        size,
        {
            cause: models.Avoided(tables=n, rows_avoided=rows, bytes_avoided=b)
            for cause, (n, rows, b) in sorted(by_action.items())
        },
    )
