"""Bring a storage database to the current schema with Alembic.

Safe to call from many processes at once (Dagster runs start in parallel): the
upgrade runs in one transaction that first takes a lock — an advisory lock on
Postgres, the database write lock (BEGIN IMMEDIATE) on SQLite — and then looks at
the revision again, so the loser of a race finds the winner's tables. Each engine is
checked once per process.
"""

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from baselinr.connectors import dialect_for

VERSION_TABLE = "baselinr_alembic_version"
_checked: set[str] = set()
_lock = threading.Lock()


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine) -> None:
    """Create or upgrade Baselinr's tables in ``engine`` to the newest revision."""
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        if key in _checked:
            return
        if current_revision(engine) != head_revision():
            _upgrade(engine)
        _checked.add(key)


def _upgrade(engine: Engine) -> None:
    cfg = _config()
    with engine.connect() as conn:
        dialect_for(conn).lock_for_migration(conn)
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        if context.get_current_revision() != head_revision():  # still, under the lock
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        conn.commit()


def forget(engine: Engine) -> None:
    """Forget that ``engine`` was checked (tests that drop the tables use this)."""
    with _lock:
        _checked.discard(engine.url.render_as_string(hide_password=False))
