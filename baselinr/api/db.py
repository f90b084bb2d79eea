"""The API's storage engine, and SQL constructs whose spelling differs per dialect.

The API never creates or migrates storage: a SQLite file that does not exist stays
missing (``/ready`` says so) rather than becoming an empty database, and a read-only
role or a SQLite file opened with ``?mode=ro&uri=true`` serves every read endpoint.
"""

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal

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
    # No ping per checkout (a round trip on every request): a connection the server
    # dropped fails one request with a 503 and SQLAlchemy then renews the whole pool.
    kwargs: dict[str, Any] = {"pool_pre_ping": False}
    if backend == "sqlite":
        connect_args.update(check_same_thread=False, timeout=30)
    elif backend == "postgresql":
        connect_args.update(connect_timeout=5, application_name="baselinr-api")
        kwargs["pool_recycle"] = 1800
    if backend != "sqlite" or parsed.database not in (None, "", ":memory:"):
        kwargs.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=30)
    return sa.create_engine(parsed, connect_args=connect_args, **kwargs)


class utc_day(GenericFunction[Any]):
    """The UTC calendar day of a stored timestamp (a date, or ``YYYY-MM-DD`` text on
    SQLite: read it with ``str()``)."""

    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # timestamptz -> the date in UTC whatever the session's TimeZone
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"  # stored as naive UTC text


class json_number(ColumnElement[float]):
    """The number under a top-level key of a JSON text column; NULL when the key is
    absent or its value is not a number. The document is parsed once per row."""

    type = sa.Double()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
    ]

    def __init__(self, column: sa.ColumnElement[Any], key: str) -> None:
        if not _KEY.fullmatch(key):
            raise ValueError(f"json_number: {key!r} is not a plain key")
        self.column = column
        self.key = key


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@compiles(json_number, "postgresql")
def _json_number_pg(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = f"'$.{element.key} ? (@.type() == \"number\")'"
    return f"CAST(jsonb_path_query_first(CAST({column} AS jsonb), {path}) AS float8)"


@compiles(json_number, "sqlite")
def _json_number_sqlite(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = f"'$.{element.key}'"
    return (
        f"CASE WHEN json_type({column}, {path}) IN ('integer', 'real') "
        f"THEN json_extract({column}, {path}) END"
    )
