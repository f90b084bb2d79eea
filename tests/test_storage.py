"""Result storage on SQLite and PostgreSQL: the Alembic migration, atomic runs,
failures injected by database triggers, and a profiling process killed mid-run."""

import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from baselinr.config import BaselinrConfig
from baselinr.config.models import StorageConfig
from baselinr.errors import StorageError
from baselinr.runner import ProfileRunner
from baselinr.storage import Storage, migrate
from baselinr.storage.schema import metadata, results, runs
from tests.conftest import source_block
from tests.support.warehouse import create_table

# DESIGN §4: the contract columns (schema.py may add more, never fewer)
CONTRACT = {
    "baselinr_runs": {
        "run_id", "batch_id", "database_name", "schema_name", "table_name", "environment",
        "status", "action", "started_at", "finished_at", "row_count", "column_count",
        "rows_scanned", "snapshot_id", "dagster_run_id", "error",
    },
    "baselinr_results": {
        "id", "run_id", "schema_name", "table_name", "column_name", "column_type",
        "metric_name", "metric_value", "metric_json", "profiled_at",
    },
    "baselinr_events": {
        "event_id", "event_type", "run_id", "schema_name", "table_name", "column_name",
        "metric_name", "baseline_value", "current_value", "change_percent", "severity",
        "action", "reason", "snapshot_id", "payload", "created_at",
    },
    "baselinr_table_state": {
        "database_name", "schema_name", "table_name", "last_run_id", "snapshot_id",
        "decision", "decision_reason", "last_profiled_at", "last_checked_at",
        "interval_minutes", "staleness_score", "row_count", "bytes_estimate",
        "cost_estimate", "metadata",
    },
}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def storage(storage_url: str) -> Iterator[Storage]:
    opened = Storage.open(StorageConfig.model_validate({"connection": {"url": storage_url}}))
    yield opened
    opened.engine.dispose()


def test_migration_creates_the_contract_tables(storage: Storage) -> None:
    inspector = sa.inspect(storage.engine)
    names = set(inspector.get_table_names())
    assert set(CONTRACT) | {migrate.VERSION_TABLE} <= names
    for table, columns in CONTRACT.items():
        assert columns <= {c["name"] for c in inspector.get_columns(table)}, table
    assert migrate.current_revision(storage.engine) == migrate.head_revision()
    pk = inspector.get_pk_constraint("baselinr_table_state")["constrained_columns"]
    assert pk == ["database_name", "schema_name", "table_name"]
    # the migration builds exactly the tables and indexes the code declares
    with storage.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE})
        diff = [d for d in compare_metadata(context, metadata) if "alembic" not in str(d)]
    assert diff == []


def test_opening_twice_is_harmless(storage: Storage, storage_url: str) -> None:
    migrate.forget(storage.engine)
    again = Storage.open(StorageConfig.model_validate({"connection": {"url": storage_url}}))
    try:
        assert migrate.current_revision(again.engine) == migrate.head_revision()
    finally:
        again.engine.dispose()


def test_create_tables_false_on_an_empty_database_is_a_clear_error(tmp_path: Path) -> None:
    config = StorageConfig.model_validate(
        {
            "connection": {"url": "postgresql+psycopg2://u:hunter2@h/db"},
            "create_tables": False,
        }
    ).model_copy(
        update={
            "connection": StorageConfig.model_validate(
                {"connection": {"type": "sqlite", "filepath": str(tmp_path / "empty.db")}}
            ).connection
        }
    )
    with pytest.raises(StorageError, match="create_tables: true"):
        Storage.open(config)


def _open_in_process(url: str, start: float) -> str | None:
    time.sleep(max(0.0, start - time.time()))  # all at once
    storage = Storage.open(StorageConfig.model_validate({"connection": {"url": url}}))
    try:
        return migrate.current_revision(storage.engine)
    finally:
        storage.engine.dispose()


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_first_use_from_several_processes(
    tmp_path: Path, storage_url: str, attempt: int
) -> None:
    """Dagster starts runs in parallel: every process must find the tables, whoever
    creates them (the SQLite case failed now and then before the write lock)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        start = time.time() + 1.5  # after the interpreters have started
        revisions = pool.starmap(_open_in_process, [(storage_url, start)] * 4)
    assert revisions == [migrate.head_revision()] * 4


# --- atomic runs -------------------------------------------------------------------------


def _install_trigger(engine: sa.Engine, table: str, event: str, condition: str) -> None:
    """A trigger that aborts the statement: a failure injected into the real database."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER boom BEFORE {event} ON {table} WHEN {condition} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                )
            )
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER boom BEFORE {event} ON {table} FOR EACH ROW "
                    f"WHEN ({condition}) EXECUTE FUNCTION boom()"
                )
            )


def _counts(engine: sa.Engine) -> tuple[dict[str, str], dict[str, int]]:
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(runs.c.run_id, runs.c.status)).all())
        per_run = dict(
            conn.execute(
                sa.select(results.c.run_id, sa.func.count()).group_by(results.c.run_id)
            ).all()
        )
    return status, per_run


@pytest.mark.parametrize(
    ("table", "event", "condition"),
    [
        pytest.param("baselinr_results", "INSERT", "NEW.metric_name = 'max'", id="insert-fails"),
        pytest.param("baselinr_runs", "UPDATE", "NEW.status = 'completed'", id="completion-fails"),
    ],
)
def test_a_run_whose_write_fails_is_failed_and_has_no_results(
    storage: Storage,
    sqlite_engine: sa.Engine,
    make_config: Callable[..., BaselinrConfig],
    table: str,
    event: str,
    condition: str,
) -> None:
    create_table(sqlite_engine, "t", [("x", sa.Integer()), ("s", sa.Text())], [{"x": 1, "s": "a"}])
    _install_trigger(storage.engine, table, event, condition)
    config = make_config(
        source_block(sqlite_engine),
        [{"table": "t"}],
        storage={"connection": {"url": storage.engine.url.render_as_string(hide_password=False)}},
    )
    runner = ProfileRunner(config)
    try:
        outcome = runner.profile().outcomes[0]
    finally:
        runner.context.close()
    assert outcome.status == "failed"
    assert outcome.error and "injected failure" in outcome.error
    status, per_run = _counts(storage.engine)
    assert status == {outcome.run_id: "failed"}
    assert per_run == {}  # the results written before the failure were rolled back


def test_completed_runs_always_have_their_results(
    storage: Storage, sqlite_engine: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    for k in range(4):
        create_table(
            sqlite_engine, f"t{k}", [("x", sa.Integer())], [{"x": v} for v in range(k + 1)]
        )
    config = make_config(
        source_block(sqlite_engine),
        [{"pattern": "t*"}],
        storage={"connection": {"url": storage.engine.url.render_as_string(hide_password=False)}},
    )
    runner = ProfileRunner(config)
    try:
        result = runner.profile()
    finally:
        runner.context.close()
    assert result.ok
    status, per_run = _counts(storage.engine)
    assert set(status.values()) == {"completed"}
    # one row per column and metric, all in the run's transaction
    assert all(per_run[run_id] == 10 for run_id in status)
    with storage.engine.connect() as conn:
        stamps = conn.execute(
            sa.select(results.c.profiled_at, runs.c.finished_at).join(
                runs, runs.c.run_id == results.c.run_id
            )
        ).all()
    assert stamps and all(p == f and p.tzinfo is not None for p, f in stamps)
