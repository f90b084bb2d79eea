"""The fault suite: what a hostile tester does to Baselinr — kill it, stop its
databases, run it three times at once, point it at bad webhooks, plant secrets, name
tables badly, write catastrophic regexes and YAML bombs — and what must hold after.

Helpers: a Postgres cluster of its own that tests may stop and start (``victim``),
the CLI in-process (``cli``) or as a real process (``spawn``), and the storage
invariants a killed or failed batch must keep (``check_invariants``)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner, Result

from baselinr.cli import main
from tests.support.pgcluster import PostgresCluster, cluster_for_tests


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200", **(env or {})})


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``baselinr ARGS`` as its own process (stdout and stderr captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "baselinr.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def write_config(path: Path, **data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


class Victim:
    """A Postgres cluster this module may stop (a crash: immediate mode) and start."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster

    def url(self, database: str) -> str:
        return self.cluster.url(database)

    def create_database(self, name: str) -> str:
        return self.cluster.create_database(name)

    def stop(self) -> None:
        self.cluster.halt()

    def start(self) -> None:
        self.cluster.launch(durable=True)


@pytest.fixture(scope="session")
def victim() -> Iterator[Victim]:
    cluster = cluster_for_tests()
    victim = Victim(cluster)
    victim.stop()
    victim.start()  # with durable commits
    yield victim
    cluster.stop()


def rows_of(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings()]


def check_invariants(storage: sa.Engine, metrics_per_column: int) -> dict[str, str]:
    """The promises a killed or failed batch keeps; returns run_id -> status.

    1. no completed run lacks results: every completed run has one row per column
       and metric;
    2. no results of a run that is not completed;
    3. no state (table or partition) points at a run that is not completed."""
    runs = {r["run_id"]: r for r in rows_of(storage, "baselinr_runs")}
    counts: dict[str, int] = {}
    for row in rows_of(storage, "baselinr_results"):
        counts[row["run_id"]] = counts.get(row["run_id"], 0) + 1
    for run_id, run in runs.items():
        if run["status"] == "completed":
            expected = run["column_count"] * metrics_per_column
            assert counts.get(run_id) == expected, (run_id, counts.get(run_id), expected)
    orphans = {r for r in counts if runs.get(r, {}).get("status") != "completed"}
    assert not orphans, f"results of runs that are not completed: {orphans}"
    for table in ("baselinr_table_state", "baselinr_partition_state"):
        for row in rows_of(storage, table):
            last = row["last_run_id"]
            assert last is None or runs[last]["status"] == "completed", (table, row)
    return {r: run["status"] for r, run in runs.items()}
