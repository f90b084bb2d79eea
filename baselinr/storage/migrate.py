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

Alembic (and Mako, Pygments behind it: a tenth of a second of start-up) is imported
only to upgrade. Opening a current database reads the version table with one
``SELECT`` and compares it with the revisions read from ``migrations/versions``
(``revision`` / ``down_revision`` of each script, as Alembic reads them; a test
checks both agree).
"""

import ast
import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.connectors import describe, dialect_for
from baselinr.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "baselinr_alembic_version"
_MIGRATIONS = Path(__file__).parent / "migrations"
_checked: set[str] = set()
_lock = threading.Lock()


def _config() -> "Config":
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


@functools.cache
def _revisions() -> dict[str, str | None]:
    """Each migration script's ``revision`` and its ``down_revision``."""
    graph: dict[str, str | None] = {}
    for path in sorted((_MIGRATIONS / "versions").glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if target is None and isinstance(node, ast.AnnAssign):
                target = node.target
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                found[target.id] = value.value
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            raise RuntimeError(f"{path.name}: revision/down_revision are not plain strings")
        graph[revision] = down
    return graph


def head_revision() -> str:
    graph = _revisions()
    heads = set(graph) - set(graph.values())
    if len(heads) != 1:
        raise RuntimeError(f"the storage migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def known_revisions() -> set[str]:
    return set(_revisions())


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the version table, None when there is none."""
    with engine.connect() as conn:
        return _stamped(conn)


def _stamped(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    found = conn.execute(sa.select(version.c.version_num)).scalars().all()
    if len(found) > 1:
        raise StorageError(
            f"{VERSION_TABLE} holds {len(found)} revisions ({', '.join(map(str, found))}): "
            "expected one"
        )
    return str(found[0]) if found else None


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
    from alembic import command

    cfg = _config()
    with engine.connect() as conn:
        dialect_for(conn).lock_for_migration(conn)
        current = _stamped(conn)
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
