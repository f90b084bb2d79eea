"""Table and column names a hostile user can create: rich markup (``[/]``,
``[bold]``), terminal escapes (``ESC[2J``, ``ESC]0;title BEL``), carriage returns and
newlines, bidi overrides, quotes and SQL — and a 1,600-column table of such names.
``plan``, ``profile``, ``tables``, ``status`` and ``drift`` print them escaped and
complete the batch; JSON keeps them exact; NUL in a name is a config error."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import cli, write_config

NAMES = [
    "[/]",
    "[bold red]x[/bold red]",
    "clear\x1b[2Jscreen",
    "title\x1b]0;pwned\x07",
    "car\rriage",
    "new\nline",
    "bidi\u202egnp.exe",
    'we"ird; drop table x',
]


def _project(tmp_path: Path, engine_kind: str, pg_url: str | None = None) -> tuple[Path, sa.Engine]:
    url = pg_url if engine_kind == "postgres" else f"sqlite:///{tmp_path / 'w.db'}"
    assert url is not None
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    for k, name in enumerate(NAMES):
        sa.Table(name, metadata, sa.Column(f"c{k}[/]\x1b[31m", sa.Integer), sa.Column("v", sa.Text))
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(
                table.insert(), [{table.c[0].name: i, "v": f"[i]{i}\x1b[0m"} for i in range(5)]
            )
    config = write_config(
        tmp_path / "b.yml",
        source={"url": url},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={"tables": [{"pattern": "*"}]},
        incremental={"enabled": True},
    )
    return config, engine


def _clean(output: str) -> None:
    assert "\x1b" not in output and "\r" not in output and "\u202e" not in output, repr(output)
    assert "Traceback" not in output and "MarkupError" not in output


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgres"])
def test_every_command_prints_hostile_names_safely(
    tmp_path: Path, engine_kind: str, request: pytest.FixtureRequest
) -> None:
    pg_url = request.getfixturevalue("pg_url") if engine_kind == "postgres" else None
    config, engine = _project(tmp_path, engine_kind, pg_url)
    for command in ("plan", "tables", "profile", "status", "drift"):
        result = cli(command, "-c", str(config))
        assert result.exit_code == 0, (command, result.output)
        _clean(result.output)
        if command in ("plan", "profile", "tables"):
            assert "[/]" in result.output and "clear\\x1b[2Jscreen" in result.output
            assert "new\\nline" in result.output
    listed = json.loads(cli("tables", "-c", str(config), "--json").stdout)
    assert sorted(t["table"] for t in listed["entries"][0]["tables"]) == sorted(NAMES)
    profiled = json.loads(cli("profile", "-c", str(config), "--json").stdout)
    assert profiled["summary"]["failed"] == 0 and len(profiled["tables"]) == len(NAMES)
    engine.dispose()


def test_a_nul_in_a_configured_name_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={"tables": [{"table": "a\x00b"}]},
    )
    result = cli("profile", "-c", str(config))
    assert result.exit_code == 2 and "contains a NUL character" in result.output


def test_1600_hostile_columns_through_the_cli(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    names = [f"{NAMES[k % len(NAMES)]}#{k}" for k in range(1600)]
    table = sa.Table("[wide]\x1b[2J", sa.MetaData(), *[sa.Column(n, sa.Integer) for n in names])
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{n: k + i for k, n in enumerate(names)} for i in range(3)])
    engine.dispose()
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={"metrics": ["count", "null_ratio", "min", "max"], "tables": [{"pattern": "*"}]},
    )
    result = cli("profile", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)["tables"]
    assert outcome["status"] == "completed" and outcome["columns"] == 1600
    text = cli("status", "-c", str(config))
    assert text.exit_code == 0 and "[wide]\\x1b[2J" in text.output
    _clean(text.output)
