"""Baseline: runs, results, events, table state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from baselinr.storage.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)
NAME = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "baselinr_runs",
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("database_name", NAME),
        sa.Column("schema_name", NAME),
        sa.Column("table_name", NAME, nullable=False),
        sa.Column("environment", NAME),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("row_count", sa.BigInteger()),
        sa.Column("column_count", sa.Integer()),
        sa.Column("rows_scanned", sa.BigInteger()),
        sa.Column("snapshot_id", NAME),
        sa.Column("dagster_run_id", ID),
        sa.Column("error", sa.Text()),
        sa.Column("sample_fraction", sa.Double()),
        sa.Column("metadata", sa.Text()),
    )
    op.create_index(
        "ix_baselinr_runs_table", "baselinr_runs", ["schema_name", "table_name", "started_at"]
    )
    op.create_index("ix_baselinr_runs_batch", "baselinr_runs", ["batch_id"])

    op.create_table(
        "baselinr_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("schema_name", NAME),
        sa.Column("table_name", NAME, nullable=False),
        sa.Column("column_name", NAME, nullable=False),
        sa.Column("column_type", NAME),
        sa.Column("metric_name", sa.String(64), nullable=False),
        sa.Column("metric_value", sa.Double()),
        sa.Column("metric_json", sa.Text()),
        sa.Column("profiled_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_baselinr_results_run", "baselinr_results", ["run_id"])
    op.create_index(
        "ix_baselinr_results_metric",
        "baselinr_results",
        ["schema_name", "table_name", "column_name", "metric_name"],
    )

    op.create_table(
        "baselinr_events",
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("run_id", ID),
        sa.Column("schema_name", NAME),
        sa.Column("table_name", NAME),
        sa.Column("column_name", NAME),
        sa.Column("metric_name", sa.String(64)),
        sa.Column("baseline_value", sa.Double()),
        sa.Column("current_value", sa.Double()),
        sa.Column("change_percent", sa.Double()),
        sa.Column("severity", sa.String(16)),
        sa.Column("action", sa.String(16)),
        sa.Column("reason", sa.Text()),
        sa.Column("snapshot_id", NAME),
        sa.Column("payload", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_baselinr_events_table", "baselinr_events", ["schema_name", "table_name", "created_at"]
    )
    op.create_index("ix_baselinr_events_type", "baselinr_events", ["event_type", "created_at"])

    op.create_table(
        "baselinr_table_state",
        sa.Column("database_name", NAME, primary_key=True),
        sa.Column("schema_name", NAME, primary_key=True),
        sa.Column("table_name", NAME, primary_key=True),
        sa.Column("last_run_id", ID),
        sa.Column("snapshot_id", NAME),
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


def downgrade() -> None:
    for table in ("baselinr_table_state", "baselinr_events", "baselinr_results", "baselinr_runs"):
        op.drop_table(table)
