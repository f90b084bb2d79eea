"""The ``baselinr`` command: profile, status, tables, demo; exit codes 0/1/2 (DESIGN
§4b); an unreachable warehouse is one line naming the host, never the password."""

import datetime as dt
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner, Result

from baselinr.cli import main
from baselinr.storage import Storage
from baselinr.storage.writer import RunRecord
from tests.support.warehouse import create_table

SECRET = "s3cr3t-Pa55"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200", **(env or {})})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A SQLite warehouse with three tables and a config next to it."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    columns = [("id", sa.Integer()), ("amount", sa.Double()), ("day", sa.Date())]
    rows = [{"id": k, "amount": k * 1.5, "day": dt.date(2024, 1, 1 + k % 3)} for k in range(30)]
    for name in ("orders", "fct_a", "fct_b"):
        create_table(engine, name, columns, rows)
    engine.dispose()
    config = {
        "environment": "cli",
        "source": {"type": "sqlite", "filepath": "w.db"},
        "storage": {"connection": {"type": "sqlite", "filepath": "store.db"}},
        "profiling": {
            "tables": [
                {"table": "orders", "partition": {"key": "day", "strategy": "latest"}},
                {"name": "facts", "pattern": "fct_*"},
            ]
        },
    }
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_profile_status_tables(project: Path) -> None:
    result = run("profile", "-c", str(project))
    assert result.exit_code == 0, result.output
    assert "main.orders" in result.output and "completed" in result.output
    assert "Summary: 3 full" in result.output

    status = run("status", "-c", str(project), "--json")
    assert status.exit_code == 0
    runs = json.loads(status.stdout)["runs"]
    assert sorted(r["table_name"] for r in runs) == ["fct_a", "fct_b", "orders"]
    assert {r["status"] for r in runs} == {"completed"}
    assert {r["row_count"] for r in runs} == {10, 30}  # latest partition of orders: 10 rows
    assert all(r["started_at"].endswith("+00:00") for r in runs)

    text = run("status", "-c", str(project), "--limit", "1", "--table", "main.fct_b")
    assert text.exit_code == 0 and "main.fct_b" in text.output and "orders" not in text.output

    tables = run("tables", "-c", str(project), "--json")
    assert tables.exit_code == 0
    assert json.loads(tables.stdout) == {
        "entries": [
            {"index": 0, "selector": "orders", "tables": [{"schema": "main", "table": "orders"}]},
            {
                "index": 1,
                "selector": "fct_*",
                "tables": [
                    {"schema": "main", "table": "fct_a"},
                    {"schema": "main", "table": "fct_b"},
                ],
            },
        ],
        "warnings": [],
    }
    assert "facts" in run("tables", "-c", str(project)).output


def test_profile_json_and_table_filter(project: Path) -> None:
    result = run("profile", "-c", str(project), "--table", "fct_b", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)  # nothing but JSON on stdout
    assert data["summary"]["full"] == 1 and data["summary"]["failed"] == 0
    (table,) = data["tables"]
    assert (table["schema"], table["table"], table["status"]) == ("main", "fct_b", "completed")
    assert table["row_count"] == 30 and table["columns"] == 3 and table["statements"] <= 3

    qualified = run("profile", "-c", str(project), "-t", "main.orders", "--json")
    assert [t["table"] for t in json.loads(qualified.stdout)["tables"]] == ["orders"]


def test_status_without_runs_and_with_a_stale_run(project: Path) -> None:
    assert "No runs yet" in run("status", "-c", str(project)).output
    from baselinr.config import load_config

    storage = Storage.open(load_config(project).storage)
    storage.writer.start(
        RunRecord(
            run_id="killed-run",
            batch_id="b",
            database_name="w",
            schema_name="main",
            table_name="orders",
            environment="cli",
            action="full",
            started_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3),
        )
    )
    storage.engine.dispose()
    result = run("status", "-c", str(project))
    assert result.exit_code == 0 and "stale: no heartbeat since" in result.output
    assert "killed?" in result.output
    data = json.loads(run("status", "-c", str(project), "--json").stdout)
    assert data["runs"][0]["stale"] is True


