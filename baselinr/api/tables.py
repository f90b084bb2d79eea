"""Tables: every profiled table with its latest run and state, a table's metric
history, its incremental state explained, and the warehouses."""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.api import models
from baselinr.api.clean import STATE_TEXT, Redactor, RowMemo, clean, clean_fields
from baselinr.api.filters import table_condition
from baselinr.api.runs import run_model
from baselinr.catalog import TableRef
from baselinr.incremental import decide as reasons
from baselinr.incremental.explain import explain
from baselinr.incremental.plan import ACTIONS, TableDecision
from baselinr.redact import redact
from baselinr.storage.records import StoredRun
from baselinr.storage.schema import UTCDateTime, results, runs
from baselinr.storage.state import TableState


class TableNotFound(LookupError):
    pass


class AmbiguousTable(LookupError):
    pass


@dataclass(frozen=True)
class TableKey:
    database_name: str | None
    schema_name: str | None
    table_name: str

    @property
    def qualified(self) -> str:
        return TableRef(self.schema_name, self.table_name).qualified

    def run_conditions(self) -> list[sa.ColumnElement[bool]]:
        c = runs.c
        schema = (
            c.schema_name.is_(None)
            if self.schema_name is None
            else (c.schema_name == self.schema_name)
        )
        out = [schema, c.table_name == self.table_name]
        if self.database_name is not None:
            out.append(c.database_name == self.database_name)
        return out


def _schema(value: str | None) -> str | None:
    return value or None  # the state table stores "" for engines without schemas


def resolve_table(
    engine: Engine, state: sa.Table, name: str, warehouse: str | None = None
) -> TableKey:
    """The one table ``name`` (``t`` or ``schema.t``) means, from the runs and the state
    table. Several matches (the same name in two schemas or warehouses) are ambiguous
    unless ``warehouse`` or the schema narrows them."""
    found: set[TableKey] = set()
    queries = [
        sa.select(runs.c.database_name, runs.c.schema_name, runs.c.table_name)
        .where(table_condition(runs.c.schema_name, runs.c.table_name, name))
        .distinct(),
        sa.select(state.c.database_name, state.c.schema_name, state.c.table_name).where(
            table_condition(state.c.schema_name, state.c.table_name, name)
        ),
    ]
    with engine.connect() as conn:
        for stmt in queries:
            if warehouse is not None:
                stmt = stmt.where(stmt.selected_columns.database_name == warehouse)
            found.update(TableKey(d, _schema(s), t) for d, s, t in conn.execute(stmt))
    exact = {k for k in found if k.qualified == name}  # "a.b" the table, over schema a
    if exact:
        found = exact
    if not found:
        raise TableNotFound(f"no table {name!r} in storage")
    if len(found) > 1:
        names = sorted(f"{k.database_name}:{k.qualified}" for k in found)
        raise AmbiguousTable(
            f"{name!r} matches {', '.join(names)}; name the schema (schema.table) or pass warehouse"
        )
    return found.pop()


def state_model(row: Any, redactor: Callable[[str], str] = redact) -> models.TableState:
    data = dict(row)
    data["schema_name"] = _schema(data["schema_name"])
    data["metadata"] = jsonutil.loads(row["metadata"]) or {}
    return models.TableState.model_construct(**clean_fields(data, STATE_TEXT, redactor))


def _latest_runs() -> sa.Select[Any]:
    """Each table's latest run (any status). The inner grouping follows the index
    ``ix_baselinr_runs_latest`` (an index-only scan on Postgres)."""
    c = runs.c
    per_environment = (
        sa.select(
            c.database_name, c.schema_name, c.table_name, sa.func.max(c.started_at).label("at")
        )
        .group_by(c.database_name, c.environment, c.schema_name, c.table_name)
        .subquery()
    )
    p = per_environment.c
    latest = (
        sa.select(p.database_name, p.schema_name, p.table_name, sa.func.max(p.at).label("at"))
        .group_by(p.database_name, p.schema_name, p.table_name)
        .subquery()
    )
    same_schema = sa.or_(
        c.schema_name == latest.c.schema_name,
        sa.and_(c.schema_name.is_(None), latest.c.schema_name.is_(None)),
    )
    same_database = sa.or_(
        c.database_name == latest.c.database_name,
        sa.and_(c.database_name.is_(None), latest.c.database_name.is_(None)),
    )
    on = sa.and_(
        c.table_name == latest.c.table_name, c.started_at == latest.c.at, same_schema, same_database
    )
    return sa.select(runs).join(latest, on).order_by(c.run_id)


