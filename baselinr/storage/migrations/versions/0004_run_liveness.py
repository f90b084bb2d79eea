"""Run liveness: a heartbeat and the process that owns a running run, so that a killed
run is recognised (and marked failed) instead of counting as in flight.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from baselinr.storage.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("baselinr_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime()))
        batch.add_column(sa.Column("owner", sa.String(255)))
    op.create_index("ix_baselinr_runs_status", "baselinr_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_baselinr_runs_status", "baselinr_runs")
    with op.batch_alter_table("baselinr_runs") as batch:
        batch.drop_column("owner")
        batch.drop_column("heartbeat_at")
