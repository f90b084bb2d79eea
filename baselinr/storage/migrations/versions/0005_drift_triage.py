"""Drift triage (the dashboard API): who acknowledged or resolved a drift event, when,
and with what note; indexes for listing runs and events newest first (also by bare table name) and for
each table's latest run and the warehouses' counts.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from baselinr.storage.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME = sa.String(255)


def _triage_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("triage_status", sa.String(16)),  # NULL = open
        sa.Column("acknowledged_by", NAME),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_note", sa.Text()),
        sa.Column("resolved_by", NAME),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolved_note", sa.Text()),
    ]


def upgrade() -> None:
    for column in _triage_columns():
        op.add_column("baselinr_events", column)
    op.create_index("ix_baselinr_runs_started", "baselinr_runs", ["started_at", "run_id"])
    op.create_index(
        "ix_baselinr_runs_latest",
        "baselinr_runs",
        ["database_name", "environment", "schema_name", "table_name", "started_at"],
    )
    op.create_index("ix_baselinr_events_name", "baselinr_events", ["table_name", "created_at"])
    op.create_index("ix_baselinr_events_created", "baselinr_events", ["created_at", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_baselinr_events_name", "baselinr_events")
    op.drop_index("ix_baselinr_events_created", "baselinr_events")
    op.drop_index("ix_baselinr_runs_latest", "baselinr_runs")
    op.drop_index("ix_baselinr_runs_started", "baselinr_runs")
    with op.batch_alter_table("baselinr_events") as batch:
        for column in reversed(_triage_columns()):
            batch.drop_column(column.name)
