"""One row per batch: what it did with each table, rows read and not read.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from baselinr.storage.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(64)
NAME = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "baselinr_batches",
        sa.Column("batch_id", ID, primary_key=True),
        sa.Column("environment", NAME),
        sa.Column("dagster_run_id", ID),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("tables", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text()),
        sa.Column("rows_scanned", sa.BigInteger()),
        sa.Column("rows_avoided", sa.BigInteger()),
        sa.Column("bytes_avoided", sa.BigInteger()),
        sa.Column("decisions", sa.Text()),
    )
    op.create_index("ix_baselinr_batches_started", "baselinr_batches", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_baselinr_batches_started", "baselinr_batches")
    op.drop_table("baselinr_batches")
