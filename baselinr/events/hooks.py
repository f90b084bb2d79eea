"""Built-in hooks: ``logging``, ``sql`` (rows in ``baselinr_events``), and
``FilteredHook``, which passes on only some event types and severities.
The ``webhook`` hook lives in ``webhook.py``."""

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.catalog import TableRef
from baselinr.connectors.engine import first_line
from baselinr.drift.severity import at_least
from baselinr.events.types import Event
from baselinr.logs import get_logger
from baselinr.storage.schema import events

log = get_logger("baselinr.events")


def describe(event: Event) -> str:
    """One line for people: what happened, where, how bad."""
    data: dict[str, Any] = event.to_dict()
    where = TableRef(data.get("schema_name"), data.get("table_name") or "").qualified
    severity = data.get("severity")
    reason = data.get("reason") or ""
    if event.event_type == "DataDriftDetected":
        return f"[{severity}] drift in {where}.{data.get('column_name') or '(table)'}: {reason}"
    if event.event_type == "SchemaChangeDetected":
        return f"[{severity}] schema change in {where}: {reason}"
    if event.event_type == "ProfilingFailed":
        return f"profiling {where} failed: {reason}"
    return " ".join(p for p in (event.event_type, where, reason) if p)


class LoggingHook:
    def __init__(self, level: int | str = logging.INFO) -> None:
        self.level = logging.getLevelName(level) if isinstance(level, str) else level

    def handle(self, event: Event) -> None:
        log.log(self.level, "%s", describe(event))


class SQLHook:
    """Stores every event in ``baselinr_events`` of the result storage.

    When storage is unavailable, events are kept (up to ``max_pending``) and written
    with the next event that gets through, or at ``close``; one warning says so,
    instead of one per event, and nothing is raised at the profile."""

    def __init__(self, engine: Engine, max_pending: int = 10_000) -> None:
        self.engine = engine
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.dropped = 0

    def handle(self, event: Event) -> None:
        self.handle_many([event])

    def handle_many(self, batch: Sequence[Event]) -> None:
        """A batch in one transaction (e.g. the skip events of a whole plan)."""
        rows = [e.to_row() for e in batch]
        with self._lock:
            self._write(self._pending + rows)

    def close(self) -> None:
        with self._lock:
            if self._pending:
                self._write(self._pending)
            if self._pending:
                log.warning(
                    "%d event(s) could not be stored in baselinr_events (storage unavailable)",
                    len(self._pending) + self.dropped,
                )

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        delayed = len(self._pending)
        try:
            self._insert(rows)
        except sa.exc.SQLAlchemyError as exc:
            if not self._pending:
                log.info(
                    "events not stored, kept to retry (storage unavailable: %s)", first_line(exc)
                )
            keep = rows[-self.max_pending :]
            self.dropped += len(rows) - len(keep)
            self._pending = keep
            return
        self._pending = []
        if delayed:
            log.info("%d delayed event(s) stored", delayed)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(events.insert(), rows)
        except sa.exc.IntegrityError:
            # a retried batch whose first attempt was committed after all: one by one,
            # skipping the events already there
            for row in rows:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(events.insert(), [row])
                except sa.exc.IntegrityError:
                    continue


class FilteredHook:
    """Passes on only ``event_types`` (all when None) and, for events that carry a
    severity, only those at or above ``min_severity``."""

    def __init__(
        self, hook: Any, event_types: Iterable[str] | None = None, min_severity: str = "low"
    ) -> None:
        self.hook = hook
        self.event_types = frozenset(event_types) if event_types is not None else None
        self.min_severity = min_severity

    def accepts(self, event: Event) -> bool:
        if self.event_types is not None and event.event_type not in self.event_types:
            return False
        severity = getattr(event, "severity", None)
        return severity is None or at_least(severity, self.min_severity)

    def handle(self, event: Event) -> None:
        if self.accepts(event):
            self.hook.handle(event)

    def handle_many(self, batch: Sequence[Event]) -> None:
        accepted = [e for e in batch if self.accepts(e)]
        if not accepted:
            return
        handle_many = getattr(self.hook, "handle_many", None)
        if handle_many is not None:
            handle_many(accepted)
        else:
            for event in accepted:
                self.hook.handle(event)

    def close(self) -> None:
        close = getattr(self.hook, "close", None)
        if close is not None:
            close()
