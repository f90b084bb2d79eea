"""Alembic environment: always run by ``baselinr.storage.migrate`` with a connection."""

from alembic import context

from baselinr.storage.migrate import VERSION_TABLE
from baselinr.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
