"""Partition-level aggregates for partial (incremental) profiling.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from baselinr.storage.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(64)
NAME = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "baselinr_partition_state",
        sa.Column("database_name", NAME, primary_key=True),
        sa.Column("schema_name", NAME, primary_key=True),
        sa.Column("table_name", NAME, primary_key=True),
        sa.Column("partition_id", sa.String(512), primary_key=True),
        sa.Column("partition_label", sa.Text()),
        sa.Column("partition_value", sa.Text()),
        sa.Column("fingerprint", NAME),
        sa.Column("row_count", sa.BigInteger()),
        sa.Column("states", sa.Text()),
        sa.Column("last_run_id", ID),
        sa.Column("profiled_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("baselinr_partition_state")
