"""API auth (bearer scopes), CORS, loopback-only without tokens, no secret in any
response, and the read endpoints under a read-only Postgres role and a SQLite file
opened read-only."""

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from baselinr.api import create_app
from baselinr.api.application import LoopbackOnly
from baselinr.api.auth import Tokens
from baselinr.api.settings import ApiOptions, ApiSettings, resolve_options
from baselinr.cli import main
from baselinr.config import load_config
from baselinr.errors import ConfigError
from baselinr.storage.schema import events, runs, table_state
from tests.support.api_data import Filled, fill

PASSWORD = "Pw-7f3kQz9-planted"  # distinctive: found anywhere means leaked
READ_TOKEN = "rd-token-5b1c7e2a9d"
TRIAGE_TOKEN = "tr-token-0c4f8e6b3a"

# every GET endpoint, with parameters that reach data
READS = [
    ("/api/dashboard/metrics", {}),
    ("/api/runs", {"limit": 1000}),
    ("/api/drift", {"limit": 1000}),
    ("/api/tables", {}),
    ("/api/tables/users/metrics", {}),
    ("/api/tables/users/state", {}),
    ("/api/warehouses", {}),
    ("/api/export/runs", {"format": "json"}),
    ("/api/export/runs", {"format": "csv"}),
    ("/api/export/drift", {"format": "json"}),
    ("/api/export/drift", {"format": "csv"}),
]


