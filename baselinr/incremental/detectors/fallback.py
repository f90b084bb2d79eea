"""Engines without change metadata (SQLite, DuckDB, anything unknown): a cheap
fingerprint query per table.

Without a partition key: ``count(*)`` and, when a watermark column is configured,
``max(<watermark>)``. With ``partition.key``: a partition manifest — ``key, count(*)
[, max(<watermark>)]`` grouped by key — whose entries are compared with the stored
ones to find the partitions that changed.

What this cannot see: an UPDATE that leaves the row count and the watermark alone
(configure a ``watermark_column`` that your loads maintain, e.g. ``updated_at``), or
a delete and an insert that cancel out within one partition without a watermark.
``snapshot_ttl_minutes`` bounds how long such a change can go unprofiled.
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.connectors import dialect_for, first_line
from baselinr.incremental.detectors.base import (
    KEY,
    ChangeDetector,
    DetectTarget,
    PartitionSnapshot,
    TableSnapshot,
    digest,
    partition_id_for,
    partition_label_for,
    unavailable,
)


class FallbackDetector(ChangeDetector):
    """Options: ``watermark_column`` (used for tables whose entry names none) and
    ``partition_manifest`` (default true; false fingerprints partitioned tables as a
    whole, so they are never profiled partially)."""

    name = "fallback"
    options = frozenset({"watermark_column", "partition_manifest"})

    def detect(
        self, conn: Connection, targets: Sequence[DetectTarget]
    ) -> dict[TableRef, TableSnapshot]:
        return {t.table: self._one(conn, t) for t in targets}

    def _one(self, conn: Connection, target: DetectTarget) -> TableSnapshot:
        watermark = target.watermark_column or self.settings.get("watermark_column")
        key = target.partition_key if self.settings.get("partition_manifest", True) else None
        names = list(dict.fromkeys(n for n in (key, watermark) if n))
        table = sa.table(
            target.table.table, *[sa.column(n) for n in names], schema=target.table.schema
        )
        items: list[Any] = [sa.func.count().label("n")]
        if watermark:
            items.append(sa.func.max(table.c[watermark]).label("w"))
        if key:
            stmt = sa.select(table.c[key].label("k"), *items).group_by(table.c[key])
        else:
            stmt = sa.select(*items).select_from(table)
        method = "manifest" if key else "fingerprint"
        try:
            with dialect_for(conn).isolated(conn):
                rows = conn.execute(stmt).all()
        except sa.exc.DBAPIError as exc:
            why = f"fingerprint query failed: {first_line(exc)}"
            if watermark and not self._has_column(conn, target.table, watermark):
                # name the typo (the planner warns with it); still a full profile, never
                # a skip on a fingerprint that could not be taken
                why = f"fingerprint query failed: watermark_column '{watermark}' does not exist"
                return replace(
                    unavailable(target.table, method, why),
                    details={"watermark_missing": watermark},
                )
            return unavailable(target.table, method, why)
        details: dict[str, Any] = {"watermark_column": watermark} if watermark else {}
        if not key:
            row = rows[0]
            count = int(row.n)
            mark = jsonutil.encode_value(row.w) if watermark else None
            return TableSnapshot(
                table=target.table,
                snapshot_id=digest("fp", count, mark),
                method=method,
                estimated_rows=count,
                details=details,
            )
        partitions = []
        for row in rows:
            mark = jsonutil.encode_value(row.w) if watermark else None
            partitions.append(
                PartitionSnapshot(
                    partition_id=partition_id_for(row.k),
                    label=partition_label_for(row.k),
                    value=jsonutil.encode_value(row.k),
                    fingerprint=digest("mf", int(row.n), mark),
                    rows=int(row.n),
                )
            )
        partitions.sort(key=lambda p: p.partition_id)
        return TableSnapshot(
            table=target.table,
            snapshot_id=digest("mf", [[p.partition_id, p.fingerprint] for p in partitions]),
            method=method,
            estimated_rows=sum(p.rows or 0 for p in partitions),
            partition_mode=KEY,
            partitions=tuple(partitions),
            details={**details, "partition_key": key},
        )

    @staticmethod
    def _has_column(conn: Connection, table: TableRef, column: str) -> bool:
        try:
            with dialect_for(conn).isolated(conn):
                names = {
                    c.name for c in dialect_for(conn).list_columns(conn, table.schema, table.table)
                }
        except sa.exc.SQLAlchemyError:
            return True  # cannot tell: let the fingerprint query say what is wrong
        return column in names
