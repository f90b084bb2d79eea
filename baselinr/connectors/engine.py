"""SQLAlchemy engines from config, and connections that fail with a useful message."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from baselinr.config.models import ConnectionConfig
from baselinr.errors import BaselinrError, ConfigError, WarehouseUnavailableError
from baselinr.redact import redact

_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "sqlite": "sqlite+pysqlite",
    "duckdb": "duckdb",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
}
_EXTRA_PACKAGE = {"snowflake": "snowflake-sqlalchemy", "bigquery": "sqlalchemy-bigquery"}


def build_url(cfg: ConnectionConfig) -> sa.URL:
    """The SQLAlchemy URL for a connection config (``url`` wins over fields)."""
    if cfg.url is not None:
        url = sa.make_url(cfg.url.get_secret_value())
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; we ship psycopg2.
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg2")
        return url
    assert cfg.type is not None
    if cfg.type in ("sqlite", "duckdb"):
        return sa.URL.create(_DRIVERS[cfg.type], database=cfg.filepath)
    if cfg.type == "snowflake":
        return sa.URL.create(
            "snowflake",
            username=cfg.username,
            password=cfg.password.get_secret_value() if cfg.password else None,
            host=cfg.account,
            database=f"{cfg.database}/{cfg.schema_}" if cfg.schema_ else cfg.database,
            query={k: v for k, v in {"warehouse": cfg.warehouse, "role": cfg.role}.items() if v},
        )
    if cfg.type == "bigquery":
        return sa.URL.create("bigquery", host=cfg.project, database=cfg.dataset)
    return sa.URL.create(
        _DRIVERS[cfg.type],
        username=cfg.username,
        password=cfg.password.get_secret_value() if cfg.password else None,
        host=cfg.host or "localhost",
        port=cfg.port,
        database=cfg.database,
    )


def describe(url: sa.URL) -> str:
    """A URL safe to print: no password, neither in the userinfo nor in the query."""
    return redact(url.render_as_string(hide_password=True))


def create_engine(cfg: ConnectionConfig, *, pool_size: int = 5, must_exist: bool = False) -> Engine:
    """An engine for ``cfg``. Nothing connects until the engine is used.

    ``must_exist``: for file databases, a missing file is an error rather than a new,
    empty database (right for a warehouse, wrong for result storage).
    """
    url = build_url(cfg)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        # a file: URI (``?uri=true``, e.g. mode=ro) names its file itself; leave it alone
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            path = Path(url.database)
            if must_exist and not path.exists():
                raise ConfigError(f"SQLite database file not found: {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
        connect_args.update(check_same_thread=False, timeout=30)
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    elif backend == "duckdb":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            if must_exist and not path.exists():
                raise ConfigError(f"DuckDB database file not found: {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
    elif backend == "postgresql":
        connect_args.update(connect_timeout=10, application_name="baselinr")
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    connect_args.update(cfg.connect_args)
    try:
        return sa.create_engine(url, connect_args=connect_args, **kwargs)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        package = _EXTRA_PACKAGE.get(cfg.type or "", "the SQLAlchemy dialect package")
        raise ConfigError(
            f"no SQLAlchemy driver for '{url.drivername}': install {package} ({exc})"
        ) from None


@contextmanager
def connect(
    engine: Engine,
    what: str = "warehouse",
    error: type[BaselinrError] = WarehouseUnavailableError,
) -> Iterator[Connection]:
    """A connection; failure to connect becomes ``error`` (the warehouse's by default)."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise error(
            f"cannot connect to the {what} at {describe(engine.url)}: {first_line(exc)}"
        ) from None
    with conn:
        yield conn


def first_line(exc: BaseException) -> str:
    """The driver's own message without SQLAlchemy's SQL dump and links."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
