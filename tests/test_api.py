"""The dashboard REST API (DESIGN §10) over real SQLite and Postgres storage filled by
real profiling runs (tests/support/api_data.py): every endpoint, paging, filters,
errors, triage, exports, savings."""

import csv
import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from baselinr.api import create_app
from baselinr.api.settings import ApiOptions
from baselinr.storage import migrate
from baselinr.storage.reader import ResultReader
from baselinr.storage.schema import batches, events, runs
from tests.support.api_data import FAILED_ERROR, Filled, fill

DRIFT_TYPES = ("DataDriftDetected", "SchemaChangeDetected")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Filled:
    directory = tmp_path_factory.mktemp(f"api_{request.param}")
    if request.param == "sqlite":
        connection: dict[str, Any] = {"type": "sqlite", "filepath": str(directory / "storage.db")}
    else:
        server = request.getfixturevalue("pg_server")
        connection = {"url": server.create_database(f"api_{directory.name}")}
    return fill(directory, {"connection": connection, "create_tables": True})


@pytest.fixture(scope="module")
def client(filled: Filled) -> Iterator[TestClient]:
    with TestClient(create_app(ApiOptions(db_url=filled.storage_url))) as c:
        yield c


@pytest.fixture(scope="module")
def stored(filled: Filled) -> dict[str, list[dict[str, Any]]]:
    """The storage rows, read directly, newest first: the reference for the API."""
    engine = filled.storage
    try:
        with engine.connect() as conn:
            return {
                "runs": [
                    dict(r)
                    for r in conn.execute(
                        sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
                    ).mappings()
                ],
                "drift": [
                    dict(r)
                    for r in conn.execute(
                        sa.select(events)
                        .where(events.c.event_type.in_(DRIFT_TYPES))
                        .order_by(events.c.created_at.desc(), events.c.event_id.desc())
                    ).mappings()
                ],
                "batches": [dict(r) for r in conn.execute(sa.select(batches)).mappings()],
            }
    finally:
        engine.dispose()


