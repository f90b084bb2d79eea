"""End to end: `dagster dev` on a loopback port with Postgres-backed instance storage,
the job launched over GraphQL, the run succeeding and results landing in storage."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from baselinr.demo import build_demo
from baselinr.storage.schema import runs

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def submit_when_ready(
    client: DagsterGraphQLClient, port: int, proc: subprocess.Popen[Any], log: Path
) -> str:
    """Wait for the webserver, then for the code location to load, then launch."""
    deadline = time.monotonic() + 240
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster dev exited early:\n{log.read_text()[-3000:]}")
        if "Error loading repository location" in log.read_text():
            pytest.fail(f"the code location failed to load:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                pass
            return client.submit_job_execution(
                "baselinr_profile_all",
                repository_location_name="baselinr_e2e",
                repository_name="__repository__",
            )
        except (OSError, DagsterGraphQLClientError) as exc:
            last_error = exc
            time.sleep(1)
    pytest.fail(f"could not launch the job: {last_error}\n{log.read_text()[-3000:]}")


def test_dagster_dev_runs_the_job_on_postgres_instance(tmp_path: Path, pg_server: Any) -> None:
    demo = build_demo(tmp_path / "demo")
    instance_db = sa.make_url(pg_server.create_database("dagster_instance"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {
                    "postgres": {
                        "postgres_db": {
                            "hostname": {"env": "DAGSTER_PG_HOST"},
                            "port": {"env": "DAGSTER_PG_PORT"},
                            "db_name": {"env": "DAGSTER_PG_DB"},
                            "username": {"env": "DAGSTER_PG_USER"},
                            "password": {"env": "DAGSTER_PG_PASSWORD"},
                            "scheme": "postgresql+psycopg2",
                        }
                    }
                },
                "telemetry": {"enabled": False},
            }
        )
    )
    (tmp_path / "repo.py").write_text(
        "from baselinr_dagster import build_baselinr_definitions\n"
        f"defs = build_baselinr_definitions({str(demo.config)!r})\n"
    )
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_file:\n      relative_path: repo.py\n"
        "      location_name: baselinr_e2e\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": instance_db.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(instance_db.port),
        "DAGSTER_PG_DB": instance_db.database or "",
        "DAGSTER_PG_USER": instance_db.username or "postgres",
        "DAGSTER_PG_PASSWORD": instance_db.password or "",
    }
    log = tmp_path / "dagster.log"
    dagster = Path(sys.executable).parent / "dagster"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = submit_when_ready(client, port, proc, log)
        deadline = time.monotonic() + 240
        status = None
        while time.monotonic() < deadline:
            status = client.get_run_status(run_id).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        assert status == "SUCCESS", log.read_text()[-4000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    # the run is in the Postgres-backed instance, and its results in Baselinr storage
    instance_engine = sa.create_engine(instance_db)
    with instance_engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status FROM runs WHERE run_id = :r"), {"r": run_id}
        ).scalar()
    instance_engine.dispose()
    assert row == "SUCCESS"
    store = sa.create_engine(f"sqlite:///{demo.directory / 'baselinr.db'}")
    with store.connect() as conn:
        done = (
            conn.execute(
                sa.select(runs.c.table_name).where(
                    runs.c.dagster_run_id == run_id, runs.c.status == "completed"
                )
            )
            .scalars()
            .all()
        )
    store.dispose()
    assert sorted(done) == ["customers", "events", "orders", "products"]
