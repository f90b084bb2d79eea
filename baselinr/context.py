"""Everything a profiling run needs for one config: engines, storage, event bus.

Created lazily and cached, so the Dagster resource can keep one per process and
loading a code location never connects anywhere. ``read_only`` contexts (``plan``)
never create storage: on a fresh config they plan from an empty state.
"""

import threading
from contextlib import AbstractContextManager
from functools import cached_property

from sqlalchemy.engine import Connection, Engine

from baselinr.config.models import BaselinrConfig
from baselinr.connectors import Dialect, connect, create_engine
from baselinr.drift.detector import DriftDetector
from baselinr.engines import detector_for, dialect_for
from baselinr.events import EventBus, build_bus
from baselinr.incremental.detectors import ChangeDetector
from baselinr.profiling.sessions import SessionBudget
from baselinr.storage import StateStore, Storage
from baselinr.storage.state import EmptyStateStore


class BaselinrContext:
    def __init__(self, config: BaselinrConfig, *, read_only: bool = False) -> None:
        self.config = config
        self.read_only = read_only
        self._lock = threading.Lock()

    @cached_property
    def warehouse(self) -> Engine:
        return create_engine(
            self.config.source, pool_size=self.config.profiling.max_workers, must_exist=True
        )

    @cached_property
    def sessions(self) -> SessionBudget:
        """The warehouse sessions a run may hold at once (``profiling.max_workers``)."""
        return SessionBudget(self.config.profiling.max_workers)

    @cached_property
    def dialect(self) -> Dialect:
        return dialect_for(self.warehouse)

    @cached_property
    def storage(self) -> Storage:
        with self._lock:
            return Storage.open(self.config.storage, pool_size=self.config.profiling.max_workers)

    @cached_property
    def existing_storage(self) -> Storage | None:
        """The storage if it exists, without creating or migrating anything."""
        if "storage" in self.__dict__:
            return self.storage
        with self._lock:
            return Storage.open_existing(self.config.storage)

    @cached_property
    def state(self) -> StateStore:
        """Incremental state (``baselinr_table_state`` or ``metadata_table``)."""
        table = self.config.incremental.change_detection.metadata_table
        if self.read_only:
            existing = self.existing_storage
            if existing is None:
                return EmptyStateStore(table)
            store = StateStore(existing.engine, table)
            return store if store.exists() else EmptyStateStore(table)
        store = StateStore(self.storage.engine, table)
        if self.config.storage.create_tables:
            store.ensure_table()
        return store

    @cached_property
    def detector(self) -> ChangeDetector:
        """The warehouse's change detector, with ``connector_overrides`` applied."""
        overrides = self.config.incremental.change_detection.connector_overrides
        return detector_for(self.dialect.name, overrides)

    @cached_property
    def bus(self) -> EventBus:
        """The hooks of ``config.hooks`` (``sql`` on by default)."""
        return build_bus(self.config.hooks, lambda: self.storage.engine)

    @cached_property
    def drift(self) -> DriftDetector:
        return DriftDetector(self.config, self.storage)

    def connect(self) -> AbstractContextManager[Connection]:
        """A warehouse connection; an unreachable warehouse is a clear error."""
        return connect(self.warehouse, "warehouse")

    def close(self) -> None:
        for name in ("warehouse", "storage", "existing_storage"):
            if name in self.__dict__:
                value = self.__dict__.pop(name)
                if value is not None:
                    (value if isinstance(value, Engine) else value.engine).dispose()
        if "bus" in self.__dict__:
            self.__dict__.pop("bus").close()
        for name in ("dialect", "drift", "state", "detector"):
            self.__dict__.pop(name, None)
