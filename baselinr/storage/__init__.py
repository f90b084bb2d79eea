"""Result storage: tables, migrations, writer and reader."""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.config.models import StorageConfig
from baselinr.connectors import connect, create_engine
from baselinr.errors import StorageError
from baselinr.storage import migrate
from baselinr.storage.reader import ResultReader
from baselinr.storage.writer import RunRecord, RunWriter


@dataclass
class Storage:
    engine: Engine
    writer: RunWriter
    reader: ResultReader

    @classmethod
    def open(cls, config: StorageConfig, *, pool_size: int = 5) -> "Storage":
        """Connect to storage and make sure the tables exist (``create_tables``) or
        are current (otherwise)."""
        engine = create_engine(config.connection, pool_size=pool_size)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_for_many_writers)
        return cls.from_engine(engine, create_tables=config.create_tables)

    @classmethod
    def from_engine(cls, engine: Engine, *, create_tables: bool = True) -> "Storage":
        with connect(engine, "result storage"):
            pass
        if create_tables:
            migrate.upgrade(engine)
        elif migrate.current_revision(engine) != migrate.head_revision():
            raise StorageError(
                f"the Baselinr tables in {engine.url.render_as_string(hide_password=True)} are "
                "missing or out of date; set storage.create_tables: true to create them"
            )
        return cls(engine, RunWriter(engine), ResultReader(engine))


def _sqlite_for_many_writers(dbapi_connection: Any, _record: Any) -> None:
    """SQLite storage is written by several threads and processes (parallel tables,
    Dagster runs): write-ahead logging lets readers run during a write, and
    synchronous=NORMAL makes each commit cheap (still durable across crashes of the
    process; only an OS crash can lose the last commits)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


__all__ = ["ResultReader", "RunRecord", "RunWriter", "Storage"]
