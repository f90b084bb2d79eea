"""SQLite: no variance or quantile aggregates, no TABLESAMPLE, NaN cannot be stored."""

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from baselinr.connectors.base import ColumnInfo, Dialect, Sampled
from baselinr.profiling.sketch import REGISTERS, DistinctSketch, hash_rank

_MAX_DOUBLE = 1.7976931348623157e308
# Two rounds of a multiplicative hash of rowid (products stay below 2**62, where SQLite
# integers are exact): the same rows on every pass of a profile (random() would pick
# different rows for each statement), and a different, uncorrelated sample per seed.
_HASH_ROUNDS = ((2654435761 % 2147483647, 2147483647), (1597334677, 2147483629))


class SQLiteDialect(Dialect):
    name = "sqlite"
    aggregate_quantiles = False
    value_counts_pass = True

    def default_schema(self, conn: Connection) -> str | None:
        return "main"

    def list_schemas(self, conn: Connection) -> list[str]:
        return [row[1] for row in conn.exec_driver_sql("PRAGMA database_list")]

    def database_name(self, conn: Connection) -> str:
        return Path(conn.engine.url.database or "memory").stem

    def finite(
        self, col: ColumnElement[Any], column: ColumnInfo | None = None
    ) -> ColumnElement[bool]:
        return col.between(-_MAX_DOUBLE, _MAX_DOUBLE)

    def as_float(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.cast(col, sa.REAL)

    def sum(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        # sum() raises on integer overflow; total() is always a float and never fails.
        return sa.func.total(col)

    def exact_sum(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        # exact over 64-bit integers (a float when REAL values are mixed in); an
        # overflow raises, and the profiler falls back to total()
        return sa.func.sum(col)

    def sum_overflowed(self, exc: BaseException) -> bool:
        return "integer overflow" in str(exc)

    def top_value(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # SQLite's UNION ALL keeps each value's own type, so a REAL comes back as the
        # float itself (CAST(x AS TEXT) keeps 15 digits; printf is not exact either)
        return col

    # --- distinct sketches: SQLite has no hash function, Python builds them ------------
    def prepare_sketches(self, conn: Connection) -> bool:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.create_aggregate(_SKETCH_AGGREGATE, 1, _SketchBuilder)
        return True

    def sketch_aggregate(self, col: ColumnElement[Any], column: ColumnInfo) -> ColumnElement[Any]:
        # SQLite removes duplicates (in C) before the Python step sees a value
        return getattr(sa.func, _SKETCH_AGGREGATE)(sa.distinct(col))

    def read_sketch(self, raw: Any) -> DistinctSketch:
        if raw is None:
            return DistinctSketch.empty(self.name)
        return DistinctSketch(self.name, bytes(raw))

    def quantiles(self, col: ColumnElement[Any], levels: Sequence[float]) -> ColumnElement[Any]:
        raise NotImplementedError("SQLite quantiles come from a window query")

    def sample(self, table: FromClause, fraction: float, method: str, seed: int) -> Sampled:
        bucket: ColumnElement[int] = sa.literal_column("_rowid_")
        for multiplier, modulus in _HASH_ROUNDS:
            bucket = ((bucket + seed % modulus) % modulus) * multiplier % modulus
        modulus = _HASH_ROUNDS[-1][1]
        return Sampled(table, bucket < int(fraction * modulus))

    # --- engine behaviour ------------------------------------------------------------
    def upsert(
        self, conn: Connection, table: sa.Table, row: Mapping[str, Any], keys: Sequence[str]
    ) -> None:
        from sqlalchemy.dialects import sqlite

        self._on_conflict_update(conn, sqlite.insert(table), row, keys)

    def lock_for_migration(self, conn: Connection) -> None:
        # pysqlite runs DDL outside a transaction unless one is begun explicitly:
        # without this, a second process saw half-created tables.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def prepare_storage(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "connect", _for_many_writers)


def _for_many_writers(dbapi_connection: Any, _record: Any) -> None:
    """SQLite storage is written by several threads and processes (parallel tables,
    Dagster runs): write-ahead logging lets readers run during a write, and
    synchronous=NORMAL makes each commit cheap (still durable across crashes of the
    process; only an OS crash can lose the last commits)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


_SKETCH_AGGREGATE = "baselinr_sketch"


class _SketchBuilder:
    """The registers of the distinct values of a column (SQLite aggregate)."""

    def __init__(self) -> None:
        self.registers = bytearray(REGISTERS)

    def step(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1 and 1.0 are one value to SQLite
        data = value if isinstance(value, bytes) else f"{type(value).__name__}:{value}".encode()
        index, found = hash_rank(
            int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
        )
        if found > self.registers[index]:
            self.registers[index] = found

    def finalize(self) -> bytes:
        return bytes(self.registers)