def test_a_failed_run_exits_1(project: Path) -> None:
    data = yaml.safe_load(project.read_text())
    data["profiling"]["tables"][0]["partition"]["key"] = "no_such_column"
    project.write_text(yaml.safe_dump(data))
    result = run("profile", "-c", str(project))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "error: 1 table(s) failed: main.orders"
    assert "partition key 'no_such_column' is not a column of main.orders" in result.output
    status = json.loads(run("status", "-c", str(project), "--json").stdout)["runs"]
    failed = [r for r in status if r["status"] == "failed"]
    assert [r["table_name"] for r in failed] == ["orders"]
    assert "no_such_column" in failed[0]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile"], "Missing option '-c' / '--config'"),
        (["profile", "-c", "/nonexistent/baselinr.yml"], "config file not found"),
        (["nosuchcommand"], "No such command"),
        (["profile", "-c", "{project}", "--table", "nope"], "no configured table matches nope"),
        (["status", "-c", "{project}", "--limit", "many"], "'many' is not a valid integer"),
    ],
)
def test_bad_usage_exits_2(project: Path, args: list[str], message: str) -> None:
    result = run(*[a.format(project=project) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_config_path_from_the_environment(project: Path) -> None:
    result = run("tables", env={"BASELINR_CONFIG": str(project)})
    assert result.exit_code == 0 and "fct_a" in result.output


def test_a_missing_sqlite_warehouse_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "baselinr.yml"
    path.write_text(
        "source: {type: sqlite, filepath: missing.db}\n"
        "storage: {connection: {type: sqlite, filepath: s.db}}\n"
        "profiling: {tables: [{table: t}]}\n"
    )
    result = run("profile", "-c", str(path))
    assert result.exit_code == 2
    assert result.output == f"error: SQLite database file not found: {tmp_path / 'missing.db'}\n"
    assert not (tmp_path / "missing.db").exists()  # and it was not created


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", ["profile", "tables", "status"])
def test_unreachable_postgres_is_one_line_without_the_password(
    tmp_path: Path, command: str
) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg2://bob:{SECRET}@127.0.0.1:{port}/analytics"
    path = tmp_path / "baselinr.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "source": {"url": url},
                "storage": {"connection": {"url": url}},
                "profiling": {"tables": [{"table": "t"}]},
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "baselinr.cli", command, "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "40"},
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    what = "result storage" if command == "status" else "warehouse"
    assert lines[0].startswith(f"error: cannot connect to the {what} at ")
    assert f"127.0.0.1:{port}" in lines[0] and "bob:***@" in lines[0]
    assert SECRET not in done.stderr


def test_demo_builds_a_warehouse_that_profiles(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = run("demo", "--dir", str(directory))
    assert result.exit_code == 0
    assert (directory / "warehouse.db").exists() and (directory / "baselinr.yml").exists()
    assert "100,500 rows" in result.output
    again = run("demo", "--dir", str(directory))
    assert again.exit_code == 2 and "pass --force" in again.output
    assert run("demo", "--dir", str(directory), "--force").exit_code == 0
    config = str(directory / "baselinr.yml")
    profiled = run("profile", "-c", config, "--json")
    assert profiled.exit_code == 0, profiled.output
    tables = {t["table"]: t for t in json.loads(profiled.stdout)["tables"]}
    assert set(tables) == {"customers", "orders", "products", "events"}
    assert tables["orders"]["row_count"] == 60_000
    # at most 3, plus one on a table's first profile for the quantile edges of skewed
    # columns (orders: profiled by partition, so the edges need a statement of their own)
    assert all(t["status"] == "completed" and t["statements"] <= 4 for t in tables.values())


def test_demo_on_duckdb(tmp_path: Path, make_config: Callable[..., Any]) -> None:
    directory = tmp_path / "duck"
    assert run("demo", "--dir", str(directory), "--engine", "duckdb").exit_code == 0
    profiled = run("profile", "-c", str(directory / "baselinr.yml"), "--json")
    assert profiled.exit_code == 0, profiled.output
    rows = {t["table"]: t["row_count"] for t in json.loads(profiled.stdout)["tables"]}
    assert rows == {"customers": 5000, "orders": 60000, "products": 500, "events": 35000}
