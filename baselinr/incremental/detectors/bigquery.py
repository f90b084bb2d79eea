"""BigQuery: ``INFORMATION_SCHEMA.PARTITIONS`` (``last_modified_time``,
``total_rows``, ``total_logical_bytes``) — one query per dataset.

Only the SQL and the parsing of its rows are tested here (no BigQuery project).
The dataset-qualified view name (``<dataset>.INFORMATION_SCHEMA.PARTITIONS``) relies
on sqlalchemy-bigquery splitting a dotted schema into quoted parts.

Day-partitioned tables whose entry sets ``partition.key`` (the partitioning column)
report their partitions (``20240131`` becomes the date 2024-01-31), so a change to
one day is profiled partially. Rows still in the streaming buffer
(``__UNPARTITIONED__``) belong to no known partition: such a table is profiled as a
whole. Hour/month/year and integer-range partitions are fingerprinted per
partition but profiled as a whole.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.selectable import Select

from baselinr import jsonutil
from baselinr.catalog import TableRef
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

NULL_PARTITION = "__NULL__"
STREAMING = "__UNPARTITIONED__"


def partitions_view(dataset: str) -> sa.TableClause:
    return sa.table(
        "PARTITIONS",
        sa.column("table_schema"),
        sa.column("table_name"),
        sa.column("partition_id"),
        sa.column("total_rows"),
        sa.column("total_logical_bytes"),
        sa.column("last_modified_time"),
        schema=f"{dataset}.INFORMATION_SCHEMA",
    )


def partition_value(partition_id: str | None) -> tuple[bool, Any]:
    """(usable as a key value, the value) for a PARTITIONS ``partition_id``."""
    if partition_id == NULL_PARTITION:
        return True, None
    if partition_id and len(partition_id) == 8 and partition_id.isdigit():
        return True, dt.date(int(partition_id[:4]), int(partition_id[4:6]), int(partition_id[6:]))
    return False, partition_id


class BigQueryDetector(ChangeDetector):
    name = "bigquery"

    def statements(self, targets: Sequence[DetectTarget]) -> list[Select[Any]]:
        by_dataset: dict[str, list[str]] = defaultdict(list)
        for t in targets:
            by_dataset[t.table.schema or ""].append(t.table.table)
        out = []
        for dataset, names in sorted(by_dataset.items()):
            view = partitions_view(dataset)
            out.append(
                sa.select(
                    view.c.table_schema,
                    view.c.table_name,
                    view.c.partition_id,
                    view.c.total_rows,
                    view.c.total_logical_bytes,
                    view.c.last_modified_time,
                )
                .where(view.c.table_name.in_(sorted(set(names))))
                .order_by(view.c.table_name, view.c.partition_id)
            )
        return out

    def parse(
        self, targets: Sequence[DetectTarget], rows: Iterable[Any]
    ) -> dict[TableRef, TableSnapshot]:
        grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for r in rows:
            grouped[(r.table_schema, r.table_name)].append(r)
        out = {}
        for target in targets:
            members = grouped.get((target.table.schema or "", target.table.table), [])
            if not members:
                out[target.table] = unavailable(
                    target.table, self.name, "not in INFORMATION_SCHEMA.PARTITIONS (a view?)"
                )
                continue
            parts = sorted(
                (
                    r.partition_id,
                    jsonutil.encode_value(r.last_modified_time),
                    int(r.total_rows or 0),
                    int(r.total_logical_bytes or 0),
                )
                for r in members
            )
            streaming = any(p[0] == STREAMING and p[2] for p in parts)
            keyed = [partition_value(p[0]) for p in parts]
            partial_ok = (
                target.partition_key is not None
                and not streaming
                and all(p[0] is not None for p in parts)
                and all(ok for ok, _ in keyed)
            )
            partitions = None
            if partial_ok:
                partitions = tuple(
                    PartitionSnapshot(
                        partition_id=partition_id_for(value),
                        label=partition_label_for(value),
                        value=jsonutil.encode_value(value),
                        fingerprint=digest("bqp", modified, rows_, bytes_),
                        rows=rows_,
                        bytes=bytes_,
                    )
                    for (_, modified, rows_, bytes_), (_, value) in zip(parts, keyed, strict=True)
                )
            out[target.table] = TableSnapshot(
                table=target.table,
                snapshot_id=digest("bq", parts),
                method="information_schema",
                estimated_rows=sum(p[2] for p in parts),
                estimated_bytes=sum(p[3] for p in parts),
                partition_mode=KEY if partitions is not None else None,
                partitions=partitions,
                details={"streaming_buffer": streaming},
            )
        return out

    def detect(
        self, conn: Connection, targets: Sequence[DetectTarget]
    ) -> dict[TableRef, TableSnapshot]:
        rows: list[Any] = []
        for stmt in self.statements(targets):
            rows.extend(conn.execute(stmt))
        return self.parse(targets, rows)
