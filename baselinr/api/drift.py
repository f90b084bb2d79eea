"""Drift and schema-change events with their triage: the list, and acknowledging or
resolving one (the only writes the API makes: the triage columns of
``baselinr_events``, migration 0005)."""

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.api import models
from baselinr.api.clean import EVENT_TEXT, Redactor, clean_fields
from baselinr.api.filters import DRIFT_EVENT_TYPES, DriftFilter, keyset_before, triage_status
from baselinr.api.paging import Cursor
from baselinr.redact import redact
from baselinr.storage.schema import events, utcnow

#: What each triage step allows it to follow, and the columns it writes.
_STEPS = {
    "acknowledge": (
        "acknowledged",
        ("open",),
        ("acknowledged_by", "acknowledged_at", "acknowledged_note"),
    ),
    "resolve": (
        "resolved",
        ("open", "acknowledged"),
        ("resolved_by", "resolved_at", "resolved_note"),
    ),
}


class TriageConflict(Exception):
    """The event is not in a status the step can follow (e.g. already resolved)."""


def drift_item(row: Mapping[Any, Any], redactor: Callable[[str], str] = redact) -> models.DriftItem:
    data = dict(row)
    data["payload"] = jsonutil.loads(data["payload"]) if data.get("payload") else None
    data["status"] = data.pop("triage_status", None) or "open"
    return models.DriftItem.model_construct(**clean_fields(data, EVENT_TEXT, redactor))


def drift_query(where: DriftFilter) -> sa.Select[Any]:
    return (
        sa.select(events)
        .where(*where.conditions())
        .order_by(events.c.created_at.desc(), events.c.event_id.desc())
    )


def list_drift(
    engine: Engine, where: DriftFilter, limit: int, cursor: Cursor | None
) -> models.Page[models.DriftItem]:
    stmt = drift_query(where)
    if cursor is not None:
        stmt = stmt.where(keyset_before(events.c.created_at, events.c.event_id, cursor))
    with engine.connect() as conn:
        rows = list(conn.execute(stmt.limit(limit + 1)).mappings())
    page = rows[:limit]
    following = None
    if len(rows) > limit:
        following = Cursor(page[-1]["created_at"], page[-1]["event_id"]).encode()
    redactor = Redactor()
    items = [drift_item(r, redactor) for r in page]
    return models.Page[models.DriftItem](items=items, next_cursor=following)


def drift_event(engine: Engine, event_id: str) -> models.DriftItem | None:
    stmt = sa.select(events).where(
        events.c.event_id == event_id, events.c.event_type.in_(DRIFT_EVENT_TYPES)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return drift_item(row) if row is not None else None


def triage(
    engine: Engine, event_id: str, step: str, request: models.TriageRequest
) -> models.DriftItem | None:
    """Acknowledge or resolve a drift event; None when there is no such event. One
    conditional UPDATE, so two people triaging at once cannot both succeed."""
    status, after, (by_col, at_col, note_col) = _STEPS[step]
    stmt = (
        events.update()
        .where(
            events.c.event_id == event_id,
            events.c.event_type.in_(DRIFT_EVENT_TYPES),
            triage_status().in_(after),
        )
        .values(
            {
                events.c.triage_status: status,
                events.c[by_col]: request.by,
                events.c[at_col]: utcnow(),
                events.c[note_col]: request.note,
            }
        )
    )
    with engine.begin() as conn:
        changed = conn.execute(stmt).rowcount
    current = drift_event(engine, event_id)
    if current is None:
        return None
    if not changed:
        raise TriageConflict(
            f"event {event_id} is {current.status}; {step} applies to {' or '.join(after)} events"
        )
    return current
