"""Built-in hooks: ``logging``, ``sql`` (rows in ``baselinr_events``), and
``FilteredHook``, which passes on only some event types and severities.
The ``webhook`` hook lives in ``webhook.py``."""

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from baselinr.catalog import TableRef
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
    """Stores every event in ``baselinr_events`` of the result storage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def handle(self, event: Event) -> None:
        with self.engine.begin() as conn:
            conn.execute(events.insert().values(**event.to_row()))

    def handle_many(self, batch: Sequence[Event]) -> None:
        """A batch in one transaction (e.g. the skip events of a whole plan)."""
        if batch:
            with self.engine.begin() as conn:
                conn.execute(events.insert(), [e.to_row() for e in batch])


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
