"""The endpoints of DESIGN §10. Handlers are thin: parameters in, one query module
call, a response model out."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine

import baselinr
from baselinr.api import dashboard, drift, models, runs, tables
from baselinr.api.auth import require
from baselinr.api.export import DRIFT, RUNS, export
from baselinr.api.filters import DriftFilter, RunFilter
from baselinr.api.models import Name, UtcTime
from baselinr.api.paging import BadCursor, Cursor
from baselinr.api.readiness import readiness

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "Missing or invalid bearer token"},
    403: {"model": models.Error, "description": "The token's scope does not allow this"},
    422: {"model": models.Error, "description": "Bad parameters"},
    503: {"model": models.Error, "description": "Storage unavailable or not migrated"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": models.Error, "description": "No such run, event or table"}
}
_AMBIGUOUS: dict[int | str, dict[str, Any]] = {
    409: {"model": models.Error, "description": "The table name matches several tables"}
}


def single_values(request: Request) -> None:
    """Every parameter of this API takes one value: ``?table=a&table=b`` is a mistake,
    not "the last one wins"."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise HTTPException(422, f"query parameter {name!r} given more than once")
        seen.add(name)


public = APIRouter(dependencies=[Depends(single_values)])
api = APIRouter(
    prefix="/api",
    dependencies=[Depends(single_values), Depends(require("read"))],
    responses=_ERRORS,
)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


StorageEngine = Annotated[Engine, Depends(engine_of)]

# --- parameters shared by the list and export endpoints ---------------------------------
TableParam = Annotated[Name | None, Query(description="`t` or `schema.t`")]
SchemaParam = Annotated[Name | None, Query()]
SinceParam = Annotated[UtcTime | None, Query(description="ISO-8601; inclusive")]
UntilParam = Annotated[UtcTime | None, Query(description="ISO-8601; exclusive")]
LimitParam = Annotated[int, Query(ge=1, le=1000)]
CursorParam = Annotated[
    str | None,
    Query(max_length=2048, pattern=r"^[A-Za-z0-9_-]+$", description="`next_cursor` of a page"),
]
FormatParam = Annotated[models.ExportFormat, Query()]


def _json(model: BaseModel) -> Response:
    """The model serialised once, by pydantic (the route's ``response_model`` documents
    it; FastAPI would validate and serialise it a second time)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _cursor(token: str | None) -> Cursor | None:
    if token is None:
        return None
    try:
        return Cursor.decode(token)
    except BadCursor as exc:
        raise HTTPException(422, str(exc)) from None


def run_filter(
    table: TableParam = None,
    schema: SchemaParam = None,
    status: Annotated[models.RunStatus | None, Query()] = None,
    action: Annotated[models.RunAction | None, Query()] = None,
    environment: Annotated[Name | None, Query()] = None,
    warehouse: Annotated[Name | None, Query(description="database name")] = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> RunFilter:
    return RunFilter(table, schema, status, action, environment, warehouse, since, until)


def drift_filter(
    severity: Annotated[models.Severity | None, Query(description="minimum severity")] = None,
    table: TableParam = None,
    schema: SchemaParam = None,
    status: Annotated[models.TriageStatus | None, Query()] = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> DriftFilter:
    return DriftFilter(severity, table, schema, status, since, until)


# --- open endpoints ------------------------------------------------------------------------


@public.get("/", response_model=models.Root, tags=["service"])
def root() -> models.Root:
    return models.Root(version=baselinr.__version__)


@public.get("/health", response_model=models.Health, tags=["service"])
def health() -> models.Health:
    """Liveness: the process answers."""
    return models.Health()


@public.get(
    "/ready",
    response_model=models.Ready,
    tags=["service"],
    responses={503: {"model": models.Error, "description": "Not ready, with the reason"}},
)
def ready(engine: StorageEngine) -> Any:
    """200 when storage is reachable and its migrations are current, else 503."""
    state, reason = readiness(engine)
    if state is None:
        return JSONResponse({"detail": reason}, status_code=503)
    return state


# --- reads ---------------------------------------------------------------------------------


@api.get("/dashboard/metrics", response_model=models.DashboardMetrics, tags=["dashboard"])
def dashboard_metrics(
    request: Request, engine: StorageEngine, since: SinceParam = None, until: UntilParam = None
) -> Response:
    """Runs per status and action, tables, drift per severity, rows and bytes scanned
    and avoided, over `since`/`until` (default: the last 30 days), with a per-day trend."""
    return _json(
        dashboard.dashboard_metrics(engine, request.app.state.batch_summaries, since, until)
    )


@api.get("/runs", response_model=models.Page[models.Run], tags=["runs"])
def list_runs(
    engine: StorageEngine,
    where: Annotated[RunFilter, Depends(run_filter)],
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Runs, newest first, a page at a time."""
    return _json(runs.list_runs(engine, where, limit, _cursor(cursor)))


@api.get("/runs/{run_id}", response_model=models.RunDetail, tags=["runs"], responses=_NOT_FOUND)
def get_run(engine: StorageEngine, run_id: Annotated[Name, Path(max_length=255)]) -> Response:
    """One run with the metrics of each column."""
    found = runs.run_detail(engine, run_id)
    if found is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return _json(found)


