"""Bring a storage database to the current schema with Alembic, and check that it
really has that schema.

Safe to call from many processes at once (Dagster runs start in parallel): the
upgrade runs in one transaction that first takes a lock — an advisory lock on
Postgres, the database write lock (BEGIN IMMEDIATE) on SQLite — and then looks at
the revision again, so the loser of a race finds the winner's tables. Each engine is
checked once per process.

The version stamp alone is not trusted: after it, every table the code reads and
writes is compared with ``schema.py`` (``verify``), so a dropped column is a clear
error at open instead of events silently lost or runs stranded as ``running``. A
database stamped by a newer Baselinr is refused with advice, not migrated.
"""

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from baselinr.connectors import describe, dialect_for
from baselinr.errors import StorageError

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


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine) -> None:
    """Create or upgrade Baselinr's tables in ``engine`` to the newest revision, then
    verify them."""
    prepare(engine, create=True)


def prepare(engine: Engine, *, create: bool) -> None:
    """Make storage usable, once per engine per process: create or upgrade the tables
    (``create``) or require them to be current, refuse a newer schema, and verify the
    tables against ``schema.py``. Raises ``StorageError`` saying what to do."""
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        if key in _checked:
            return
        current = current_revision(engine)
        _refuse_newer(engine, current)
        if current != head_revision():
            if not create:
                raise StorageError(_not_current(engine, current))
            _upgrade(engine)
        verify(engine)
        _checked.add(key)


def _refuse_newer(engine: Engine, current: str | None) -> None:
    if current is not None and current not in known_revisions():
        raise StorageError(
            f"the Baselinr tables in {describe(engine.url)} were created by a newer "
            f"Baselinr (schema revision {current}; this version knows up to "
            f"{head_revision()}): upgrade Baselinr, or point storage at another database"
        )


def _not_current(engine: Engine, current: str | None) -> str:
    where = describe(engine.url)
    if current is None:
        return (
            f"there are no Baselinr tables in {where}; set storage.create_tables: true "
            "to create them"
        )
    return (
        f"the Baselinr tables in {where} are out of date (schema revision {current}, this "
        f"version needs {head_revision()}); set storage.create_tables: true to upgrade them"
    )


def _upgrade(engine: Engine) -> None:
    cfg = _config()
    with engine.connect() as conn:
        dialect_for(conn).lock_for_migration(conn)
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        current = context.get_current_revision()
        _refuse_newer(engine, current)  # another process may have got here first
        if current != head_revision():  # still, under the lock
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        conn.commit()


def missing_columns(engine: Engine, tables: list[sa.Table] | None = None) -> dict[str, list[str]]:
    """Per table (``schema.metadata`` by default) the columns the code needs that the
    database lacks; a missing table lists all of them."""
    from baselinr.storage.schema import metadata

    wanted = tables if tables is not None else list(metadata.sorted_tables)
    inspector = sa.inspect(engine)
    found = inspector.get_multi_columns(filter_names=[t.name for t in wanted])
    present = {name: {c["name"] for c in columns} for (_, name), columns in found.items()}
    missing = {}
    for table in wanted:
        have = present.get(table.name)
        lacks = [c.name for c in table.columns if have is None or c.name not in have]
        if lacks:
            missing[table.name] = lacks
    return missing


def verify(engine: Engine, tables: list[sa.Table] | None = None) -> None:
    """``StorageError`` naming every table or column the code needs and storage lacks."""
    missing = missing_columns(engine, tables)
    if not missing:
        return
    problems = "; ".join(
        f"{name} is missing"
        if _all_missing(name, cols, tables)
        else f"{name} lacks {', '.join(cols)}"
        for name, cols in missing.items()
    )
    raise StorageError(
        f"the Baselinr tables in {describe(engine.url)} do not match this version of Baselinr "
        f"({problems}), although the schema revision says they should; restore them from a "
        "backup, or point storage at a new database"
    )


def _all_missing(name: str, columns: list[str], tables: list[sa.Table] | None) -> bool:
    from baselinr.storage.schema import metadata

    table = metadata.tables.get(name)
    if table is None:
        table = next((t for t in tables or [] if t.name == name), None)
    return table is not None and len(columns) == len(table.columns)


def forget(engine: Engine) -> None:
    """Forget that ``engine`` was checked (tests that drop the tables use this)."""
    with _lock:
        _checked.discard(engine.url.render_as_string(hide_password=False))
