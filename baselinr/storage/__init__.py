"""Result storage: tables, migrations, writer and reader."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from baselinr.config.models import StorageConfig
from baselinr.connectors import build_url, connect, create_engine, dialect_for
from baselinr.errors import StorageUnavailableError
from baselinr.storage import migrate
from baselinr.storage.failures import storage_errors
from baselinr.storage.reader import ResultReader
from baselinr.storage.records import RunResults, StoredRun
from baselinr.storage.state import StateStore
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
        dialect_for(engine).prepare_storage(engine)
        return cls.from_engine(engine, create_tables=config.create_tables)

    @classmethod
    def from_engine(cls, engine: Engine, *, create_tables: bool = True) -> "Storage":
        with connect(engine, "result storage", StorageUnavailableError):
            pass
        with storage_errors(engine):
            migrate.prepare(engine, create=create_tables)
        return cls(engine, RunWriter(engine), ResultReader(engine))

    @classmethod
    def open_existing(cls, config: StorageConfig) -> "Storage | None":
        """For commands that only read (``plan``, ``status``, ``drift``): the storage
        if it exists, None when nothing was ever stored — never creating a file or the
        tables. Existing tables of an older revision are upgraded as by any command
        (``create_tables``); a newer or damaged schema is an error."""
        url = build_url(config.connection)
        database = url.database or ""
        file_based = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        if file_based and not Path(database).exists():
            return None
        engine = create_engine(config.connection, pool_size=2)
        try:
            with connect(engine, "result storage", StorageUnavailableError):
                pass
            with storage_errors(engine):
                if migrate.current_revision(engine) is None:
                    engine.dispose()
                    return None
                migrate.prepare(engine, create=config.create_tables)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, RunWriter(engine), ResultReader(engine))


__all__ = [
    "ResultReader",
    "RunRecord",
    "RunResults",
    "RunWriter",
    "StateStore",
    "Storage",
    "StoredRun",
    "storage_errors",
]
