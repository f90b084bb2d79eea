"""The API's storage engine, and SQL constructs whose spelling differs per dialect.

The API never creates or migrates storage: a SQLite file that does not exist stays
missing (``/ready`` says so) rather than becoming an empty database, and a read-only
role or a SQLite file opened with ``?mode=ro&uri=true`` serves every read endpoint.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

# Sync endpoints run in Starlette's thread pool (40 threads): one connection each.
POOL_SIZE = 20
MAX_OVERFLOW = 20


def storage_url(url: str) -> sa.URL:
    """The URL the API connects with: ``postgresql://`` means psycopg2 (SQLAlchemy 2.1
    would pick psycopg 3), and a plain SQLite path is opened as a URI with
    ``mode=rw`` so that a missing file is an error, not a new empty database."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            query = {**parsed.query, "mode": parsed.query.get("mode", "rw"), "uri": "true"}
            parsed = parsed.set(database=f"file:{database}", query=query)
    return parsed


def open_engine(url: str) -> Engine:
    parsed = storage_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        connect_args.update(check_same_thread=False, timeout=30)
    elif backend == "postgresql":
        connect_args.update(connect_timeout=5, application_name="baselinr-api")
    if backend != "sqlite" or parsed.database not in (None, "", ":memory:"):
        kwargs.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=30)
    return sa.create_engine(parsed, connect_args=connect_args, **kwargs)


class utc_day(GenericFunction[str]):
    """The UTC calendar day of a stored timestamp, as ``YYYY-MM-DD``."""

    type = sa.String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(CAST({compiler.process(element.clauses, **kw)} AS DATE) AS VARCHAR(10))"


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # timestamptz -> the date in UTC whatever the session's TimeZone
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # stored as naive UTC text
    return f"date({compiler.process(element.clauses, **kw)})"


class json_number(GenericFunction[float]):
    """``json_number(text_column, 'key')``: the number under a top-level key of a JSON
    text column, NULL when absent or not a number."""

    type = sa.Double()
    name = "json_number"
    inherit_cache = True


@compiles(json_number, "postgresql")
def _json_number_pg(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    value = f"(CAST({column} AS jsonb) -> {key})"
    return f"CASE WHEN jsonb_typeof{value} = 'number' THEN CAST({value} AS float8) END"


@compiles(json_number, "sqlite")
def _json_number_sqlite(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$.' || {key}"
    return (
        f"CASE WHEN json_type({column}, {path}) IN ('integer', 'real') "
        f"THEN json_extract({column}, {path}) END"
    )
