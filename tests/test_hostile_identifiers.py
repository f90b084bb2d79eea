"""Names that break string-built SQL: quotes, semicolons, spaces, unicode, reserved
words, percent signs, dots, rich markup. They profile correctly on SQLite, PostgreSQL
and DuckDB, land in storage verbatim, print in the CLI, and nothing is dropped."""

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from baselinr.cli import main
from baselinr.config import BaselinrConfig
from baselinr.config.models import PartitionConfig, SamplingConfig
from baselinr.runner import ProfileRunner
from tests.conftest import source_block
from tests.support.reference import check_column
from tests.support.warehouse import (
    ALL_METRICS,
    create_table,
    metrics_by_column,
    profile,
    profile_by_group,
)

TABLE = 'we"ird; drop table x'
SCHEMA = 'sch"ema; drop table x --'
COLUMNS = [
    ('we"ird; drop table x', sa.Integer()),
    ("has space", sa.Double()),
    ("ünïcødé 名前", sa.Text()),
    ("select", sa.Integer()),
    ("order", sa.Text()),
    ("it's", sa.Double()),
    ("%(p)s %s %%", sa.Integer()),
    ("a.b", sa.Integer()),
    ("[/]", sa.Text()),
    ("x-- comment", sa.Integer()),
]


def _rows(n: int = 200) -> list[dict[str, Any]]:
    rng = random.Random(13)
    words = ["'; drop table x; --", 'say "hi"', "[bold]x[/]", "%s", "名前"]
    out = []
    for _ in range(n):
        out.append(
            {
                'we"ird; drop table x': rng.randint(0, 9),
                "has space": rng.gauss(0, 1) if rng.random() < 0.9 else None,
                "ünïcødé 名前": rng.choice(words),
                "select": rng.randint(-5, 5),
                "order": rng.choice([*words, None]),
                "it's": rng.random() * 100,
                "%(p)s %s %%": rng.randint(0, 1000),
                "a.b": rng.choice([1, 2, None]),
                "[/]": rng.choice(words),
                "x-- comment": rng.randint(0, 3),
            }
        )
    return out


def _schema(engine: sa.Engine) -> str | None:
    return None if engine.dialect.name == "sqlite" else SCHEMA


def _victim_alive(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM x")).scalar() == 1


@pytest.fixture
def hostile(warehouse: sa.Engine) -> tuple[sa.Engine, list[dict[str, Any]]]:
    create_table(warehouse, "x", [("id", sa.Integer())], [{"id": 1}])
    rows = _rows()
    create_table(warehouse, TABLE, COLUMNS, rows, schema=_schema(warehouse))
    return warehouse, rows


def test_profile_with_hostile_names(hostile: tuple[sa.Engine, list[dict[str, Any]]]) -> None:
    engine, rows = hostile
    result, seen = profile(engine, TABLE, ALL_METRICS, schema=_schema(engine))
    assert result.rows == len(rows)
    assert [c.column.name for c in result.columns] == [name for name, _ in COLUMNS]
    problems = []
    for name, metrics in metrics_by_column(result).items():
        problems += check_column(name, metrics, [r[name] for r in rows])
    assert not problems, "\n".join(problems)
    assert _victim_alive(engine)
    assert all("drop table x" not in s.split('"')[0] for s in seen)  # only ever inside quotes


def test_filters_groups_and_samples_with_hostile_names(
    hostile: tuple[sa.Engine, list[dict[str, Any]]],
) -> None:
    engine, rows = hostile
    key = 'we"ird; drop table x'
    schema = _schema(engine)
    chosen = [r for r in rows if r[key] in (1, 2)]
    partition = PartitionConfig(key=key, strategy="specific_values", values=[1, 2])
    result, _ = profile(engine, TABLE, ("count", "mean"), schema=schema, partition=partition)
    assert result.rows == len(chosen)
    latest, _ = profile(
        engine,
        TABLE,
        ("count",),
        schema=schema,
        partition=PartitionConfig(key=key, strategy="latest"),
    )
    assert latest.rows == sum(1 for r in rows if r[key] == 9)
    sampled, _ = profile(
        engine,
        TABLE,
        ("count",),
        schema=schema,
        sampling=SamplingConfig(enabled=True, fraction=0.5),
    )
    assert 0 < sampled.rows < len(rows)
    if schema is None:  # profile_by_group reflects the default schema
        groups = profile_by_group(engine, TABLE, "[/]", ("count", "mean", "stddev", "histogram"))
        assert {g: p.rows for g, p in groups.items()} == {
            w: sum(1 for r in rows if r["[/]"] == w) for w in {r["[/]"] for r in rows}
        }
    assert _victim_alive(engine)


def test_runner_storage_and_cli_keep_names_verbatim(
    hostile: tuple[sa.Engine, list[dict[str, Any]]],
    make_config: Callable[..., BaselinrConfig],
    tmp_path: Any,
) -> None:
    engine, rows = hostile
    entry: dict[str, Any] = {"table": TABLE, "partition": {"key": "select", "strategy": "all"}}
    if _schema(engine):
        entry["schema"] = SCHEMA
    config = make_config(source_block(engine), [entry, {"pattern": "*drop*"}])
    runner = ProfileRunner(config)
    try:
        result = runner.profile()
        outcome = result.outcomes[0]
        assert outcome.status == "completed", outcome.error
        stored = runner.context.storage.reader.run_metrics(outcome.run_id or "")
        assert set(stored) == {name for name, _ in COLUMNS}
        assert stored["ünïcødé 名前"]["count"] == len(rows)
        run = runner.context.storage.reader.run(outcome.run_id or "")
        assert run is not None and run.table_name == TABLE
        assert run.schema_name == (_schema(engine) or "main")
    finally:
        runner.context.close()
    assert config.path is not None
    cli = CliRunner()
    for args in (["profile"], ["status"], ["tables"], ["status", "--json"]):
        out = cli.invoke(main, [*args, "-c", str(config.path)], env={"COLUMNS": "250"})
        assert out.exit_code == 0, out.output
        if args == ["status", "--json"]:
            assert {r["table_name"] for r in json.loads(out.stdout)["runs"]} == {TABLE}
        else:
            assert 'we"ird; drop table x' in out.output
    assert _victim_alive(engine)


def test_a_missing_hostile_table_is_reported_verbatim(
    sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    create_table(sqlite_engine, "x", [("id", sa.Integer())], [{"id": 1}])
    config = make_config(source_block(sqlite_engine), [{"table": "[/]; drop table x"}])
    assert config.path is not None
    result = CliRunner().invoke(main, ["profile", "-c", str(config.path)])
    assert result.exit_code == 1
    assert "table 'main.[/]; drop table x' does not exist" in result.output
    assert _victim_alive(sqlite_engine)
    data = yaml.safe_load(config.path.read_text())
    assert data["profiling"]["tables"][0]["table"] == "[/]; drop table x"
