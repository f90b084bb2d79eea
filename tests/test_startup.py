"""Process start-up: a command imports what it uses. ``baselinr --help`` loads neither
SQLAlchemy nor pydantic nor rich; a SQLite or Postgres profile loads no DuckDB,
Dagster, API server, dataframe library or (once the storage schema is current)
Alembic. Asserted on ``sys.modules`` of a real ``baselinr`` process, never on time
(``bench/profile_bench.py`` times it)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tests.support.warehouse import create_table

# The console script is ``from baselinr.cli import main; sys.exit(main())``: the same,
# then the names of every module the process imported, written to argv[1].
WRAPPER = """
import sys
out, sys.argv = sys.argv[1], ["baselinr", *sys.argv[2:]]
try:
    from baselinr.cli import main
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(out, "w") as f:
    f.write(__import__("json").dumps(sorted(sys.modules)))
sys.exit(code)
"""

# Never needed by the CLI's core commands (serve imports the API on purpose).
NEVER = (
    "duckdb",
    "duckdb_engine",
    "dagster",
    "baselinr_dagster",
    "baselinr.api",
    "fastapi",
    "uvicorn",
    "starlette",
    "pandas",
    "numpy",
    "pyarrow",
)
UPGRADE_ONLY = ("alembic", "mako", "pygments")


def imported(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    return done, set(json.loads(out.read_text()))


def loaded(modules: set[str], *packages: str) -> set[str]:
    """Which of ``packages`` (or a submodule of them) are in ``modules``."""
    return {p for p in packages for m in modules if m == p or m.startswith(p + ".")}


def test_help_imports_click_and_little_else(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "profile" in done.stdout and "Commands" in done.stdout
    assert "click" in modules and "baselinr.cli" in modules
    heavy = ("sqlalchemy", "pydantic", "rich", "yaml", "baselinr.config", *NEVER, *UPGRADE_ONLY)
    assert loaded(modules, *heavy) == set()


def _config(tmp_path: Path, source: dict[str, Any]) -> Path:
    path = tmp_path / "baselinr.yml"
    config = {
        "source": source,
        "storage": {"connection": {"type": "sqlite", "filepath": "store.db"}},
        "profiling": {"tables": [{"table": "orders"}]},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _orders(engine: sa.Engine) -> None:
    columns = [("id", sa.Integer()), ("amount", sa.Double()), ("note", sa.Text())]
    rows = [{"id": k, "amount": k * 1.5, "note": f"n{k % 4}"} for k in range(50)]
    create_table(engine, "orders", columns, rows)
    engine.dispose()


def _profile_twice(tmp_path: Path, config: Path) -> tuple[set[str], set[str]]:
    runs = []
    for _ in range(2):
        done, modules = imported(tmp_path, "profile", "-c", str(config), "--json")
        assert done.returncode == 0, done.stderr
        (table,) = json.loads(done.stdout)["tables"]
        assert (table["status"], table["row_count"]) == ("completed", 50), table
        runs.append(modules)
    return runs[0], runs[1]


def test_sqlite_profile_imports_no_other_engine_nor_alembic_once_current(tmp_path: Path) -> None:
    _orders(sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    config = _config(tmp_path, {"type": "sqlite", "filepath": "w.db"})
    first, second = _profile_twice(tmp_path, config)
    # the first run creates the storage tables: that is what Alembic is for
    assert "alembic" in loaded(first, "alembic")
    assert loaded(first, *NEVER) == set()
    # the second finds them current with one SELECT of the version table; the other
    # engines' modules stay unloaded (Alembic's upgrade loads every dialect it knows)
    assert loaded(second, *NEVER, *UPGRADE_ONLY) == set()
    assert loaded(second, "sqlalchemy.dialects.postgresql", "psycopg2", "psycopg") == set()
    assert "baselinr.connectors.sqlite" in second


@pytest.mark.postgres
def test_postgres_profile_imports_no_other_engine(tmp_path: Path, pg_url: str) -> None:
    _orders(sa.create_engine(pg_url))
    config = _config(tmp_path, {"url": pg_url})
    _, second = _profile_twice(tmp_path, config)
    assert loaded(second, *NEVER, *UPGRADE_ONLY) == set()
    assert {"psycopg2", "baselinr.connectors.postgres"} <= second
    assert "baselinr.connectors.duckdb" not in second


def test_static_revisions_are_alembics() -> None:
    """The start-up check reads the migration scripts itself: it must see what
    Alembic sees (a new migration with an unusual header fails here first)."""
    from alembic.script import ScriptDirectory

    from baselinr.storage import migrate

    scripts = ScriptDirectory.from_config(migrate._config())
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {s.revision for s in scripts.walk_revisions()}
