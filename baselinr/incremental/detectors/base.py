"""What a change detector returns, and the base class detectors share.

A detector reads warehouse *metadata* (or, for engines without any, a cheap
fingerprint query) for many tables at once and returns one ``TableSnapshot`` per
table. It never reads state and never writes: comparing snapshots with stored state
is the planner's job.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.engine import Connection

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.errors import ConfigError

KEY = "key"  # partitions are values of the entry's partition.key
RELATION = "relation"  # partitions are child tables (declarative partitioning)


@dataclass(frozen=True)
class DetectTarget:
    """One table to look at, with what the config says about it."""

    table: TableRef
    partition_key: str | None = None  # build a partition manifest over this column
    watermark_column: str | None = None


@dataclass(frozen=True)
class PartitionSnapshot:
    """One partition as the detector saw it.

    ``partition_id`` is stable and unique (what storage is keyed by); ``label`` is for
    people; ``value`` is the JSON-safe form storage keeps (``jsonutil.encode_value`` of
    a key value, or ``{"schema", "table", "oid"}`` of a child table). The profiler
    reads the typed forms: ``key`` for a key partition, ``relation`` (and ``oid``) for
    a child table.
    """

    partition_id: str
    label: str | None
    value: Any
    fingerprint: str
    rows: int | None = None
    bytes: int | None = None
    relation: TableRef | None = None  # RELATION mode: the child table itself
    oid: int | None = None

    @property
    def key(self) -> Any:
        """KEY mode: the partition-key value, as the warehouse returns it."""
        return jsonutil.decode_value(self.value)


@dataclass(frozen=True)
class TableSnapshot:
    table: TableRef
    snapshot_id: str | None
    method: str
    estimated_rows: int | None = None
    estimated_bytes: int | None = None
    partition_mode: str | None = None  # KEY | RELATION | None
    partitions: tuple[PartitionSnapshot, ...] | None = None
    #: Why this metadata cannot be trusted to skip the table (None: it can).
    unreliable: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        return self.snapshot_id is not None and self.unreliable is None

    def partition_map(self) -> dict[str, PartitionSnapshot]:
        return {p.partition_id: p for p in self.partitions or ()}


def unavailable(table: TableRef, method: str, why: str) -> TableSnapshot:
    """A snapshot that says: no usable change metadata, profile in full."""
    return TableSnapshot(table=table, snapshot_id=None, method=method, unreliable=why)


def digest(prefix: str, *parts: Any) -> str:
    """A short, stable hash of JSON-encodable parts: ``pg:3f0a…``."""
    text = jsonutil.dumps(list(parts), sort_keys=True, separators=(",", ":"))
    return f"{prefix}:{hashlib.sha1(text.encode()).hexdigest()[:24]}"


def partition_id_for(value: Any) -> str:
    """The storage id of a partition-key value: its canonical JSON encoding, so that
    ``1`` and ``'1'`` (possible in SQLite) stay different partitions."""
    return jsonutil.dumps(jsonutil.encode_value(value), sort_keys=True)


def partition_label_for(value: Any) -> str:
    shown = jsonutil.display_value(value)
    return "NULL" if shown is None else str(shown)


class ChangeDetector:
    """Base class. Subclasses set ``name`` and ``options`` and implement ``detect``."""

    name: ClassVar[str] = "base"
    #: Option names accepted under ``incremental.change_detection.connector_overrides``.
    options: ClassVar[frozenset[str]] = frozenset()
    #: True when tables may report child tables as partitions without a partition key.
    reports_relation_partitions: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        unknown = sorted(set(options) - self.options - {"detector"})
        if unknown:
            allowed = ", ".join(sorted(self.options | {"detector"})) or "detector"
            raise ConfigError(
                f"incremental.change_detection.connector_overrides: unknown option(s) "
                f"{', '.join(unknown)} for the {self.name} detector (allowed: {allowed})"
            )
        self.settings: dict[str, Any] = options

    def detect(
        self, conn: Connection, targets: Sequence[DetectTarget]
    ) -> dict[TableRef, TableSnapshot]:
        raise NotImplementedError
