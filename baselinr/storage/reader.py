"""Read runs and results back: for ``baselinr status``, fixed histogram edges,
cached metrics of skipped tables, and drift baselines."""

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.storage.schema import results, runs, utcnow

# A run still 'running' after this long was killed, not in flight.
IN_FLIGHT_WINDOW = dt.timedelta(hours=1)


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
    ) -> list[dict[str, Any]]:
        stmt = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id).limit(limit)
        if schema is not None:
            stmt = stmt.where(runs.c.schema_name == schema)
        if table is not None:
            stmt = stmt.where(runs.c.table_name == table)
        if status is not None:
            stmt = stmt.where(runs.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    def latest_completed_run(self, schema: str | None, table: str) -> dict[str, Any] | None:
        found = self.recent_runs(1, schema=schema, table=table, status="completed")
        return found[0] if found else None

    def run_metrics(self, run_id: str) -> dict[str, dict[str, Any]]:
        """column -> metric -> value (numbers as floats, the rest decoded from JSON)."""
        stmt = sa.select(
            results.c.column_name,
            results.c.metric_name,
            results.c.metric_value,
            results.c.metric_json,
        ).where(results.c.run_id == run_id)
        out: dict[str, dict[str, Any]] = defaultdict(dict)
        with self.engine.connect() as conn:
            for column, metric, value, text in conn.execute(stmt):
                out[column][metric] = value if text is None else jsonutil.loads(text)
        return dict(out)

    def run_columns(self, run_id: str) -> dict[str, str]:
        """column -> type of a run, in the order the columns were profiled."""
        stmt = (
            sa.select(results.c.column_name, results.c.column_type)
            .where(results.c.run_id == run_id)
            .order_by(results.c.id)
        )
        with self.engine.connect() as conn:
            return {c: t for c, t in conn.execute(stmt)}

    def histogram_edges(self, schema: str | None, table: str) -> dict[str, tuple[float, ...]]:
        """Bin edges of the latest completed run's histograms: once chosen, edges stay
        fixed so histograms of different runs and partitions are comparable."""
        run = self.latest_completed_run(schema, table)
        if run is None:
            return {}
        stmt = sa.select(results.c.column_name, results.c.metric_json).where(
            results.c.run_id == run["run_id"], results.c.metric_name == "histogram"
        )
        edges = {}
        with self.engine.connect() as conn:
            for column, text in conn.execute(stmt):
                data = jsonutil.loads(text)
                if data and data.get("edges"):
                    edges[column] = tuple(float(e) for e in data["edges"])
        return edges

    def latest_attempts(self) -> dict[tuple[str | None, str], tuple[str, bool]]:
        """(schema, table) -> (start time of the latest run, whether a run is in
        flight now). Two grouped queries, whatever the number of tables."""
        latest = sa.select(runs.c.schema_name, runs.c.table_name, sa.func.max(runs.c.started_at))
        latest = latest.group_by(runs.c.schema_name, runs.c.table_name)
        in_flight = (
            sa.select(runs.c.schema_name, runs.c.table_name)
            .where(runs.c.status == "running", runs.c.started_at > utcnow() - IN_FLIGHT_WINDOW)
            .distinct()
        )
        with self.engine.connect() as conn:
            running = {(s, t) for s, t in conn.execute(in_flight)}
            return {
                (s, t): (str(started), (s, t) in running) for s, t, started in conn.execute(latest)
            }
