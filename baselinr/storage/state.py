"""Incremental state: one ``baselinr_table_state`` row per table and, for tables
profiled by partition, one ``baselinr_partition_state`` row per partition.

Reads are batched (one query per database for planning). Writes take a connection
so that they join the transaction that stores a run's results (``RunWriter.complete``
``also=``): a profile that fails or is killed leaves the state where it was.
"""

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.connectors import dialect_for
from baselinr.profiling.state import ColumnState
from baselinr.redact import redact
from baselinr.storage.failures import storage_errors
from baselinr.storage.schema import partition_state, table_state

DEFAULT_TABLE = table_state.name


def _schema_key(schema: str | None) -> str:
    # Part of a primary key, so never NULL; engines without schemas store "".
    return schema or ""


@dataclass(frozen=True)
class TableState:
    """A ``baselinr_table_state`` row. ``metadata`` holds what partial profiling and
    the planner need beyond the contract columns (profile signature, columns,
    histogram edges, when carried metrics were last computed, ...)."""

    database_name: str
    schema_name: str | None
    table_name: str
    last_run_id: str | None = None
    snapshot_id: str | None = None
    decision: str | None = None
    decision_reason: str | None = None
    last_profiled_at: dt.datetime | None = None
    last_checked_at: dt.datetime | None = None
    interval_minutes: int | None = None
    staleness_score: float | None = None
    row_count: int | None = None
    bytes_estimate: int | None = None
    cost_estimate: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> TableRef:
        return TableRef(self.schema_name, self.table_name)

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["schema_name"] = _schema_key(self.schema_name)
        row["decision_reason"] = redact(self.decision_reason) if self.decision_reason else None
        row["metadata"] = jsonutil.dumps(dict(self.metadata), sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "TableState":
        values = {f.name: row[f.name] for f in fields(cls)}
        values["metadata"] = jsonutil.loads(row["metadata"]) or {}
        return cls(**values)


@dataclass(frozen=True)
class PartitionRecord:
    """A partition's stored aggregates (``states`` is empty when loaded for planning)."""

    partition_id: str
    label: str | None
    value: Any
    fingerprint: str | None
    row_count: int | None
    states: Mapping[str, ColumnState] = field(default_factory=dict)
    last_run_id: str | None = None
    profiled_at: dt.datetime | None = None


def state_table(name: str = DEFAULT_TABLE) -> sa.Table:
    """The state table: the contract one, or a copy under ``change_detection.metadata_table``."""
    if name == DEFAULT_TABLE:
        return table_state
    return sa.Table(name, sa.MetaData(), *[c._copy() for c in table_state.columns])


F = TypeVar("F", bound=Callable[..., Any])


def _read(method: F) -> F:
    """A read whose SQL errors are ``StorageError`` s naming the storage."""

    @functools.wraps(method)
    def wrapper(self: "StateStore", *args: Any, **kwargs: Any) -> Any:
        with storage_errors(self.engine):
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class StateStore:
    def __init__(self, engine: Engine, table_name: str = DEFAULT_TABLE) -> None:
        self.engine = engine
        self.table = state_table(table_name)
        self.partitions_table = partition_state

    def ensure_table(self) -> None:
        """Create a renamed state table (``metadata_table``) if it is missing and check
        its columns; the default one comes with the storage migrations."""
        if self.table is not table_state:
            from baselinr.storage.migrate import verify

            with storage_errors(self.engine):
                self.table.create(self.engine, checkfirst=True)
                verify(self.engine, [self.table])

    def exists(self) -> bool:
        with storage_errors(self.engine):
            return sa.inspect(self.engine).has_table(self.table.name)

    # --- reads --------------------------------------------------------------------------
    @_read
    def table_states(self, database: str) -> dict[TableRef, TableState]:
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.database_name == database)).mappings()
            return {s.table: s for s in map(_table_state, rows)}

    @_read
    def table_state(self, database: str, table: TableRef) -> TableState | None:
        stmt = sa.select(self.table).where(*_same_table(self.table, database, table))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return _table_state(row) if row else None

    @_read
    def partition_fingerprints(self, database: str) -> dict[TableRef, dict[str, PartitionRecord]]:
        """Every stored partition of the database, without the (large) aggregates."""
        p = self.partitions_table
        stmt = sa.select(
            p.c.schema_name,
            p.c.table_name,
            p.c.partition_id,
            p.c.partition_label,
            p.c.partition_value,
            p.c.fingerprint,
            p.c.row_count,
            p.c.last_run_id,
            p.c.profiled_at,
        ).where(p.c.database_name == database)
        out: dict[TableRef, dict[str, PartitionRecord]] = defaultdict(dict)
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                ref = TableRef(row["schema_name"] or None, row["table_name"])
                out[ref][row["partition_id"]] = _partition(row, with_states=False)
        return dict(out)

    @_read
    def partitions(self, database: str, table: TableRef) -> dict[str, PartitionRecord]:
        """The stored partitions of one table, with their column aggregates."""
        p = self.partitions_table
        stmt = sa.select(p).where(*_same_table(p, database, table))
        with self.engine.connect() as conn:
            return {
                row["partition_id"]: _partition(row, with_states=True)
                for row in conn.execute(stmt).mappings()
            }

    # --- writes (inside the caller's transaction) -----------------------------------------
    def write_table_state(self, conn: Connection, state: TableState) -> None:
        keys = ("database_name", "schema_name", "table_name")
        dialect_for(conn).upsert(conn, self.table, state.to_row(), keys)

    def write_table_states(self, states: Iterable[TableState]) -> None:
        """Several rows in one transaction of its own (skip/defer bookkeeping)."""
        states = list(states)
        if not states:
            return
        with self.engine.begin() as conn:
            for state in states:
                self.write_table_state(conn, state)

    def write_partitions(
        self,
        conn: Connection,
        database: str,
        table: TableRef,
        records: Sequence[PartitionRecord],
        *,
        delete: Iterable[str] = (),
        replace_all: bool = False,
    ) -> None:
        """Store ``records`` (replacing rows with the same ids), drop ``delete``, or with
        ``replace_all`` drop every other partition of the table first."""
        p = self.partitions_table
        where = _same_table(p, database, table)
        if replace_all:
            conn.execute(p.delete().where(*where))
        else:
            gone = sorted({r.partition_id for r in records} | set(delete))
            for start in range(0, len(gone), 500):
                conn.execute(
                    p.delete().where(*where, p.c.partition_id.in_(gone[start : start + 500]))
                )
        rows = [
            {
                "database_name": database,
                "schema_name": _schema_key(table.schema),
                "table_name": table.table,
                "partition_id": r.partition_id,
                "partition_label": r.label,
                # already JSON-safe (``jsonutil.encode_value``); stored and read verbatim
                "partition_value": json.dumps(r.value, sort_keys=True),
                "fingerprint": r.fingerprint,
                "row_count": r.row_count,
                "states": jsonutil.dumps(
                    {name: s.to_json() for name, s in r.states.items()}, sort_keys=True
                ),
                "last_run_id": r.last_run_id,
                "profiled_at": r.profiled_at,
            }
            for r in records
        ]
        if rows:
            conn.execute(p.insert(), rows)

    def clear_partitions(self, conn: Connection, database: str, table: TableRef) -> None:
        self.write_partitions(conn, database, table, [], replace_all=True)