def list_tables(engine: Engine, state: sa.Table, memo: RowMemo | None = None) -> bytes:
    """``models.TableList`` as JSON: every table with a run or a state row, its latest
    run (any status) and its state. The JSON of each run and state row is made by
    pydantic once and kept in ``memo`` (keyed by the whole row), so a listing of
    thousands of tables mostly joins texts it made before."""
    memo = memo or RowMemo()
    redactor = Redactor()
    tables: dict[tuple[str | None, str | None, str], dict[str, str]] = {}

    def run_json(row: Any) -> str:
        return run_model(StoredRun.from_row(row), redactor).model_dump_json()

    def state_json(row: Any) -> str:
        return state_model(row, redactor).model_dump_json()

    with engine.connect() as conn:
        for row in conn.execute(_latest_runs()).mappings():
            key = (row["database_name"], row["schema_name"], row["table_name"])
            text = memo.get(("run", *row.values()), row, run_json)
            tables.setdefault(key, {})["latest_run"] = text
        for row in conn.execute(sa.select(state)).mappings():
            key = (row["database_name"], _schema(row["schema_name"]), row["table_name"])
            text = memo.get(("state", *row.values()), row, state_json)
            tables.setdefault(key, {})["state"] = text
    items = []
    for (database, schema, table), found in sorted(
        tables.items(), key=lambda kv: tuple(map(str, kv[0]))
    ):
        names = models.TableSummary(
            database_name=clean(database), schema_name=schema, table_name=table
        ).model_dump_json(exclude={"latest_run", "state"})
        items.append(
            f'{names[:-1]},"latest_run":{found.get("latest_run", "null")},'
            f'"state":{found.get("state", "null")}}}'
        )
    return ('{"items":[' + ",".join(items) + "]}").encode()