def _get(client: TestClient, path: str, expect: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == expect, (path, params, response.text)
    return response.json()


def _all_pages(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor, pages = [], None, 0
    while True:
        page = _get(client, path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert pages < 500


# --- service endpoints --------------------------------------------------------------------------


def test_root_health_ready_and_docs(client: TestClient) -> None:
    assert _get(client, "/") == {"status": "ok", "version": "0.1.0"}
    assert _get(client, "/health") == {"status": "ok"}
    ready = _get(client, "/ready")
    assert ready["status"] == "ready" and ready["revision"] == migrate.head_revision()
    schema = _get(client, "/openapi.json")
    assert {"/api/runs", "/api/drift/{event_id}/resolve", "/api/export/drift"} <= set(
        schema["paths"]
    )
    for page in ("/docs", "/redoc"):
        assert client.get(page).status_code == 200


# --- runs ------------------------------------------------------------------------------------------


def test_runs_page_through_every_run_newest_first(client: TestClient, stored: Any) -> None:
    items = _all_pages(client, "/api/runs", limit=3)
    assert [r["run_id"] for r in items] == [r["run_id"] for r in stored["runs"]]
    first, reference = items[0], stored["runs"][0]
    for column in ("batch_id", "table_name", "status", "action", "row_count", "rows_scanned"):
        assert first[column] == reference[column]
    assert first["started_at"].endswith("Z") or first["started_at"].endswith("+00:00")
    assert (
        dt.datetime.fromisoformat(first["started_at"].replace("Z", "+00:00"))
        == reference["started_at"]
    )
    assert _get(client, "/api/runs")["next_cursor"] is None  # fewer than 50 runs
    assert len(_get(client, "/api/runs", limit=1000)["items"]) == len(stored["runs"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"table": "users"}, lambda r: r["table_name"] == "users"),
        ({"table": "main.orders"}, lambda r: (r["schema_name"], r["table_name"]) == ("main", "orders")),
        ({"schema": "main", "status": "completed"}, lambda r: r["status"] == "completed"),
        ({"status": "failed"}, lambda r: r["status"] == "failed"),
        ({"action": "partial"}, lambda r: r["action"] == "partial"),
        ({"action": "sample"}, lambda r: r["action"] == "sample"),
        ({"environment": "staging"}, lambda r: r["environment"] == "staging"),
        ({"warehouse": "other"}, lambda r: r["database_name"] == "other"),
        ({"table": "orders", "warehouse": "warehouse"}, lambda r: r["table_name"] == "orders" and r["database_name"] == "warehouse"),
    ],
)  # fmt: skip
def test_run_filters(
    client: TestClient, stored: Any, params: dict[str, str], expected: Any
) -> None:
    want = [r["run_id"] for r in stored["runs"] if expected(r)]
    assert want, "the fixture should have such runs"
    got = [r["run_id"] for r in _all_pages(client, "/api/runs", limit=2, **params)]
    assert got == want


def test_run_time_window(client: TestClient, stored: Any) -> None:
    times = sorted({r["started_at"] for r in stored["runs"]})
    since, until = times[2], times[-2]
    want = [r["run_id"] for r in stored["runs"] if since <= r["started_at"] < until]
    got = _all_pages(client, "/api/runs", since=since.isoformat(), until=until.isoformat())
    assert [r["run_id"] for r in got] == want and 0 < len(want) < len(stored["runs"])
    naive = since.replace(tzinfo=None).isoformat()  # no offset: UTC
    assert len(_all_pages(client, "/api/runs", since=naive)) == sum(
        1 for r in stored["runs"] if r["started_at"] >= since
    )


def test_run_detail_has_columns_and_metrics(
    client: TestClient, filled: Filled, stored: Any
) -> None:
    run = next(
        r for r in stored["runs"] if r["table_name"] == "orders" and r["action"] == "partial"
    )
    detail = _get(client, f"/api/runs/{run['run_id']}")
    reference = ResultReader(filled.storage).results_for_runs([run["run_id"]])[run["run_id"]]
    assert [c["name"] for c in detail["columns"]] == list(reference.columns)
    amount = next(c for c in detail["columns"] if c["name"] == "amount")
    assert amount["metrics"]["mean"] == pytest.approx(reference.metrics["amount"]["mean"])
    assert (
        amount["metrics"]["histogram"]["edges"] == reference.metrics["amount"]["histogram"]["edges"]
    )
    assert (
        detail["action"] == "partial"
        and detail["rows_avoided"] == run["row_count"] - run["rows_scanned"]
    )
    assert detail["metadata"]["reason"] == "partitions_changed"
    failed = _get(client, f"/api/runs/{filled.failed_run_id}")
    assert (
        failed["status"] == "failed" and failed["error"] == FAILED_ERROR and failed["columns"] == []
    )
    assert _get(client, "/api/runs/nope", 404) == {"detail": "no run 'nope'"}


# --- drift --------------------------------------------------------------------------------------------


def test_drift_lists_drift_and_schema_events_with_filters(client: TestClient, stored: Any) -> None:
    items = _all_pages(client, "/api/drift", limit=4)
    assert [e["event_id"] for e in items] == [e["event_id"] for e in stored["drift"]]
    assert {e["event_type"] for e in items} == set(DRIFT_TYPES)
    assert all(e["status"] == "open" or e["status"] in ("acknowledged", "resolved") for e in items)
    removed = [
        e
        for e in items
        if e["event_type"] == "SchemaChangeDetected" and e["column_name"] == "country"
    ]
    assert (
        removed
        and removed[0]["severity"] == "high"
        and removed[0]["payload"]["change"] == "removed"
    )
    email = [e for e in items if e["column_name"] == "email" and e["metric_name"] == "null_ratio"]
    assert email and email[0]["severity"] in ("medium", "high")

    high = _all_pages(client, "/api/drift", severity="high")
    assert high and {e["severity"] for e in high} == {"high"}
    medium_up = _all_pages(client, "/api/drift", severity="medium")
    assert {e["severity"] for e in medium_up} <= {"medium", "high"}
    assert len(medium_up) == sum(1 for e in stored["drift"] if e["severity"] in ("medium", "high"))
    users = _all_pages(client, "/api/drift", table="main.users")
    assert users and {e["table_name"] for e in users} == {"users"}
    assert _all_pages(client, "/api/drift", schema="nowhere") == []


def test_triage_round_trip(client: TestClient, stored: Any) -> None:
    event_id = stored["drift"][-1]["event_id"]
    body = {"by": "ana@example.com", "note": "looking into the upstream load"}
    acked = client.post(f"/api/drift/{event_id}/acknowledge", json=body)
    assert acked.status_code == 200, acked.text
    item = acked.json()
    assert (item["status"], item["acknowledged_by"], item["acknowledged_note"]) == (
        "acknowledged", "ana@example.com", "looking into the upstream load")  # fmt: skip
    assert item["acknowledged_at"] is not None and item["resolved_at"] is None
    again = client.post(f"/api/drift/{event_id}/acknowledge", json=body)
    assert again.status_code == 409 and "acknowledged" in again.json()["detail"]

    listed = _all_pages(client, "/api/drift", status="acknowledged")
    assert [e["event_id"] for e in listed] == [event_id]
    assert event_id not in {e["event_id"] for e in _all_pages(client, "/api/drift", status="open")}

    resolved = client.post(f"/api/drift/{event_id}/resolve", json={"by": "bo", "note": "fixed"})
    assert resolved.status_code == 200
    done = resolved.json()
    assert (done["status"], done["resolved_by"], done["resolved_note"]) == (
        "resolved",
        "bo",
        "fixed",
    )
    assert done["acknowledged_by"] == "ana@example.com"  # the history is kept
    assert [e["event_id"] for e in _all_pages(client, "/api/drift", status="resolved")] == [
        event_id
    ]
    for step in ("acknowledge", "resolve"):
        assert client.post(f"/api/drift/{event_id}/{step}", json={"by": "x"}).status_code == 409

    # straight from open to resolved, note optional
    other = stored["drift"][-2]["event_id"]
    assert (
        client.post(f"/api/drift/{other}/resolve", json={"by": "cy"}).json()["status"] == "resolved"
    )

    assert client.post("/api/drift/nope/resolve", json={"by": "x"}).status_code == 404
    run_event = stored["runs"][0]["run_id"]  # not an event id at all
    assert client.post(f"/api/drift/{run_event}/resolve", json={"by": "x"}).status_code == 404
    for bad in ({}, {"by": ""}, {"by": "x", "extra": 1}, {"by": "x" * 300}, {"by": "a\x00b"}):
        assert client.post(f"/api/drift/{other}/acknowledge", json=bad).status_code == 422, bad


# --- tables ------------------------------------------------------------------------------------------------


def test_tables_have_their_latest_run_and_state(client: TestClient, stored: Any) -> None:
    items = _get(client, "/api/tables")["items"]
    keys = {(t["database_name"], t["table_name"]) for t in items}
    assert keys == {("warehouse", "orders"), ("warehouse", "users"), ("warehouse", "clicks"),
                    ("warehouse", "sampled"), ("other", "orders")}  # fmt: skip
    for table in items:
        mine = [r for r in stored["runs"]
                if (r["database_name"], r["table_name"]) == (table["database_name"], table["table_name"])]  # fmt: skip
        if not mine:  # clicks: always deferred, never profiled
            assert table["table_name"] == "clicks" and table["latest_run"] is None
            assert table["state"]["decision"] == "defer"
            continue
        assert table["latest_run"]["run_id"] == mine[0]["run_id"]
    users = next(t for t in items if t["table_name"] == "users")
    assert users["latest_run"]["status"] == "failed"  # the latest run, whatever its status
    assert users["state"]["last_run_id"] != users["latest_run"]["run_id"]


def test_table_metric_history(client: TestClient, filled: Filled, stored: Any) -> None:
    history = _get(client, "/api/tables/users/metrics")
    assert history["table"] == "main.users"
    completed = [
        r
        for r in reversed(stored["runs"])
        if r["table_name"] == "users" and r["status"] == "completed"
    ]
    series = {(s["column"], s["metric"]): s["points"] for s in history["series"]}
    nulls = series[("email", "null_ratio")]
    assert [p["run_id"] for p in nulls] == [r["run_id"] for r in completed]
    reference = ResultReader(filled.storage).results_for_runs([r["run_id"] for r in completed])
    assert [p["value"] for p in nulls] == pytest.approx(
        [reference[r["run_id"]].metrics["email"]["null_ratio"] for r in completed]
    )
    assert nulls[-1]["value"] > nulls[0]["value"]  # the null burst
    assert len(series[("country", "count")]) == len(completed) - 1  # dropped on the last run

    only = _get(
        client, "/api/tables/main.users/metrics", column="email", metric="null_ratio", limit=2
    )
    assert [(s["column"], s["metric"]) for s in only["series"]] == [("email", "null_ratio")]
    assert [p["run_id"] for p in only["series"][0]["points"]] == [
        r["run_id"] for r in completed[-2:]
    ]
    histogram = _get(client, "/api/tables/users/metrics", metric="histogram", column="id")
    assert "edges" in histogram["series"][0]["points"][0]["value"]

    assert _get(client, "/api/tables/nope/metrics", 404)["detail"] == "no table 'nope' in storage"
    ambiguous = _get(client, "/api/tables/orders/metrics", 409)["detail"]
    assert "other:main.orders" in ambiguous and "warehouse:main.orders" in ambiguous
    other = _get(
        client, "/api/tables/orders/metrics", warehouse="other", metric="mean", column="amount"
    )
    other_runs = [
        r for r in stored["runs"] if r["database_name"] == "other" and r["status"] == "completed"
    ]
    assert len(other["series"][0]["points"]) == len(other_runs)


def test_table_state_is_explained(client: TestClient) -> None:
    orders = _get(client, "/api/tables/orders/state", warehouse="warehouse")
    assert orders["decision"] == "skip" and orders["decision_reason"] == "snapshot_match"
    assert orders["explanation"].startswith("skipped (snapshot_match): unchanged since")
    assert orders["metadata"]["partition_mode"] is not None
    clicks = _get(client, "/api/tables/main.clicks/state")
    assert clicks["decision"] == "defer" and "max_rows_scanned" in clicks["explanation"]
    assert _get(client, "/api/tables/ghost/state", 404)["detail"] == "no table 'ghost' in storage"


def test_warehouses(client: TestClient, stored: Any) -> None:
    items = _get(client, "/api/warehouses")["items"]
    counts = Counter((r["database_name"], r["environment"]) for r in stored["runs"])
    assert {(w["database_name"], w["environment"]): w["runs"] for w in items} == dict(counts)
    tables = {(w["database_name"]): w["tables"] for w in items}
    assert tables == {"warehouse": 3, "other": 1}  # clicks never ran
    assert all(
        set(w) == {"database_name", "environment", "tables", "runs", "last_run_at"} for w in items
    )


# --- savings --------------------------------------------------------------------------------------------


def test_dashboard_metrics_are_the_stored_figures(client: TestClient, stored: Any) -> None:
    metrics = _get(client, "/api/dashboard/metrics")
    runs_ = stored["runs"]
    assert metrics["runs"]["total"] == len(runs_)
    assert metrics["runs"]["by_status"] == dict(Counter(r["status"] for r in runs_))
    assert metrics["runs"]["by_action"] == dict(Counter(r["action"] for r in runs_))
    assert metrics["tables"] == 4  # tables with a run: clicks never ran
    savings = metrics["savings"]
    assert savings["rows_scanned"] == sum(r["rows_scanned"] or 0 for r in runs_)
    assert savings["rows_avoided"] == sum(b["rows_avoided"] for b in stored["batches"])
    assert savings["bytes_avoided"] == sum(b["bytes_avoided"] for b in stored["batches"])
    by_action = savings["by_action"]
    assert set(by_action) == {"skip", "defer", "partial", "sample"}
    decisions = [d for b in stored["batches"] for d in json.loads(b["decisions"])]
    assert by_action["defer"]["tables"] == sum(1 for d in decisions if d["status"] == "deferred")
    assert by_action["defer"]["rows_avoided"] == 4_000 * by_action["defer"]["tables"]
    partials = [r for r in runs_ if r["action"] == "partial"]
    assert by_action["partial"]["rows_avoided"] == sum(
        r["row_count"] - r["rows_scanned"] for r in partials
    )
    sampled = [r for r in runs_ if r["action"] == "sample"]
    assert (
        by_action["sample"]["rows_avoided"]
        == sum(r["row_count"] - r["rows_scanned"] for r in sampled)
        > 0
    )
    total = savings["rows_scanned"] + savings["rows_avoided"]
    assert savings["avoided_ratio"] == pytest.approx(savings["rows_avoided"] / total)
    drift = metrics["drift"]
    assert drift["total"] == len(stored["drift"])
    assert drift["by_severity"] == dict(Counter(e["severity"] for e in stored["drift"]))
    assert drift["schema_changes"] == sum(
        1 for e in stored["drift"] if e["event_type"] == "SchemaChangeDetected"
    )
    # the trend adds up to the totals
    trend = metrics["trend"]
    assert trend and sum(d["runs"]["total"] for d in trend) == len(runs_)
    assert sum(d["savings"]["rows_avoided"] for d in trend) == savings["rows_avoided"]
    assert sum(d["drift"]["total"] for d in trend) == drift["total"]
    # a window without activity
    empty = _get(client, "/api/dashboard/metrics", since="2001-01-01T00:00:00Z", until="2001-02-01")
    assert (
        empty["runs"]["total"] == 0
        and empty["trend"] == []
        and empty["savings"]["avoided_ratio"] is None
    )


# --- exports ------------------------------------------------------------------------------------------


def test_export_runs_as_json_and_csv(client: TestClient, stored: Any) -> None:
    as_json = client.get("/api/export/runs", params={"format": "json"})
    assert as_json.headers["content-type"].startswith("application/json")
    rows = as_json.json()
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in stored["runs"]]
    assert isinstance(rows[0]["metadata"], dict) and rows[0]["started_at"]
    as_csv = client.get("/api/export/runs", params={"format": "csv", "status": "completed"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["run_id"] for r in table] == [
        r["run_id"] for r in stored["runs"] if r["status"] == "completed"
    ]
    assert json.loads(table[0]["metadata"])["statements"] >= 1
    assert client.get("/api/export/runs", params={"table": "ghost"}).json() == []
    header = client.get("/api/export/runs", params={"table": "ghost", "format": "csv"}).text
    assert header.strip().split(",")[:3] == ["run_id", "batch_id", "database_name"]


def test_export_drift(client: TestClient, stored: Any) -> None:
    rows = client.get("/api/export/drift").json()
    assert [r["event_id"] for r in rows] == [e["event_id"] for e in stored["drift"]]
    assert {"status", "acknowledged_by", "resolved_at", "payload"} <= set(rows[0])
    high = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/export/drift", params={"format": "csv", "severity": "high"}).text
            )
        )
    )
    assert high and {r["severity"] for r in high} == {"high"}


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/runs", {"limit": 0}),
        ("/api/runs", {"limit": 1001}),
        ("/api/runs", {"since": "yesterday"}),
        ("/api/runs", {"since": "0001-01-01T00:00:00+05:00"}),  # overflows as UTC
        ("/api/runs", {"cursor": "not-a-cursor"}),
        ("/api/runs", {"status": "done"}),
        ("/api/runs", {"table": "a\x00b"}),
        ("/api/drift", {"severity": "none"}),
        ("/api/drift", {"status": "closed"}),
        ("/api/export/runs", {"format": "xml"}),
        ("/api/tables/users/metrics", {"limit": -1}),
        ("/api/dashboard/metrics", {"until": "2025-13-01"}),
    ],
)
def test_bad_parameters_are_422(client: TestClient, path: str, params: dict[str, Any]) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_cursor_of_one_list_is_keyset_not_offset(
    client: TestClient, filled: Filled, stored: Any
) -> None:
    """A run added after the first page does not shift the next page."""
    first = _get(client, "/api/runs", limit=2)
    engine = filled.storage
    try:
        with engine.begin() as conn:
            newest = dict(
                stored["runs"][0], run_id="zz-new", started_at=dt.datetime.now(dt.timezone.utc)
            )
            conn.execute(runs.insert().values(**newest))
        second = _get(client, "/api/runs", limit=2, cursor=first["next_cursor"])
        assert [r["run_id"] for r in second["items"]] == [r["run_id"] for r in stored["runs"][2:4]]
    finally:
        with engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.run_id == "zz-new"))
        engine.dispose()