class EmptyStateStore(StateStore):
    """The state of a storage that does not exist yet: nothing. What read-only
    commands (``plan``) plan from on a fresh config, so that they create nothing."""

    def __init__(self, table_name: str = DEFAULT_TABLE) -> None:
        self.table = state_table(table_name)
        self.partitions_table = partition_state

    def table_states(self, database: str) -> dict[TableRef, TableState]:
        return {}

    def table_state(self, database: str, table: TableRef) -> TableState | None:
        return None

    def partition_fingerprints(self, database: str) -> dict[TableRef, dict[str, PartitionRecord]]:
        return {}

    def partitions(self, database: str, table: TableRef) -> dict[str, PartitionRecord]:
        return {}


def _same_table(t: sa.Table, database: str, table: TableRef) -> list[sa.ColumnElement[bool]]:
    return [
        t.c.database_name == database,
        t.c.schema_name == _schema_key(table.schema),
        t.c.table_name == table.table,
    ]


def _table_state(row: Any) -> TableState:
    state = TableState.from_row(row)
    return replace(state, schema_name=state.schema_name or None)


def _partition(row: Any, *, with_states: bool) -> PartitionRecord:
    states: dict[str, ColumnState] = {}
    if with_states and row.get("states"):
        states = {
            name: ColumnState.from_json(data)
            for name, data in jsonutil.loads(row["states"]).items()
        }
    return PartitionRecord(
        partition_id=row["partition_id"],
        label=row["partition_label"],
        value=json.loads(row["partition_value"]) if row["partition_value"] else None,
        fingerprint=row["fingerprint"],
        row_count=row["row_count"],
        states=states,
        last_run_id=row["last_run_id"],
        profiled_at=row["profiled_at"],
    )
