"""Write runs and their results. A run's results land in one transaction together
with its ``completed`` status, so a failed or killed run never shows as completed.

Every write returns the ``StoredRun`` it committed: the figures a caller reports are
the stored ones."""

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from baselinr import jsonutil
from baselinr.profiling.profiler import TableProfile
from baselinr.redact import redact, redact_data
from baselinr.storage.liveness import process_owner
from baselinr.storage.records import StoredBatch, StoredRun
from baselinr.storage.schema import batches, results, runs, utcnow


@dataclass(frozen=True)
class RunRecord:
    """What is known of a run when it starts."""

    run_id: str
    batch_id: str
    database_name: str
    schema_name: str | None
    table_name: str
    environment: str
    action: str
    started_at: dt.datetime
    snapshot_id: str | None = None
    dagster_run_id: str | None = None
    sample_fraction: float | None = None


def result_rows(
    run_id: str,
    profile: TableProfile,
    profiled_at: dt.datetime,
    as_of: Mapping[str, dt.datetime] | None = None,
) -> list[dict[str, Any]]:
    """One row per (column, metric). Numbers go to ``metric_value`` as the nearest
    double, and also to ``metric_json`` when the double would lose digits (bigints
    beyond 2**53, decimals; ``jsonutil.exact_number``), so that reading the row back
    gives the exact value; everything else (histograms, quantiles, top values, dates,
    strings) goes to ``metric_json``. ``as_of`` gives metrics carried from an earlier
    run their original ``profiled_at``."""
    as_of = as_of or {}
    rows = []
    for column in profile.columns:
        for name, value in column.metrics.items():
            numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
            if numeric:
                number, text = jsonutil.as_double(value), jsonutil.exact_number(value)
            else:
                number = None
                text = None if value is None else jsonutil.dumps(_displayable(value))
            rows.append(
                {
                    "run_id": run_id,
                    "schema_name": profile.table.schema,
                    "table_name": profile.table.table,
                    "column_name": column.column.name,
                    "column_type": column.column.type_name,
                    "metric_name": name,
                    "metric_value": number,
                    "metric_json": text,
                    "profiled_at": as_of.get(name, profiled_at),
                }
            )
    return rows


def _displayable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _displayable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_displayable(v) for v in value]
    return jsonutil.display_value(value)


class RunWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, record: RunRecord) -> StoredRun:
        run = StoredRun(
            status="running",
            heartbeat_at=record.started_at,
            owner=process_owner(),
            **dataclasses.asdict(record),
        )
        with self.engine.begin() as conn:
            conn.execute(runs.insert().values(**_row(run)))
        return run

    def reap_abandoned(self, now: dt.datetime | None = None) -> list[StoredRun]:
        """Mark ``failed`` every ``running`` run that is not live (its heartbeat is
        stale, or its process on this machine is gone): a killed run. Returns them as
        stored. A run that completes meanwhile keeps its ``completed``."""
        now = now or utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).where(runs.c.status == "running")).mappings()
            candidates = [StoredRun.from_row(r) for r in rows]
        dead = [r for r in candidates if not r.live(now)]
        reaped = []
        for run in dead:
            seen = run.heartbeat_at or run.started_at
            error = (
                f"abandoned: its process stopped (killed?) while profiling; last heartbeat "
                f"{seen.isoformat(timespec='seconds')}"
            )
            values: dict[str, Any] = {"status": "failed", "finished_at": now, "error": error}
            with self.engine.begin() as conn:
                done = conn.execute(
                    runs.update()
                    .where(runs.c.run_id == run.run_id, runs.c.status == "running")
                    .values(**values)
                )
            if done.rowcount:
                reaped.append(dataclasses.replace(run, **values))
        return reaped

    def complete(
        self,
        run: StoredRun | str,
        profile: TableProfile,
        *,
        row_count: int | None,
        metadata: Mapping[str, Any] | None = None,
        also: Callable[[Connection], None] | None = None,
        as_of: Mapping[str, dt.datetime] | None = None,
        rows_scanned: int | None = None,
        action: str | None = None,
    ) -> StoredRun:
        """Results, the run's ``completed`` status and ``also`` (e.g. incremental
        state) in one transaction. ``as_of``: metric -> when it was really computed
        (metrics a partial run carried over); ``rows_scanned`` defaults to the
        profile's rows; ``action`` replaces the planned one when another was carried
        out (a partial that had to be full). Returns the run as stored."""
        finished = utcnow()
        run_id = run if isinstance(run, str) else run.run_id
        rows = result_rows(run_id, profile, finished, as_of)
        values: dict[str, Any] = {
            "status": "completed",
            "finished_at": finished,
            "row_count": row_count,
            "column_count": len(profile.columns),
            "rows_scanned": profile.rows if rows_scanned is None else rows_scanned,
            "metadata": dict(metadata or {}),
            **({"action": action} if action else {}),
        }
        with self.engine.begin() as conn:
            if rows:
                conn.execute(results.insert(), rows)
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(**_encoded(values)))
            if also is not None:
                also(conn)
        return self._after(run, values)

    def fail(self, run: StoredRun | str, error: str) -> StoredRun:
        run_id = run if isinstance(run, str) else run.run_id
        values = {"status": "failed", "finished_at": utcnow(), "error": redact(error)[:4000]}
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))
        return self._after(run, values)

    def record_batch(self, batch: StoredBatch) -> StoredBatch:
        with self.engine.begin() as conn:
            conn.execute(batches.insert().values(**batch.to_row()))
        return batch

    def _after(self, run: StoredRun | str, values: Mapping[str, Any]) -> StoredRun:
        """The stored run after an update (read back only for callers that kept just
        the run id)."""
        if isinstance(run, StoredRun):
            return dataclasses.replace(run, **values)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run)).mappings().one()
        return StoredRun.from_row(row)


def _row(run: StoredRun) -> dict[str, Any]:
    return _encoded({f.name: getattr(run, f.name) for f in dataclasses.fields(run)})


def _encoded(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "metadata" in out:
        out["metadata"] = jsonutil.dumps(redact_data(dict(out["metadata"] or {})))
    return out