def metric_history(
    engine: Engine,
    key: TableKey,
    *,
    column: str | None,
    metric: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> models.MetricHistory:
    """The values of each (column, metric) over the table's latest ``limit`` completed
    runs in the window, oldest first. ``profiled_at`` is when a value was computed: a
    metric a partial run carried keeps the time of the run that computed it."""
    c = runs.c
    picked = (
        sa.select(c.run_id, c.started_at)
        .where(*key.run_conditions(), c.status == "completed")
        .order_by(c.started_at.desc(), c.run_id.desc())
        .limit(limit)
    )
    if since is not None:
        picked = picked.where(c.started_at >= sa.bindparam(None, since, type_=UTCDateTime()))
    if until is not None:
        picked = picked.where(c.started_at < sa.bindparam(None, until, type_=UTCDateTime()))
    chosen = picked.subquery()
    stmt = (
        sa.select(
            results.c.run_id,
            results.c.column_name,
            results.c.metric_name,
            results.c.metric_value,
            results.c.metric_json,
            results.c.profiled_at,
        )
        .join(chosen, results.c.run_id == chosen.c.run_id)
        .order_by(chosen.c.started_at, chosen.c.run_id, results.c.id)
    )
    if column is not None:
        stmt = stmt.where(results.c.column_name == column)
    if metric is not None:
        stmt = stmt.where(results.c.metric_name == metric)
    series: dict[tuple[str, str], list[models.Point]] = defaultdict(list)
    with engine.connect() as conn:
        for run_id, col, name, value, text, profiled_at in conn.execute(stmt):
            shown = value if text is None else jsonutil.loads(text)
            series[(col, name)].append(
                models.Point(run_id=run_id, profiled_at=profiled_at, value=clean(shown))
            )
    return models.MetricHistory(
        table=key.qualified,
        schema_name=key.schema_name,
        table_name=key.table_name,
        series=[
            models.Series(column=col, metric=name, points=points)
            for (col, name), points in sorted(series.items())
        ],
    )


def table_state(engine: Engine, state: sa.Table, key: TableKey) -> models.TableStateDetail | None:
    conditions = [
        state.c.schema_name == (key.schema_name or ""),
        state.c.table_name == key.table_name,
    ]
    if key.database_name is not None:
        conditions.append(state.c.database_name == key.database_name)
    with engine.connect() as conn:
        row = conn.execute(sa.select(state).where(*conditions)).mappings().first()
    if row is None:
        return None
    model = state_model(row)
    stored = TableState.from_row(dict(row))
    return models.TableStateDetail(**model.model_dump(), explanation=clean(explain_state(stored)))


# Reasons whose words need the plan's details (partitions, cost caps), which the state
# row does not keep.
_STATE_WORDS = {
    reasons.PARTITIONS_CHANGED: "only some partitions changed; those were profiled and merged",
    reasons.TOO_MANY: "more partitions changed than max_partitions_per_run",
    reasons.TABLE_PASS: (
        "changed; metrics that cannot be merged needed a whole-table pass, so one full "
        "profile was cheaper than a partial one"
    ),
    reasons.FORCED: "profiled in full on request",
    reasons.COST_ROWS: "the rows it would scan exceeded incremental.cost_controls.max_rows_scanned",
    reasons.COST_BYTES: (
        "the bytes it would scan exceeded incremental.cost_controls.max_bytes_scanned"
    ),
}
_DONE = {
    "full": "profiled in full",
    "partial": "profiled partially",
    "sample": "profiled on a sample",
    "skip": "skipped",
    "defer": "deferred",
}


def explain_state(state: TableState) -> str:
    """The planner's last decision for the table, in words, from its state row."""
    if state.decision is None:
        return "no planner decision recorded yet"
    reason = state.decision_reason or ""
    if reason in _STATE_WORDS or state.decision not in ACTIONS:
        why = _STATE_WORDS.get(reason, reason)
    else:
        details: dict[str, Any] = {"interval_minutes": state.interval_minutes}
        if state.last_profiled_at is not None:
            details["last_profiled_at"] = state.last_profiled_at.isoformat()
            if state.interval_minutes is not None:
                due = state.last_profiled_at + dt.timedelta(minutes=state.interval_minutes)
                details["due_at"] = due.isoformat()
        decision = TableDecision(
            database=state.database_name,
            schema=state.schema_name,
            table=state.table_name,
            entry_index=-1,
            action=state.decision,
            reason=reason,
            details=details,
        )
        why = explain(decision)
    text = f"{_DONE.get(state.decision, state.decision)} ({reason}): {why}"
    if state.last_profiled_at is not None:
        text += f"; last profiled {state.last_profiled_at:%Y-%m-%d %H:%M} UTC"
    if state.last_checked_at is not None:
        text += f", last checked {state.last_checked_at:%Y-%m-%d %H:%M} UTC"
    return text


def list_warehouses(engine: Engine) -> models.WarehouseList:
    """Database names and environments with their table and run counts. Only names
    from storage: never a URL, user or password."""
    c = runs.c
    per_table = sa.select(
        c.database_name, c.environment, sa.func.count(), sa.func.max(c.started_at)
    ).group_by(c.database_name, c.environment, c.schema_name, c.table_name)
    found: dict[tuple[Any, Any], list[Any]] = {}
    with engine.connect() as conn:
        for database, environment, n, last in conn.execute(per_table):
            entry = found.setdefault((database, environment), [0, 0, None])
            entry[0] += 1
            entry[1] += n
            last = _aware(last)
            entry[2] = last if entry[2] is None or (last and last > entry[2]) else entry[2]
    items = [
        models.Warehouse(
            database_name=clean(d), environment=clean(e), tables=t, runs=n, last_run_at=last
        )
        for (d, e), (t, n, last) in sorted(found.items(), key=lambda kv: tuple(map(str, kv[0])))
    ]
    return models.WarehouseList(items=items)


def _aware(value: Any) -> dt.datetime | None:
    """max() over a timestamp loses the column type on SQLite: parse and mark UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
