"""A throwaway PostgreSQL cluster for tests and benchmarks.

initdb into a temp directory, start on a free loopback port, stop and delete on
close. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user (through runuser). Set BASELINR_TEST_PG_URL to use an existing
server instead.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa


class ClusterUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise ClusterUnavailable(f"{name} not found: install PostgreSQL (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(admin_url: str, name: str, url: str) -> str:
    """(Re)create database ``name`` through ``admin_url``; returns ``url``."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url


def cluster_for_tests() -> "PostgresCluster":
    """A started cluster, or the test session fails (CI) or skips (elsewhere)."""
    import pytest

    cluster = PostgresCluster()
    try:
        return cluster.start()
    except ClusterUnavailable as exc:
        cluster.stop()
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL and none could be started: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


class PostgresCluster:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="baselinr-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.started = False
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresCluster":
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        os.chmod(self.directory, 0o700)
        result = self._run(
            _binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--locale=C", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterUnavailable(f"initdb failed: {result.stderr.strip()}")
        return self.launch()

    def launch(self, *, durable: bool = False) -> "PostgresCluster":
        """Start the server on the data directory (made by ``start``, or kept).
        ``durable``: commits survive a crash of the server (synchronous_commit on), as
        on a real one, for tests that crash it."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=256MB" + ("" if durable else " -c synchronous_commit=off")
        )
        result = self._run(
            _binary("pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        if result.returncode != 0:
            log = (self.directory / "log").read_text() if (self.directory / "log").exists() else ""
            raise ClusterUnavailable(f"pg_ctl start failed: {result.stderr.strip()} {log[-2000:]}")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        return create_database(self.url(), name, self.url(name))

    def halt(self) -> None:
        """Stop the server at once (a crash: immediate mode), keeping its data."""
        if self.started:
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "PostgresCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ExistingServer:
    """BASELINR_TEST_PG_URL: a server someone else runs (databases are created in it)."""

    def __init__(self, url: str) -> None:
        self.base = sa.make_url(url)

    def url(self, database: str = "postgres") -> str:
        return self.base.set(database=database).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        return create_database(self.url(), name, self.url(name))

    def stop(self) -> None:
        pass


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine = sa.create_engine(url)
            with engine.connect():
                engine.dispose()
                return
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
