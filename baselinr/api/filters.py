"""The filters of the list and export endpoints, as SQL conditions over the storage
tables (``storage/schema.py``)."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from baselinr.api.paging import Cursor
from baselinr.drift.severity import SEVERITIES, rank
from baselinr.storage.schema import UTCDateTime, events, runs

#: The events ``/api/drift`` lists.
DRIFT_EVENT_TYPES = ("DataDriftDetected", "SchemaChangeDetected")


def table_condition(
    schema_col: sa.ColumnElement[str | None], table_col: sa.ColumnElement[str], name: str
) -> sa.ColumnElement[bool]:
    """``t`` or ``schema.t``: the table named ``name`` in any schema, or — split at any
    dot, since names may contain dots — ``schema`` and ``t``."""
    clauses = [table_col == name]
    for i, char in enumerate(name):
        if char == "." and 0 < i < len(name) - 1:
            clauses.append(sa.and_(schema_col == name[:i], table_col == name[i + 1 :]))
    return sa.or_(*clauses)


def _time(value: dt.datetime) -> sa.BindParameter[dt.datetime]:
    return sa.bindparam(None, value, type_=UTCDateTime())


def keyset_before(
    at_col: sa.ColumnElement[dt.datetime], key_col: sa.ColumnElement[str], cursor: Cursor
) -> sa.ColumnElement[bool]:
    """Rows after ``cursor`` in (timestamp, id) descending order."""
    return sa.tuple_(at_col, key_col) < sa.tuple_(
        _time(cursor.at), sa.bindparam(None, cursor.key, type_=key_col.type)
    )


@dataclass(frozen=True)
class RunFilter:
    table: str | None = None
    schema: str | None = None
    status: str | None = None
    action: str | None = None
    environment: str | None = None
    warehouse: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = runs.c
        out: list[sa.ColumnElement[bool]] = []
        if self.table is not None:
            out.append(table_condition(c.schema_name, c.table_name, self.table))
        if self.schema is not None:
            out.append(c.schema_name == self.schema)
        if self.status is not None:
            out.append(c.status == self.status)
        if self.action is not None:
            out.append(c.action == self.action)
        if self.environment is not None:
            out.append(c.environment == self.environment)
        if self.warehouse is not None:
            out.append(c.database_name == self.warehouse)
        if self.since is not None:
            out.append(c.started_at >= _time(self.since))
        if self.until is not None:
            out.append(c.started_at < _time(self.until))
        return out


def triage_status() -> sa.ColumnElement[str]:
    """A drift event's triage status; events never triaged are open."""
    return sa.func.coalesce(events.c.triage_status, "open")


@dataclass(frozen=True)
class DriftFilter:
    severity: str | None = None  # the minimum
    table: str | None = None
    schema: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = events.c
        out: list[sa.ColumnElement[bool]] = [c.event_type.in_(DRIFT_EVENT_TYPES)]
        if self.severity is not None:
            out.append(c.severity.in_(severities_from(self.severity)))
        if self.table is not None:
            out.append(table_condition(c.schema_name, c.table_name, self.table))
        if self.schema is not None:
            out.append(c.schema_name == self.schema)
        if self.status is not None:
            out.append(triage_status() == self.status)
        if self.since is not None:
            out.append(c.created_at >= _time(self.since))
        if self.until is not None:
            out.append(c.created_at < _time(self.until))
        return out


def severities_from(minimum: str) -> Sequence[str]:
    return [s for s in SEVERITIES if s != "none" and rank(s) >= rank(minimum)]
