"""``profiling.tables`` entries -> concrete tables, on SQLite, PostgreSQL and DuckDB."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.catalog import select_columns
from baselinr.config import BaselinrConfig
from baselinr.connectors import ColumnInfo
from baselinr.errors import TableNotFoundError
from baselinr.planner import PlanBuilder
from baselinr.runner import ProfileRunner
from tests.conftest import source_block
from tests.support.warehouse import create_table

# created in an order that is not sorted, to see the resolution sort them
NAMES = ["orders", "fct_sales", "dim_user", "fct_returns", "fct_sales_tmp", "FCT_upper", "fct_a"]


def _schema(engine: sa.Engine) -> str | None:
    """A non-default schema where the engine has them (SQLite: only main)."""
    return None if engine.dialect.name == "sqlite" else "analytics"


@pytest.fixture
def tables(warehouse: sa.Engine) -> sa.Engine:
    for name in NAMES:
        create_table(warehouse, name, [("x", sa.Integer())], [{"x": 1}], schema=_schema(warehouse))
    create_table(warehouse, "elsewhere", [("x", sa.Integer())], [{"x": 1}])
    return warehouse


def _resolve(
    engine: sa.Engine, make_config: Callable[..., BaselinrConfig], entries: list[dict[str, Any]]
) -> Any:
    source = source_block(engine)
    if _schema(engine):
        source["schema"] = _schema(engine)
    builder = PlanBuilder(make_config(source, entries))
    try:
        return builder.resolve()
    finally:
        builder.context.close()


def _names(catalog: Any, index: int) -> list[str]:
    return [t.table for t in catalog.entries[index].tables]


def test_table_pattern_regex_exclude_and_order(
    tables: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    catalog = _resolve(
        tables,
        make_config,
        [
            {"table": "orders"},
            {"name": "facts", "pattern": "fct_*", "exclude_patterns": ["*_tmp"]},
            {"pattern": "fct_(sales|returns)$", "pattern_type": "regex"},
            {"pattern": "dim_?ser"},
        ],
    )
    assert _names(catalog, 0) == ["orders"]
    assert _names(catalog, 1) == ["fct_a", "fct_returns", "fct_sales"]  # sorted, case-sensitive
    # a table already taken by an earlier entry is skipped, with a warning
    assert _names(catalog, 2) == []
    assert any("already profiled by an earlier entry" in w for w in catalog.warnings)
    assert _names(catalog, 3) == ["dim_user"]
    assert all(t.schema == (_schema(tables) or "main") for _, t in catalog.tables)
    # the same config resolves the same way every time
    assert (
        _resolve(tables, make_config, [{"pattern": "*"}]).tables
        == _resolve(tables, make_config, [{"pattern": "*"}]).tables
    )


def test_select_schema_and_explicit_schema(
    tables: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    schema = _schema(tables)
    if schema is None:
        entries = [{"schema": "main", "select_schema": True}]
    else:
        entries = [
            {"schema": schema, "select_schema": True},
            {"table": "elsewhere", "schema": tables.dialect.default_schema_name or "main"},
        ]
    catalog = _resolve(tables, make_config, entries)
    expected = sorted(NAMES + ([] if schema else ["elsewhere"]))
    assert _names(catalog, 0) == expected
    if schema:
        assert _names(catalog, 1) == ["elsewhere"]
        assert catalog.entries[1].tables[0].schema != schema


def test_missing_table_is_a_clear_error(
    tables: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    with pytest.raises(TableNotFoundError) as info:
        _resolve(tables, make_config, [{"table": "orders"}, {"table": "ordrs"}])
    message = str(info.value)
    assert message.startswith("profiling.tables[1]: table ")
    assert "ordrs' does not exist" in message and "did you mean 'orders'" in message


def test_pattern_matching_nothing_is_a_warning(
    tables: sa.Engine, make_config: Callable[..., BaselinrConfig], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="baselinr.catalog"):
        catalog = _resolve(tables, make_config, [{"pattern": "nothing_*"}, {"table": "orders"}])
    assert _names(catalog, 0) == [] and _names(catalog, 1) == ["orders"]
    assert catalog.warnings == [
        f"profiling.tables[0]: 'nothing_*' matched no tables in schema "
        f"'{_schema(tables) or 'main'}'"
    ]
    assert catalog.warnings[0] in caplog.text


@pytest.mark.postgres
def test_postgres_partitions_are_profiled_through_their_parent(
    pg_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    with pg_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (day date, n int) PARTITION BY RANGE (day)"))
        for month in (1, 2, 3):
            conn.execute(
                sa.text(
                    f"CREATE TABLE events_m{month} PARTITION OF events FOR VALUES "
                    f"FROM ('2024-0{month}-01') TO ('2024-0{month + 1}-01')"
                )
            )
            conn.execute(
                sa.text(
                    f"INSERT INTO events SELECT '2024-0{month}-05', g FROM generate_series(1, {month * 10}) g"
                )
            )
        conn.execute(sa.text("CREATE VIEW recent AS SELECT * FROM events"))
    config = make_config(source_block(pg_engine), [{"pattern": "*"}])
    runner = ProfileRunner(config)
    try:
        catalog = runner.plan()
        assert [d.table for d in catalog.decisions] == ["events", "recent"]
        result = runner.execute(catalog)
        assert [o.row_count for o in result.outcomes] == [60, 60]
    finally:
        runner.context.close()


def test_column_selection_keeps_table_order() -> None:
    from baselinr.config.models import ColumnSelection

    columns = [ColumnInfo(n, "INT", "numeric") for n in ("id", "payload", "p2", "amount", "note")]
    chosen = select_columns(columns, ColumnSelection(include=["*a*", "id", "note"], exclude=["p*"]))
    assert [c.name for c in chosen] == ["id", "amount", "note"]
    assert select_columns(columns, ColumnSelection()) == columns