@pytest.fixture(scope="module")
def pg_filled(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Filled:
    directory = tmp_path_factory.mktemp("api_security")
    url = sa.make_url(pg_server.create_database("api_security")).set(password=PASSWORD)
    return fill(directory, {"connection": {"url": url.render_as_string(hide_password=False)}})


def _every_read(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, str]:
    bodies = {}
    runs_page = client.get("/api/runs", headers=headers).json()["items"]
    paths = [*READS, *((f"/api/runs/{r['run_id']}", {}) for r in runs_page)]
    for path, params in paths:
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        bodies[f"{path}?{params}"] = response.text
    return bodies


# --- auth ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(pg_filled: Filled) -> Iterator[TestClient]:
    options = ApiOptions(
        db_url=pg_filled.storage_url,
        tokens={READ_TOKEN: "read", TRIAGE_TOKEN: "triage"},
        cors_origins=("http://localhost:3000",),
    )
    with TestClient(create_app(options)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_api_request_needs_a_token(secured: TestClient) -> None:
    for path, params in READS:
        missing = secured.get(path, params=params)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = secured.get(path, params=params, headers=_bearer(READ_TOKEN + "x"))
        assert wrong.status_code == 401 and wrong.json() == {"detail": "invalid bearer token"}
        assert secured.get(path, params=params, headers=_bearer(READ_TOKEN[:-1])).status_code == 401
        basic = secured.get(path, params=params, headers={"Authorization": f"Basic {READ_TOKEN}"})
        assert basic.status_code == 401
    for open_path in ("/", "/health", "/ready", "/openapi.json", "/docs", "/redoc"):
        assert secured.get(open_path).status_code == 200, open_path
    assert _every_read(secured, _bearer(READ_TOKEN))
    assert _every_read(secured, _bearer(TRIAGE_TOKEN))


def test_triage_needs_the_triage_scope(secured: TestClient) -> None:
    event = secured.get("/api/drift", headers=_bearer(READ_TOKEN)).json()["items"][0]
    path = f"/api/drift/{event['event_id']}/acknowledge"
    assert secured.post(path, json={"by": "x"}).status_code == 401
    denied = secured.post(path, json={"by": "x"}, headers=_bearer(READ_TOKEN))
    assert denied.status_code == 403 and "read" in denied.json()["detail"]
    done = secured.post(path, json={"by": "x"}, headers=_bearer(TRIAGE_TOKEN))
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"


def test_tokens_are_compared_whole() -> None:
    tokens = Tokens({"abc123": "read", "zzz999": "triage"})
    assert tokens.scope_of("abc123") == "read" and tokens.scope_of("zzz999") == "triage"
    for wrong in ("", "abc12", "abc1234", "ABC123", "abc123 "):
        assert tokens.scope_of(wrong) is None


def test_cors_only_for_configured_origins(secured: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = secured.options("/api/runs", headers={"Origin": "http://localhost:3000", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
    evil = secured.options("/api/runs", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    simple = secured.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_without_tokens_only_loopback_sockets_are_served() -> None:
    """The guard looks at the socket the request came in on (ASGI ``server``); the
    scopes here are built by hand: no network is involved."""
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["server"][0])

    guard = LoopbackOnly(inner)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    def call(host: str) -> None:
        scope = {
            "type": "http",
            "server": (host, 8000),
            "method": "GET",
            "path": "/",
            "headers": [],
        }
        asyncio.run(guard(scope, receive, send))

    for host in ("127.0.0.1", "127.0.0.2", "::1", "testserver"):
        call(host)
    assert seen == ["127.0.0.1", "127.0.0.2", "::1", "testserver"] and not sent
    call("192.0.2.10")  # TEST-NET-1: any non-loopback address
    assert sent[0]["status"] == 403 and "BASELINR_API_TOKENS" in sent[1]["body"].decode()


def test_serve_refuses_a_public_address_without_tokens(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--host", "0.0.0.0", "--port", "1"],
        env={"BASELINR_DB_URL": f"sqlite:///{tmp_path / 's.db'}", "BASELINR_API_TOKENS": ""},
    )
    assert result.exit_code == 2, result.output
    assert "refusing to serve on 0.0.0.0 without API tokens" in result.output
    assert "--insecure" in result.output


def test_bad_token_settings_are_clear_errors_without_the_token(tmp_path: Path) -> None:
    settings = ApiSettings(db_url="sqlite:///x.db", tokens="s3cr3t-value:admin")
    with pytest.raises(ConfigError) as raised:
        resolve_options(settings)
    assert "unknown scope 'admin'" in str(raised.value) and "s3cr3t-value" not in str(raised.value)
    path = tmp_path / "b.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "source": {"type": "sqlite", "filepath": "w.db"},
                "storage": {"connection": {"type": "sqlite", "filepath": "s.db"}},
                "api": {"tokens": ["s3cr3t-value"]},
            }
        )
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "api.tokens" in str(raised.value) and "s3cr3t-value" not in str(raised.value)


# --- no secret in any response --------------------------------------------------------------------


def _plant(filled: Filled, secret: str) -> None:
    """Put the secret where stored free text could carry it: a driver error, run
    metadata, an event's reason and payload, the state's reason, a database name."""
    engine = filled.storage
    try:
        with engine.begin() as conn:
            run_id = (
                conn.execute(sa.select(runs.c.run_id).where(runs.c.table_name == "users"))
                .scalars()
                .first()
            )
            dsn = f"postgresql://postgres:{secret}@db.internal:5432/x?password={secret}"
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                error=f"OperationalError: could not connect to {dsn}",
                metadata=json.dumps({"dsn": dsn, "statements": 2, secret: [secret, {"k": secret}]}),
            ))  # fmt: skip
            conn.execute(runs.update().where(runs.c.table_name == "sampled").values(
                database_name=f"wh-{secret}"))  # fmt: skip
            event_id = conn.execute(sa.select(events.c.event_id).where(
                events.c.event_type == "SchemaChangeDetected")).scalars().first()  # fmt: skip
            conn.execute(events.update().where(events.c.event_id == event_id).values(
                reason=f"changed by token {secret}", payload=json.dumps({"change": "removed", "who": secret})))  # fmt: skip
            conn.execute(table_state.update().where(table_state.c.table_name == "users").values(
                decision_reason=f"weird {secret}", metadata=json.dumps({"note": secret})))  # fmt: skip
    finally:
        engine.dispose()


def test_no_secret_in_any_response(
    pg_filled: Filled, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the planted password in every position of a config the API loads
    storage_url = sa.make_url(pg_filled.storage_url).set(password=PASSWORD)
    config_path = tmp_path / "serve.yml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "source": {"type": "postgres", "host": "127.0.0.1", "database": "wh",
                           "username": "u", "password": PASSWORD},
                "storage": {"connection": {"url": storage_url.render_as_string(hide_password=False)},
                            "create_tables": False},
                "hooks": {"hooks": [{"type": "webhook", "url": f"https://hooks.example.invalid/{PASSWORD}",
                                     "headers": {"Authorization": f"Bearer {PASSWORD}"}}]},
                "api": {"tokens": f"{READ_TOKEN}:read,{TRIAGE_TOKEN}:triage"},
            }
        )
    )  # fmt: skip
    options = resolve_options(ApiSettings(config_path=config_path, tokens=None))
    assert options.tokens == {READ_TOKEN: "read", TRIAGE_TOKEN: "triage"}
    _plant(pg_filled, PASSWORD)
    _plant_tokens = f"see {READ_TOKEN} and {TRIAGE_TOKEN}"
    secrets = (PASSWORD, READ_TOKEN, TRIAGE_TOKEN)
    caplog.set_level(logging.INFO, logger="baselinr.api")
    with TestClient(create_app(options)) as client:
        auth = _bearer(TRIAGE_TOKEN)
        event = client.get("/api/drift", headers=auth).json()["items"][-1]
        triaged = client.post(
            f"/api/drift/{event['event_id']}/acknowledge",
            json={"by": f"ops {PASSWORD}", "note": _plant_tokens},
            headers=auth,
        )
        bodies = _every_read(client, auth)
        bodies["triage"] = triaged.text
        bodies["404"] = client.get(f"/api/runs/{PASSWORD}", headers=auth).text
        bodies["404 table"] = client.get(f"/api/tables/{READ_TOKEN}/state", headers=auth).text
        bodies["422"] = client.get("/api/runs", params={"since": PASSWORD}, headers=auth).text
        for path in ("/", "/ready", "/openapi.json"):
            bodies[path] = client.get(path).text
    assert triaged.status_code == 200 and triaged.json()["acknowledged_by"] == "ops ***"
    planted = [b for b in bodies.values() if "***" in b]
    assert len(planted) >= 8  # the planted values were returned, masked
    for name, body in bodies.items():
        for secret in secrets:
            assert secret not in body, (name, secret)
    warehouses = json.loads(bodies["/api/warehouses?{}"])["items"]
    assert all(
        set(w) == {"database_name", "environment", "tables", "runs", "last_run_at"}
        for w in warehouses
    )
    assert not any(
        "://" in str(w["database_name"]) or "@" in str(w["database_name"]) for w in warehouses
    )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert '"path": "/api/runs/***"' in logged  # access log lines are JSON, redacted
    for secret in secrets:
        assert secret not in logged


