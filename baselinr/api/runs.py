"""Runs: the list (keyset paging, newest first), one run with its column metrics, and
the rows of an export."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.api import models
from baselinr.api.clean import RUN_TEXT, Redactor, clean, clean_fields
from baselinr.api.filters import RunFilter, keyset_before
from baselinr.api.paging import Cursor
from baselinr.redact import redact
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import StoredRun
from baselinr.storage.schema import runs


def run_model(run: StoredRun, redactor: Callable[[str], str] = redact) -> models.Run:
    data = clean_fields(run.to_dict(), RUN_TEXT, redactor)
    data["rows_avoided"] = run.rows_avoided
    return models.Run.model_construct(**data)  # stored values, typed by the schema


def runs_query(where: RunFilter) -> sa.Select[Any]:
    return (
        sa.select(runs)
        .where(*where.conditions())
        .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
    )


def list_runs(
    engine: Engine, where: RunFilter, limit: int, cursor: Cursor | None
) -> models.Page[models.Run]:
    stmt = runs_query(where)
    if cursor is not None:
        stmt = stmt.where(keyset_before(runs.c.started_at, runs.c.run_id, cursor))
    with engine.connect() as conn:
        found = [StoredRun.from_row(r) for r in conn.execute(stmt.limit(limit + 1)).mappings()]
    page = found[:limit]
    following = None
    if len(found) > limit:
        following = Cursor(page[-1].started_at, page[-1].run_id).encode()
    redactor = Redactor()
    items = [run_model(r, redactor) for r in page]
    return models.Page[models.Run](items=items, next_cursor=following)


def run_detail(engine: Engine, run_id: str) -> models.RunDetail | None:
    reader = ResultReader(engine)
    run = reader.run(run_id)
    if run is None:
        return None
    stored = reader.results_for_runs([run_id])[run_id]
    columns = [
        models.ColumnMetrics(name=name, type=type_name, metrics=clean(stored.metrics.get(name, {})))
        for name, type_name in stored.columns.items()
    ]
    return models.RunDetail(**run_model(run).model_dump(), columns=columns)
