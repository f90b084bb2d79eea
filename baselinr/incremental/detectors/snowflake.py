"""Snowflake: ``INFORMATION_SCHEMA.TABLES`` (``last_altered``, ``row_count``,
``bytes``) for all configured tables in one query.

Only the SQL and the parsing of its rows are tested here (no Snowflake account);
see ``tests/test_incremental_detectors.py``. ``last_altered`` also moves on DDL and
on some background maintenance: that costs an unnecessary profile, never a missed
change. Snowflake has no partition metadata a profile could be restricted to, so
tables are always profiled as a whole.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.selectable import Select

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.incremental.detectors.base import (
    ChangeDetector,
    DetectTarget,
    TableSnapshot,
    digest,
    unavailable,
)

TABLES = sa.table(
    "TABLES",
    sa.column("TABLE_SCHEMA"),
    sa.column("TABLE_NAME"),
    sa.column("TABLE_TYPE"),
    sa.column("LAST_ALTERED"),
    sa.column("ROW_COUNT"),
    sa.column("BYTES"),
    schema="INFORMATION_SCHEMA",
)


def stored_name(name: str) -> str:
    """How Snowflake stores an identifier: unquoted names are upper case, and
    snowflake-sqlalchemy reports those in lower case."""
    return name.upper() if name == name.lower() else name


class SnowflakeDetector(ChangeDetector):
    name = "snowflake"

    def statement(self, targets: Sequence[DetectTarget]) -> Select[Any]:
        pairs = [(stored_name(t.table.schema or ""), stored_name(t.table.table)) for t in targets]
        return (
            sa.select(
                TABLES.c.TABLE_SCHEMA,
                TABLES.c.TABLE_NAME,
                TABLES.c.TABLE_TYPE,
                TABLES.c.LAST_ALTERED,
                TABLES.c.ROW_COUNT,
                TABLES.c.BYTES,
            )
            .where(sa.tuple_(TABLES.c.TABLE_SCHEMA, TABLES.c.TABLE_NAME).in_(pairs))
            .order_by(TABLES.c.TABLE_SCHEMA, TABLES.c.TABLE_NAME)
        )

    def parse(
        self, targets: Sequence[DetectTarget], rows: Iterable[Any]
    ) -> dict[TableRef, TableSnapshot]:
        found = {(r.TABLE_SCHEMA, r.TABLE_NAME): r for r in rows}
        out = {}
        for target in targets:
            key = (stored_name(target.table.schema or ""), stored_name(target.table.table))
            row = found.get(key)
            if row is None:
                out[target.table] = unavailable(
                    target.table, self.name, "not in INFORMATION_SCHEMA.TABLES"
                )
            elif row.TABLE_TYPE == "VIEW" or row.LAST_ALTERED is None:
                out[target.table] = unavailable(
                    target.table, self.name, "views have no last_altered"
                )
            else:
                out[target.table] = TableSnapshot(
                    table=target.table,
                    snapshot_id=digest(
                        "sf", jsonutil.encode_value(row.LAST_ALTERED), row.ROW_COUNT, row.BYTES
                    ),
                    method="information_schema",
                    estimated_rows=int(row.ROW_COUNT) if row.ROW_COUNT is not None else None,
                    estimated_bytes=int(row.BYTES) if row.BYTES is not None else None,
                )
        return out

    def detect(
        self, conn: Connection, targets: Sequence[DetectTarget]
    ) -> dict[TableRef, TableSnapshot]:
        if not targets:
            return {}
        return self.parse(targets, conn.execute(self.statement(targets)))