def test_unreachable_storage_names_no_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:{PASSWORD}@127.0.0.1:1/nowhere"
    with TestClient(create_app(resolve_options(ApiSettings(db_url=url)))) as client:
        ready = client.get("/ready")
        runs_page = client.get("/api/runs")
    assert ready.status_code == 503 and "unreachable" in ready.json()["detail"]
    assert runs_page.status_code == 503
    assert PASSWORD not in ready.text + runs_page.text


# --- read-only storage ---------------------------------------------------------------------------------


def test_read_only_postgres_role_serves_every_read(pg_filled: Filled, pg_server: Any) -> None:
    admin = sa.create_engine(pg_filled.storage_url)
    database = sa.make_url(pg_filled.storage_url).database
    try:
        with admin.begin() as conn:
            for role in ("api_reader", "api_triager"):
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
                conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
                conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
                conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
                conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
            conn.exec_driver_sql("ALTER ROLE api_reader SET default_transaction_read_only = on")
            conn.exec_driver_sql(
                "GRANT UPDATE (triage_status, acknowledged_by, acknowledged_at, acknowledged_note,"
                " resolved_by, resolved_at, resolved_note) ON baselinr_events TO api_triager"
            )
    finally:
        admin.dispose()
    base = sa.make_url(pg_filled.storage_url)
    reader = base.set(username="api_reader").render_as_string(hide_password=False)
    with TestClient(create_app(ApiOptions(db_url=reader))) as client:
        assert client.get("/ready").status_code == 200
        assert _every_read(client)
        event_id = client.get("/api/drift", params={"status": "open"}).json()["items"][0][
            "event_id"
        ]
        refused = client.post(f"/api/drift/{event_id}/resolve", json={"by": "r"})
        assert refused.status_code == 503 and "read-only" in refused.json()["detail"]
    triager = base.set(username="api_triager").render_as_string(hide_password=False)
    with TestClient(create_app(ApiOptions(db_url=triager))) as client:
        done = client.post(f"/api/drift/{event_id}/resolve", json={"by": "t", "note": "ok"})
        assert done.status_code == 200 and done.json()["resolved_by"] == "t"


def test_read_only_sqlite_serves_every_read(tmp_path: Path) -> None:
    storage = tmp_path / "storage.db"
    fill(tmp_path, {"connection": {"type": "sqlite", "filepath": str(storage)}})
    url = f"sqlite:///file:{storage}?mode=ro&uri=true"
    with TestClient(create_app(ApiOptions(db_url=url))) as client:
        assert client.get("/ready").status_code == 200
        assert _every_read(client)
        event_id = client.get("/api/drift").json()["items"][0]["event_id"]
        refused = client.post(f"/api/drift/{event_id}/acknowledge", json={"by": "r"})
        assert refused.status_code == 503 and "readonly" in refused.json()["detail"]
