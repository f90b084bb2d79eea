"""``baselinr demo --history N`` and ``baselinr serve`` as a user runs them: real
processes, a real uvicorn server on 127.0.0.1, settings from a ``.env`` file, JSON
access logs, graceful shutdown on SIGTERM."""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.demo_history import schedule
from baselinr.storage.schema import events, runs

BIN = Path(sys.executable).parent
DAYS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo_history") / "demo"
    done = subprocess.run(
        [str(BIN / "baselinr"), "demo", "--dir", str(directory), "--history", str(DAYS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count("\nday ") + done.stdout.startswith("day ") >= 2 * DAYS - 1, done.stdout
    assert f"baselinr serve -c {directory / 'baselinr.yml'}" in done.stdout
    return directory


def test_schedule_places_every_change() -> None:
    assert schedule(1) == {}
    for days in (2, 3, 7, 30):
        planned = schedule(days)
        assert sorted(c for changes in planned.values() for c in changes) == [
            "dropped column", "null burst", "skew shift"]  # fmt: skip
        assert all(1 <= day < days for day in planned)


def test_history_has_days_of_runs_skips_partials_and_drift(demo: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{demo / 'baselinr.db'}")
    try:
        with engine.connect() as conn:
            stored = [dict(r) for r in conn.execute(sa.select(runs)).mappings()]
            found = [dict(r) for r in conn.execute(sa.select(events)).mappings()]
    finally:
        engine.dispose()
    days = sorted({r["started_at"].date() for r in stored})
    assert len(days) == DAYS and (days[-1] - days[0]).days == DAYS - 1
    assert days[-1] >= dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    assert {r["action"] for r in stored} == {"full", "partial"}
    assert all(r["status"] == "completed" for r in stored)
    skipped = [e for e in found if e["event_type"] == "ProfilingSkipped"]
    assert len(skipped) >= 4 * DAYS  # every afternoon skips every table
    drift = {(e["table_name"], e["column_name"], e["metric_name"]): e for e in found
             if e["event_type"] == "DataDriftDetected"}  # fmt: skip
    assert drift[("customers", "email", "null_ratio")]["severity"] in ("medium", "high")
    assert drift[("orders", "amount", "mean")]["severity"] == "high"  # the skew shift
    removed = [e for e in found if e["event_type"] == "SchemaChangeDetected"]
    assert [(e["table_name"], e["column_name"]) for e in removed] == [("products", "in_stock")]
    # every stored timestamp was moved to its simulated day
    assert max(e["created_at"] for e in found) < dt.datetime.now(dt.timezone.utc)


def _get(port: int, path: str, expect: int = 200) -> Any:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            assert response.status == expect, path
            body = response.read()
            kind = response.headers["content-type"]
    except urllib.error.HTTPError as exc:
        assert exc.code == expect, (path, exc.code, exc.read()[:300])
        return json.loads(exc.read() or b"null")
    return json.loads(body) if kind.startswith("application/json") else body.decode()


@pytest.fixture
def served(demo: Path, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "baselinr"), "serve", "-c", str(demo / "baselinr.yml"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("BASELINR_", "API_"))},
    )
    _wait(port, server)
    yield port, server
    if server.poll() is None:
        server.kill()
        server.communicate(timeout=30)


def _wait(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited: {server.communicate()}")
        try:
            _get(port, "/health")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("the server did not answer within 60 s")


def test_serve_answers_every_endpoint_on_the_demo(
    served: tuple[int, subprocess.Popen[str]],
) -> None:
    port, server = served
    assert _get(port, "/ready")["status"] == "ready"
    metrics = _get(port, "/api/dashboard/metrics")
    assert len(metrics["trend"]) == DAYS
    assert {"skip", "partial"} <= set(metrics["savings"]["by_action"])
    assert metrics["savings"]["rows_avoided"] > metrics["savings"]["rows_scanned"] > 0
    page = _get(port, "/api/runs?limit=5")
    assert len(page["items"]) == 5 and page["next_cursor"]
    run_id = page["items"][0]["run_id"]
    assert _get(port, f"/api/runs/{run_id}")["columns"]
    drift = _get(port, "/api/drift?severity=high")["items"]
    assert drift
    assert {t["table_name"] for t in _get(port, "/api/tables")["items"]} == {
        "customers", "orders", "products", "events"}  # fmt: skip
    assert _get(port, "/api/tables/orders/metrics?column=amount&metric=mean")["series"]
    assert _get(port, "/api/tables/main.customers/state")["explanation"]
    assert _get(port, "/api/warehouses")["items"][0]["database_name"] == "warehouse"
    assert _get(port, "/api/export/runs?format=csv").startswith("run_id,batch_id")
    assert _get(port, "/api/export/drift")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/drift/{drift[0]['event_id']}/acknowledge",
        data=json.dumps({"by": "demo", "note": "seen"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["status"] == "acknowledged"
    _get(port, "/api/runs/does-not-exist", 404)

    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith('{"event"')]
    assert {"method", "path", "status", "duration_ms", "client"} <= set(lines[0])
    assert any(r["path"] == "/api/runs/does-not-exist" and r["status"] == 404 for r in lines)
    assert "baselinr API stopped" in stderr  # the lifespan ran to its end


def test_uvicorn_and_python_m_read_a_dotenv(demo: Path, tmp_path: Path) -> None:
    """``uvicorn baselinr.api:app`` and ``python -m baselinr.api`` with settings from a
    ``.env`` in the working directory (the read-only storage URL of the seed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASELINR_", "API_"))}
    for command in (
        ["-m", "uvicorn", "baselinr.api:app", "--port", "{port}"],
        ["-m", "baselinr.api"],
    ):
        port = _free_port()
        (tmp_path / ".env").write_text(
            f"BASELINR_DB_URL=sqlite:///file:{demo / 'baselinr.db'}?mode=ro&uri=true\n"
            f"API_HOST=127.0.0.1\nAPI_PORT={port}\nBASELINR_API_TOKENS=t0ken-r:read\n"
        )
        args = [a.format(port=port) for a in command]
        server = subprocess.Popen(
            [sys.executable, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            _wait(port, server)
            assert _get(port, "/ready")["backend"] == "sqlite"
            _get(port, "/api/runs", 401)
            authorised = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/warehouses",
                headers={"Authorization": "Bearer t0ken-r"},
            )
            with urllib.request.urlopen(authorised, timeout=30) as response:
                assert json.loads(response.read())["items"]
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=30)
        assert "Application shutdown complete" in stderr
        # uvicorn's own CLI ends by re-raising SIGTERM; ours exits 0
        assert server.returncode == (-signal.SIGTERM if "uvicorn" in args else 0), stderr
