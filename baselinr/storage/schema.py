"""The storage tables (contract: DESIGN §4), declared once.

Migrations in ``storage/migrations`` create and evolve them; this module is what the
code reads and writes through. Timestamps are timezone-aware UTC on every backend.
"""

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect as SADialect

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Stores UTC, returns aware UTC datetimes (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: SADialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use datetime.now(timezone.utc)")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: SADialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


_ID = sa.String(64)
_NAME = sa.String(255)
_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

runs = sa.Table(
    "baselinr_runs",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("batch_id", _ID, nullable=False),
    sa.Column("database_name", _NAME),
    sa.Column("schema_name", _NAME),
    sa.Column("table_name", _NAME, nullable=False),
    sa.Column("environment", _NAME),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("row_count", sa.BigInteger()),
    sa.Column("column_count", sa.Integer()),
    sa.Column("rows_scanned", sa.BigInteger()),
    sa.Column("snapshot_id", _NAME),
    sa.Column("dagster_run_id", _ID),
    sa.Column("error", sa.Text()),
    # beyond the contract: how the run was made
    sa.Column("sample_fraction", sa.Double()),
    sa.Column("metadata", sa.Text()),
    # liveness (migration 0004): refreshed while the run is profiled; the process
    # (host, pid namespace, pid) that profiles it
    sa.Column("heartbeat_at", UTCDateTime()),
    sa.Column("owner", sa.String(255)),
    sa.Index("ix_baselinr_runs_table", "schema_name", "table_name", "started_at"),
    sa.Index("ix_baselinr_runs_batch", "batch_id"),
    sa.Index("ix_baselinr_runs_status", "status"),
    # the API (migration 0005): lists newest first; latest run per table, warehouse counts
    sa.Index("ix_baselinr_runs_started", "started_at", "run_id"),
    sa.Index(
        "ix_baselinr_runs_latest",
        "database_name",
        "environment",
        "schema_name",
        "table_name",
        "started_at",
    ),
)

results = sa.Table(
    "baselinr_results",
    metadata,
    sa.Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    sa.Column("run_id", _ID, nullable=False),
    sa.Column("schema_name", _NAME),
    sa.Column("table_name", _NAME, nullable=False),
    sa.Column("column_name", _NAME, nullable=False),
    sa.Column("column_type", _NAME),
    sa.Column("metric_name", sa.String(64), nullable=False),
    sa.Column("metric_value", sa.Double()),
    sa.Column("metric_json", sa.Text()),
    sa.Column("profiled_at", UTCDateTime(), nullable=False),
    sa.Index("ix_baselinr_results_run", "run_id"),
    sa.Index(
        "ix_baselinr_results_metric", "schema_name", "table_name", "column_name", "metric_name"
    ),
)

events = sa.Table(
    "baselinr_events",
    metadata,
    sa.Column("event_id", _ID, primary_key=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("run_id", _ID),
    sa.Column("schema_name", _NAME),
    sa.Column("table_name", _NAME),
    sa.Column("column_name", _NAME),
    sa.Column("metric_name", sa.String(64)),
    sa.Column("baseline_value", sa.Double()),
    sa.Column("current_value", sa.Double()),
    sa.Column("change_percent", sa.Double()),
    sa.Column("severity", sa.String(16)),
    sa.Column("action", sa.String(16)),
    sa.Column("reason", sa.Text()),
    sa.Column("snapshot_id", _NAME),
    sa.Column("payload", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # drift triage (the dashboard API, migration 0005): status NULL means open
    sa.Column("triage_status", sa.String(16)),
    sa.Column("acknowledged_by", _NAME),
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.Column("acknowledged_note", sa.Text()),
    sa.Column("resolved_by", _NAME),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("resolved_note", sa.Text()),
    sa.Index("ix_baselinr_events_table", "schema_name", "table_name", "created_at"),
    sa.Index("ix_baselinr_events_type", "event_type", "created_at"),
    sa.Index("ix_baselinr_events_created", "created_at", "event_id"),
    sa.Index("ix_baselinr_events_name", "table_name", "created_at"),
)

table_state = sa.Table(
    "baselinr_table_state",
    metadata,
    sa.Column("database_name", _NAME, primary_key=True),
    sa.Column("schema_name", _NAME, primary_key=True),
    sa.Column("table_name", _NAME, primary_key=True),
    sa.Column("last_run_id", _ID),
    sa.Column("snapshot_id", _NAME),
    sa.Column("decision", sa.String(16)),
    sa.Column("decision_reason", sa.Text()),
    sa.Column("last_profiled_at", UTCDateTime()),
    sa.Column("last_checked_at", UTCDateTime()),
    sa.Column("interval_minutes", sa.Integer()),
    sa.Column("staleness_score", sa.Double()),
    sa.Column("row_count", sa.BigInteger()),
    sa.Column("bytes_estimate", sa.BigInteger()),
    sa.Column("cost_estimate", sa.Double()),
    sa.Column("metadata", sa.Text()),
)

# Partition-level aggregates for partial profiling (DESIGN §4 leaves the design to us):
# one row per partition of a table whose partitions are tracked — a value of the
# entry's ``partition.key`` or a child table of a declaratively partitioned Postgres
# table. ``states`` holds each column's mergeable ``ColumnState`` as JSON;
# ``fingerprint`` is what the change detector saw when the partition was profiled.
partition_state = sa.Table(
    "baselinr_partition_state",
    metadata,
    sa.Column("database_name", _NAME, primary_key=True),
    sa.Column("schema_name", _NAME, primary_key=True),
    sa.Column("table_name", _NAME, primary_key=True),
    sa.Column("partition_id", sa.String(512), primary_key=True),
    sa.Column("partition_label", sa.Text()),
    sa.Column("partition_value", sa.Text()),
    sa.Column("fingerprint", _NAME),
    sa.Column("row_count", sa.BigInteger()),
    sa.Column("states", sa.Text()),
    sa.Column("last_run_id", _ID),
    sa.Column("profiled_at", UTCDateTime()),
)

# One row per batch (a CLI invocation or a Dagster run): what it did with each table and
# the totals (rows read and not read), so that summaries are read from storage.
batches = sa.Table(
    "baselinr_batches",
    metadata,
    sa.Column("batch_id", _ID, primary_key=True),
    sa.Column("environment", _NAME),
    sa.Column("dagster_run_id", _ID),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=False),
    sa.Column("tables", sa.Integer(), nullable=False),
    sa.Column("counts", sa.Text()),
    sa.Column("rows_scanned", sa.BigInteger()),
    sa.Column("rows_avoided", sa.BigInteger()),
    sa.Column("bytes_avoided", sa.BigInteger()),
    sa.Column("decisions", sa.Text()),
    sa.Index("ix_baselinr_batches_started", "started_at"),
)