def test_unready_storage_is_503(tmp_path: Path, filled: Filled) -> None:
    missing = tmp_path / "nothing-here.db"
    with TestClient(create_app(ApiOptions(db_url=f"sqlite:///{missing}"))) as c:
        assert c.get("/health").status_code == 200
        ready = c.get("/ready")
        assert ready.status_code == 503 and "unreachable" in ready.json()["detail"]
        assert c.get("/api/runs").status_code == 503
    assert not missing.exists()  # the API never creates storage
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with TestClient(create_app(ApiOptions(db_url=f"sqlite:///{empty}"))) as c:
        assert "no Baselinr tables" in c.get("/ready").json()["detail"]
        runs_page = c.get("/api/runs")
        assert runs_page.status_code == 503 and runs_page.json()["detail"].startswith(
            "storage error"
        )


def test_bytes_scanned_is_estimated_from_the_recorded_table_size(
    client: TestClient, filled: Filled, stored: Any
) -> None:
    """``metadata.estimated_bytes`` x rows scanned / rows, read in SQL on each dialect;
    a value that is not a number is ignored."""
    when = dt.datetime(2001, 6, 1, 12, tzinfo=dt.timezone.utc)
    base = dict(
        stored["runs"][0], status="completed", action="partial", started_at=when, finished_at=when
    )
    extra = [
        dict(base, run_id="bytes-1", row_count=100, rows_scanned=25, metadata=json.dumps({"estimated_bytes": 8000})),
        dict(base, run_id="bytes-2", row_count=10, rows_scanned=10, metadata=json.dumps({"estimated_bytes": "8 kB"})),
        dict(base, run_id="bytes-3", row_count=0, rows_scanned=0, metadata=json.dumps({"estimated_bytes": 5})),
    ]  # fmt: skip
    engine = filled.storage
    try:
        with engine.begin() as conn:
            conn.execute(runs.insert(), extra)
        metrics = _get(client, "/api/dashboard/metrics", since="2001-06-01", until="2001-06-02")
        assert metrics["savings"]["rows_scanned"] == 35
        assert metrics["savings"]["bytes_scanned"] == 2000
        assert [d["day"] for d in metrics["trend"]] == ["2001-06-01"]
    finally:
        with engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.run_id.in_([r["run_id"] for r in extra])))
        engine.dispose()