@api.get("/drift", response_model=models.Page[models.DriftItem], tags=["drift"])
def list_drift(
    engine: StorageEngine,
    where: Annotated[DriftFilter, Depends(drift_filter)],
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    """Drift and schema-change events, newest first, with their triage."""
    return _json(drift.list_drift(engine, where, limit, _cursor(cursor)))


@api.get("/tables", response_model=models.TableList, tags=["tables"])
def list_tables(request: Request, engine: StorageEngine) -> Response:
    """Every profiled table with its latest run and its incremental state."""
    state = request.app.state
    body = tables.list_tables(engine, state.state_table, state.row_memo)
    return Response(body, media_type="application/json")


def _table(request: Request, engine: Engine, name: str, warehouse: str | None) -> tables.TableKey:
    try:
        return tables.resolve_table(engine, request.app.state.state_table, name, warehouse)
    except tables.TableNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except tables.AmbiguousTable as exc:
        raise HTTPException(409, str(exc)) from None


TableName = Annotated[Name, Path(description="`t` or `schema.t`")]
WarehouseParam = Annotated[
    Name | None, Query(description="database name, when the table is in several")
]


@api.get(
    "/tables/{table_name}/metrics",
    response_model=models.MetricHistory,
    tags=["tables"],
    responses={**_NOT_FOUND, **_AMBIGUOUS},
)
def table_metrics(
    request: Request,
    engine: StorageEngine,
    table_name: TableName,
    column: Annotated[Name | None, Query()] = None,
    metric: Annotated[Name | None, Query()] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="latest completed runs")] = 100,
    warehouse: WarehouseParam = None,
) -> Response:
    """Each column's metrics over the table's completed runs, oldest first."""
    key = _table(request, engine, table_name, warehouse)
    return _json(
        tables.metric_history(
            engine, key, column=column, metric=metric, since=since, until=until, limit=limit
        )
    )


@api.get(
    "/tables/{table_name}/state",
    response_model=models.TableStateDetail,
    tags=["tables"],
    responses={**_NOT_FOUND, **_AMBIGUOUS},
)
def table_state(
    request: Request, engine: StorageEngine, table_name: TableName, warehouse: WarehouseParam = None
) -> Response:
    """The table's `baselinr_table_state` row and the planner's last decision in words."""
    key = _table(request, engine, table_name, warehouse)
    found = tables.table_state(engine, request.app.state.state_table, key)
    if found is None:
        raise HTTPException(404, f"no incremental state for {key.qualified!r}")
    return _json(found)


@api.get("/warehouses", response_model=models.WarehouseList, tags=["tables"])
def list_warehouses(engine: StorageEngine) -> Response:
    """Database names and environments with their table and run counts."""
    return _json(tables.list_warehouses(engine))


# --- exports -----------------------------------------------------------------------------

_STREAMS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A JSON array, or CSV with a header row",
        "content": {"application/json": {}, "text/csv": {}},
    }
}


def _stream(body: Any, fmt: str, name: str) -> StreamingResponse:
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return StreamingResponse(body(), media_type=media, headers=headers)


@api.get("/export/runs", tags=["export"], response_class=StreamingResponse, responses=_STREAMS)
def export_runs(
    engine: StorageEngine,
    where: Annotated[RunFilter, Depends(run_filter)],
    format: FormatParam = "json",
) -> StreamingResponse:
    """Every run that matches the filters, newest first, streamed."""
    return _stream(export(engine, runs.runs_query(where), RUNS, format), format, "runs")


@api.get("/export/drift", tags=["export"], response_class=StreamingResponse, responses=_STREAMS)
def export_drift(
    engine: StorageEngine,
    where: Annotated[DriftFilter, Depends(drift_filter)],
    format: FormatParam = "json",
) -> StreamingResponse:
    """Every drift event that matches the filters, newest first, streamed."""
    body = export(engine, drift.drift_query(where), DRIFT, format)
    return _stream(body, format, "drift")


# --- triage ----------------------------------------------------------------------------------


def _triage(engine: Engine, event_id: str, step: str, body: models.TriageRequest) -> Any:
    try:
        found = drift.triage(engine, event_id, step, body)
    except drift.TriageConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if found is None:
        raise HTTPException(404, f"no drift event {event_id!r}")
    return found


_TRIAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    400: {"model": models.Error, "description": "The body is not JSON"},
    409: {"model": models.Error, "description": "Not in a status this step can follow"},
}
EventId = Annotated[Name, Path(max_length=255)]


@api.post(
    "/drift/{event_id}/acknowledge",
    response_model=models.DriftItem,
    tags=["drift"],
    dependencies=[Depends(require("triage"))],
    responses=_TRIAGE_RESPONSES,
)
def acknowledge(
    engine: StorageEngine, event_id: EventId, body: models.TriageRequest
) -> models.DriftItem:
    """Mark an open drift event as acknowledged (someone is on it)."""
    result: models.DriftItem = _triage(engine, event_id, "acknowledge", body)
    return result


@api.post(
    "/drift/{event_id}/resolve",
    response_model=models.DriftItem,
    tags=["drift"],
    dependencies=[Depends(require("triage"))],
    responses=_TRIAGE_RESPONSES,
)
def resolve(
    engine: StorageEngine, event_id: EventId, body: models.TriageRequest
) -> models.DriftItem:
    """Mark an open or acknowledged drift event as resolved."""
    result: models.DriftItem = _triage(engine, event_id, "resolve", body)
    return result
