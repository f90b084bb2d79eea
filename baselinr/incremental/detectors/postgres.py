"""PostgreSQL: one catalog query for all configured tables of a source.

The fingerprint of a table is its row counters in ``pg_stat_all_tables``
(``n_tup_ins``, ``n_tup_upd``, ``n_tup_del``) plus ``pg_class.relfilenode`` — TRUNCATE,
VACUUM FULL and CLUSTER swap the file without touching the delete counter — plus a
signature of its columns (ADD/DROP/RENAME COLUMN rewrite nothing). Declaratively
partitioned tables have no storage of their own: their fingerprint is their leaf
partitions', and each leaf is reported as a partition, so a change in one child is a
change in that partition only.

Estimates come from ``reltuples`` (``n_live_tup`` while ``reltuples`` is -1, i.e.
before the first ANALYZE) and ``relpages`` (bytes unknown before the first ANALYZE
or VACUUM). Nothing here takes a lock on a user table. Counters are flushed
asynchronously by each backend, so a write can take up to a second or so (PG15) to
show up; the next plan sees it.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from baselinr.catalog import TableRef
from baselinr.incremental.detectors.base import (
    RELATION,
    ChangeDetector,
    DetectTarget,
    PartitionSnapshot,
    TableSnapshot,
    digest,
    unavailable,
)

# One row per configured table and per member of its inheritance tree (the
# partitions of a partitioned table). Only catalogs and statistics views are read —
# no function that opens or locks a user table (pg_partition_tree and
# pg_relation_size both would). Names travel as bind parameters.
CATALOG_QUERY = sa.text(
    """
    WITH RECURSIVE target AS (
        SELECT t.ord, c.oid AS relid
        FROM unnest(CAST(:schemas AS text[]), CAST(:tables AS text[]))
             WITH ORDINALITY AS t(schema_name, table_name, ord)
        JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
        JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
    ),
    tree AS (
        SELECT ord, relid, 0 AS level FROM target
        UNION ALL
        SELECT tree.ord, i.inhrelid, tree.level + 1
        FROM tree
        JOIN pg_catalog.pg_inherits i ON i.inhparent = tree.relid
    )
    SELECT
        tree.ord,
        tree.level,
        c.oid AS relid,
        n.nspname AS rel_schema,
        c.relname,
        c.relkind,
        c.relfilenode,
        c.reltuples,
        c.relpages,
        CAST(current_setting('block_size') AS bigint) AS block_size,
        s.relid IS NOT NULL AS has_stats,
        s.n_tup_ins,
        s.n_tup_upd,
        s.n_tup_del,
        s.n_live_tup,
        CASE WHEN tree.level = 0 THEN (
            SELECT md5(string_agg(
                a.attname || ':' || pg_catalog.format_type(a.atttypid, a.atttypmod),
                ',' ORDER BY a.attnum))
            FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        ) END AS columns_signature,
        current_setting('track_counts') AS track_counts
    FROM tree
    JOIN pg_catalog.pg_class c ON c.oid = tree.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid
    ORDER BY tree.ord, tree.level, c.relname
    """
)

_NO_COUNTERS = {
    "v": "views have no change counters",
    "f": "foreign tables have no change counters",
}


def _rows_estimate(row: Any) -> int | None:
    if row.reltuples is not None and row.reltuples >= 0:
        return int(row.reltuples)
    if row.has_stats and row.n_live_tup is not None:
        return int(row.n_live_tup)
    return None


def _bytes_estimate(row: Any) -> int | None:
    # relpages, like reltuples, is maintained by VACUUM/ANALYZE: unknown before the
    # first one. (pg_relation_size would be exact but takes a lock, so planning could
    # wait behind an ALTER TABLE.)
    if row.reltuples is None or row.reltuples < 0:
        return None
    return int(row.relpages or 0) * int(row.block_size)


def _leaf_fingerprint(row: Any) -> list[Any]:
    return [int(row.relfilenode), int(row.n_tup_ins), int(row.n_tup_upd), int(row.n_tup_del)]


class PostgresDetector(ChangeDetector):
    """Options: ``partitions`` (default true) reports the children of declaratively
    partitioned tables as partitions; false treats such a table as one unit."""

    name = "postgres"
    options = frozenset({"partitions"})
    reports_relation_partitions = True

    def detect(
        self, conn: Connection, targets: Sequence[DetectTarget]
    ) -> dict[TableRef, TableSnapshot]:
        if not targets:
            return {}
        default_schema = None
        if any(t.table.schema is None for t in targets):
            default_schema = str(conn.execute(sa.text("SELECT current_schema()")).scalar())
        params = {
            "schemas": [t.table.schema or default_schema for t in targets],
            "tables": [t.table.table for t in targets],
        }
        members: dict[int, list[Any]] = defaultdict(list)
        for row in conn.execute(CATALOG_QUERY, params):
            members[int(row.ord)].append(row)
        return {
            target.table: self._snapshot(target.table, members.get(i, []))
            for i, target in enumerate(targets, start=1)
        }

    def _snapshot(self, table: TableRef, rows: list[Any]) -> TableSnapshot:
        method = "pg_stat"
        if not rows:
            return unavailable(table, method, "table not found in pg_class")
        root = rows[0]
        if root.track_counts != "on":
            return unavailable(table, method, "track_counts is off: pg_stat counters never move")
        if root.relkind in _NO_COUNTERS:
            return unavailable(table, method, _NO_COUNTERS[root.relkind])
        partitioned = root.relkind == "p"
        # Members that hold rows: the leaf partitions of a partitioned table, or a
        # table and its (old-style) inheritance children, which its SELECT includes.
        leaves = [r for r in rows if r.relkind != "p"]
        for leaf in leaves:
            if leaf.relkind in _NO_COUNTERS:
                return unavailable(
                    table, method, f"partition {leaf.relname}: {_NO_COUNTERS[leaf.relkind]}"
                )
            if not leaf.has_stats:
                return unavailable(table, method, f"{leaf.relname} has no pg_stat_all_tables row")

        estimates = [_rows_estimate(leaf) for leaf in leaves]
        estimated_rows = None if None in estimates else sum(e or 0 for e in estimates)
        sizes = [_bytes_estimate(leaf) for leaf in leaves]
        estimated_bytes = None if None in sizes else sum(b or 0 for b in sizes)
        fingerprints = {int(leaf.relid): _leaf_fingerprint(leaf) for leaf in leaves}
        snapshot_id = digest(
            "pg", root.columns_signature, sorted(fingerprints.items(), key=lambda kv: kv[0])
        )
        details = {
            "relkind": root.relkind,
            "reltuples": float(root.reltuples) if root.reltuples is not None else None,
            "relpages": int(root.relpages or 0),
            "analyzed": bool(root.reltuples is not None and root.reltuples >= 0),
        }
        partitions = None
        mode = None
        if partitioned and self.settings.get("partitions", True):
            mode = RELATION
            partitions = tuple(
                PartitionSnapshot(
                    partition_id=f"{leaf.rel_schema}.{leaf.relname}",
                    label=str(leaf.relname),
                    value={
                        "schema": leaf.rel_schema,
                        "table": leaf.relname,
                        "oid": int(leaf.relid),
                    },
                    fingerprint=digest("pgp", fingerprints[int(leaf.relid)]),
                    rows=_rows_estimate(leaf),
                    bytes=_bytes_estimate(leaf),
                    relation=TableRef(str(leaf.rel_schema), str(leaf.relname)),
                    oid=int(leaf.relid),
                )
                for leaf in leaves
            )
        return TableSnapshot(
            table=table,
            snapshot_id=snapshot_id,
            method=method,
            estimated_rows=estimated_rows,
            estimated_bytes=estimated_bytes,
            partition_mode=mode,
            partitions=partitions,
            details=details,
        )
