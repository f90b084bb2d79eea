"""Built-in hooks: ``logging`` and ``sql`` (rows in ``baselinr_events``)."""

import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from baselinr.events.types import Event
from baselinr.storage.schema import events

log = logging.getLogger("baselinr.events")


class LoggingHook:
    def __init__(self, level: int | str = logging.INFO) -> None:
        self.level = logging.getLevelName(level) if isinstance(level, str) else level

    def handle(self, event: Event) -> None:
        where = ".".join(p for p in (event.schema_name, event.table_name) if p)
        log.log(self.level, "%s %s %s", event.event_type, where, event.to_row().get("reason") or "")


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
