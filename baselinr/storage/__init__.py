"""Result storage: tables, migrations, writer and reader."""

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from baselinr.config.models import StorageConfig
from baselinr.connectors import connect, create_engine, dialect_for
from baselinr.errors import StorageError
from baselinr.storage import migrate
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


__all__ = [
    "ResultReader",
    "RunRecord",
    "RunResults",
    "RunWriter",
    "StateStore",
    "Storage",
    "StoredRun",
]
