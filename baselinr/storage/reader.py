"""Read runs and results back: for ``baselinr status``, fixed histogram edges,
cached metrics of skipped tables, and drift baselines. Rows come back as frozen
records (``storage/records.py``)."""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.storage.liveness import STALE_AFTER
from baselinr.storage.records import RunResults, StoredBatch, StoredRun
from baselinr.storage.schema import batches, results, runs, utcnow


def in_flight(run: StoredRun, now: dt.datetime | None = None) -> bool:
    """Whether a run is being profiled right now (not finished, not abandoned): its
    heartbeat is fresh and its process, if on this machine, exists."""
    return run.live(now)


@dataclass
class PreviousProfile:
    """``ResultsReader.previous_profile``: edges, means and rows of the latest run."""

    edges: dict[str, tuple[float, ...]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    row_count: int | None = None


class ResultReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def recent_runs(
        self,
        limit: int = 20,
        *,
        schema: str | None = None,
        table: str | None = None,
        status: str | None = None,
    ) -> list[StoredRun]:
        stmt = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id).limit(limit)
        if schema is not None:
            stmt = stmt.where(runs.c.schema_name == schema)
        if table is not None:
            stmt = stmt.where(runs.c.table_name == table)
        if status is not None:
            stmt = stmt.where(runs.c.status == status)
        return self._runs(stmt)

    def _runs(self, stmt: sa.Select[Any]) -> list[StoredRun]:
        with self.engine.connect() as conn:
            return [StoredRun.from_row(r) for r in conn.execute(stmt).mappings()]

    def run(self, run_id: str) -> StoredRun | None:
        return self.runs_by_id([run_id]).get(run_id)

    def runs_by_id(self, run_ids: Iterable[str]) -> dict[str, StoredRun]:
        """run_id -> run, for many runs in one query."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        return {r.run_id: r for r in self._runs(sa.select(runs).where(runs.c.run_id.in_(ids)))}

    def batch(self, batch_id: str) -> StoredBatch | None:
        with self.engine.connect() as conn:
            stmt = sa.select(batches).where(batches.c.batch_id == batch_id)
            row = conn.execute(stmt).mappings().first()
        return StoredBatch.from_row(row) if row is not None else None

    def latest_completed_run(
        self, schema: str | None, table: str, *, database: str | None = None
    ) -> StoredRun | None:
        """The table's latest completed run (in ``database`` when given: the same
        schema and table name in another warehouse is another table)."""
        stmt = (
            sa.select(runs)
            .where(_same_table(schema, table, database), runs.c.status == "completed")
            .order_by(runs.c.started_at.desc(), runs.c.run_id)
            .limit(1)
        )
        found = self._runs(stmt)
        return found[0] if found else None

    def run_metrics(self, run_id: str) -> dict[str, dict[str, Any]]:
        """column -> metric -> value (numbers as floats, the rest decoded from JSON)."""
        return self.results_for_runs([run_id])[run_id].metrics

    def histogram_edges(
        self, schema: str | None, table: str, *, database: str | None = None
    ) -> dict[str, tuple[float, ...]]:
        """Bin edges of the latest completed run's histograms: once chosen, edges stay
        fixed so histograms of different runs and partitions are comparable."""
        return self.previous_profile(schema, table, database=database).edges

    def previous_profile(
        self, schema: str | None, table: str, *, database: str | None = None
    ) -> PreviousProfile:
        """What the latest completed run found that the next profile builds on: its
        histogram edges, each column's mean and the row count (one run lookup, one
        read of its results)."""
        run = self.latest_completed_run(schema, table, database=database)
        if run is None:
            return PreviousProfile()
        stmt = sa.select(
            results.c.column_name,
            results.c.metric_name,
            results.c.metric_value,
            results.c.metric_json,
        ).where(results.c.run_id == run.run_id, results.c.metric_name.in_(("histogram", "mean")))
        found = PreviousProfile(row_count=run.row_count)
        with self.engine.connect() as conn:
            for column, metric, value, text in conn.execute(stmt):
                if metric == "mean" and value is not None and math.isfinite(value):
                    found.means[column] = float(value)
                elif metric == "histogram":
                    data = jsonutil.loads(text)
                    if data and data.get("edges"):
                        found.edges[column] = tuple(float(e) for e in data["edges"])
        return found

    # --- drift baselines ---------------------------------------------------------------
    def completed_runs_before(
        self,
        schema: str | None,
        table: str,
        before: dt.datetime,
        limit: int,
        *,
        database: str | None = None,
    ) -> list[StoredRun]:
        """The table's last ``limit`` completed runs that started before ``before``,
        newest first."""
        stmt = (
            sa.select(runs)
            .where(_same_table(schema, table, database), runs.c.status == "completed")
            .where(runs.c.started_at < before)
            .order_by(runs.c.started_at.desc(), runs.c.run_id)
            .limit(limit)
        )
        return self._runs(stmt)

    def completed_runs_between(
        self,
        schema: str | None,
        table: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        database: str | None = None,
    ) -> list[StoredRun]:
        """The table's completed runs that started in ``[start, end)``, oldest first."""
        stmt = (
            sa.select(runs)
            .where(_same_table(schema, table, database), runs.c.status == "completed")
            .where(runs.c.started_at >= start, runs.c.started_at < end)
            .order_by(runs.c.started_at, runs.c.run_id)
        )
        return self._runs(stmt)

    def results_for_runs(
        self,
        run_ids: Iterable[str],
        metrics: Iterable[str] | None = None,
        all_metrics_of: Iterable[str] = (),
    ) -> dict[str, RunResults]:
        """Results of several runs in one query: per run, column -> type (in profiling
        order) and column -> metric -> value. ``metrics`` limits which metrics are read,
        except for the runs in ``all_metrics_of``."""
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, RunResults] = {i: RunResults({}, {}) for i in ids}
        if not ids:
            return out
        stmt = sa.select(
            results.c.run_id,
            results.c.column_name,
            results.c.column_type,
            results.c.metric_name,
            results.c.metric_value,
            results.c.metric_json,
        ).where(results.c.run_id.in_(ids))
        if metrics is not None:
            full = list(all_metrics_of)
            wanted = results.c.metric_name.in_(sorted(set(metrics)))
            stmt = stmt.where(sa.or_(wanted, results.c.run_id.in_(full)) if full else wanted)
        stmt = stmt.order_by(results.c.id)
        with self.engine.connect() as conn:
            for run_id, column, type_name, metric, value, text in conn.execute(stmt):
                found = out[run_id]
                found.columns.setdefault(column, type_name)
                found.metrics.setdefault(column, {})[metric] = (
                    value if text is None else jsonutil.loads(text)
                )
        return out

    def latest_completed_runs(self, environment: str | None = None) -> list[StoredRun]:
        """The latest completed run of every table, ordered by schema and table."""
        order = sa.func.row_number().over(
            partition_by=(runs.c.schema_name, runs.c.table_name),
            order_by=(runs.c.started_at.desc(), runs.c.run_id),
        )
        inner = sa.select(runs, order.label("_rn")).where(runs.c.status == "completed")
        if environment is not None:
            inner = inner.where(runs.c.environment == environment)
        ranked = inner.subquery()
        stmt = (
            sa.select(*(ranked.c[c.name] for c in runs.columns))
            .where(ranked.c._rn == 1)
            .order_by(ranked.c.schema_name, ranked.c.table_name)
        )
        return self._runs(stmt)

    def latest_attempts(
        self, within: dt.timedelta
    ) -> dict[tuple[str | None, str], tuple[str, bool]]:
        """(schema, table) -> (start time of its latest run within ``within``, whether
        a run is in flight now: running with a fresh heartbeat). One grouped query over
        recent runs only, so its cost does not grow with the history."""
        now = utcnow()
        beat = sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at)
        in_flight = sa.func.max(
            sa.case((sa.and_(runs.c.status == "running", beat > now - STALE_AFTER), 1), else_=0)
        )
        stmt = (
            sa.select(
                runs.c.schema_name, runs.c.table_name, sa.func.max(runs.c.started_at), in_flight
            )
            .where(runs.c.started_at > now - within)
            .group_by(runs.c.schema_name, runs.c.table_name)
        )
        with self.engine.connect() as conn:
            return {
                (s, t): (str(started), bool(busy)) for s, t, started, busy in conn.execute(stmt)
            }


def _same_table(
    schema: str | None, table: str, database: str | None = None
) -> sa.ColumnElement[bool]:
    same_schema = runs.c.schema_name.is_(None) if schema is None else runs.c.schema_name == schema
    same = sa.and_(same_schema, runs.c.table_name == table)
    return same if database is None else sa.and_(same, runs.c.database_name == database)
