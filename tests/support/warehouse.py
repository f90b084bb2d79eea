"""Build tables in a real warehouse engine and profile them the way the runner does.

Nothing here stands in for Baselinr code: tables are created with SQLAlchemy, columns
are reflected by the dialect module, and ``profile_table`` / ``profile_groups`` run
their real SQL. Statements are counted with a ``before_cursor_execute`` listener.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo, dialect_for
from baselinr.profiling.metrics import METRICS
from baselinr.profiling.profiler import TableProfile, profile_groups, profile_table
from baselinr.profiling.query import ProfileRequest

# Every exact metric: the estimated approx_distinct_count (one more statement where
# no aggregate builds sketches) has its own tests (tests/test_distinct_sketches.py).
ALL_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m != "approx_distinct_count")


def can_store_nan(engine: sa.Engine) -> bool:
    """SQLite turns a NaN into NULL on insert; Postgres and DuckDB keep it."""
    return engine.dialect.name != "sqlite"


def create_table(
    engine: sa.Engine,
    name: str,
    columns: Sequence[tuple[str, Any]],
    rows: Sequence[dict[str, Any]],
    schema: str | None = None,
) -> sa.Table:
    """Create (or replace) a table and insert ``rows`` in batches."""
    metadata = sa.MetaData()
    table = sa.Table(name, metadata, *[sa.Column(n, t) for n, t in columns], schema=schema)
    with engine.begin() as conn:
        if schema is not None and engine.dialect.name != "sqlite":
            conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        table.drop(conn, checkfirst=True)
        table.create(conn)
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            if chunk:
                conn.execute(table.insert(), list(chunk))
    return table


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Every SQL statement sent through ``engine`` while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def columns_of(engine: sa.Engine, table: str, schema: str | None = None) -> list[ColumnInfo]:
    dialect = dialect_for(engine)
    with engine.connect() as conn:
        return dialect.list_columns(conn, schema or dialect.default_schema(conn), table)


def request_for(
    engine: sa.Engine,
    table: str,
    metrics: Sequence[str] = ALL_METRICS,
    schema: str | None = None,
    **options: Any,
) -> ProfileRequest:
    dialect = dialect_for(engine)
    with engine.connect() as conn:
        schema = schema or dialect.default_schema(conn)
        columns = tuple(dialect.list_columns(conn, schema, table))
    return ProfileRequest(
        table=TableRef(schema, table), columns=columns, metrics=tuple(metrics), **options
    )


def profile(
    engine: sa.Engine,
    table: str,
    metrics: Sequence[str] = ALL_METRICS,
    schema: str | None = None,
    **options: Any,
) -> tuple[TableProfile, list[str]]:
    """Profile a table; returns the profile and the statements it sent."""
    request = request_for(engine, table, metrics, schema, **options)
    with engine.connect() as conn, statements(engine) as seen:
        result = profile_table(conn, dialect_for(engine), request)
    return result, seen


def profile_by_group(
    engine: sa.Engine,
    table: str,
    group_by: str,
    metrics: Sequence[str] = ALL_METRICS,
    **options: Any,
) -> dict[Any, TableProfile]:
    request = request_for(engine, table, metrics, group_by=group_by, **options)
    with engine.connect() as conn:
        groups, _ = profile_groups(conn, dialect_for(engine), request)
    return groups


def metrics_by_column(result: TableProfile) -> dict[str, dict[str, Any]]:
    return {c.column.name: c.metrics for c in result.columns}
