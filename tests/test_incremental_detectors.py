"""Change detectors on real Postgres, SQLite and DuckDB; Snowflake and BigQuery on
their generated SQL (no warehouse here)."""

import datetime as dt
from collections import namedtuple
from pathlib import Path

import pytest
import sqlalchemy as sa

from baselinr.catalog import TableRef
from baselinr.engines import ENGINES, detector_for, register_detector
from baselinr.errors import ConfigError
from baselinr.incremental.detectors import (
    BigQueryDetector,
    ChangeDetector,
    DetectTarget,
    FallbackDetector,
    PostgresDetector,
    SnowflakeDetector,
    TableSnapshot,
)
from tests.support.incremental import StatementLog, analyze, write


def detect(
    engine: sa.Engine, detector: ChangeDetector, *targets: DetectTarget
) -> dict[TableRef, TableSnapshot]:
    with engine.connect() as conn:
        return detector.detect(conn, list(targets))


def one(engine: sa.Engine, detector: ChangeDetector, target: DetectTarget) -> TableSnapshot:
    return detect(engine, detector, target)[target.table]


# --- Postgres ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_one_catalog_query_for_many_tables_and_no_scans(pg_engine: sa.Engine) -> None:
    write(pg_engine, *[f"CREATE TABLE t{i} (id int, v float8)" for i in range(40)])
    write(
        pg_engine,
        *[
            f"INSERT INTO t{i} SELECT g, g * 0.5 FROM generate_series(1, {i + 1}) g"
            for i in range(40)
        ],
    )
    targets = [DetectTarget(TableRef("public", f"t{i}")) for i in range(40)]
    log = StatementLog(pg_engine)
    try:
        snapshots = detect(pg_engine, PostgresDetector(), *targets)
    finally:
        log.close()
    assert len(log.statements) == 1
    assert "pg_stat_all_tables" in log.statements[0]
    assert not any("t1" in s or "FROM public" in s for s in log.statements)  # no user table read
    assert all(s.reliable for s in snapshots.values())
    assert len({s.snapshot_id for s in snapshots.values()}) == 40
    # never analyzed: rows from n_live_tup, bytes unknown
    assert snapshots[TableRef("public", "t9")].estimated_rows == 10
    assert snapshots[TableRef("public", "t9")].estimated_bytes is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [
        "INSERT INTO t VALUES (100, 1.0)",
        "UPDATE t SET v = v + 1 WHERE id = 1",
        "DELETE FROM t WHERE id = 2",
        "TRUNCATE t",
        "ALTER TABLE t ADD COLUMN extra int",
        "ALTER TABLE t RENAME COLUMN v TO w",
        "VACUUM FULL t",
    ],
)
def test_postgres_snapshot_moves_on_every_kind_of_change(pg_engine: sa.Engine, change: str) -> None:
    write(
        pg_engine,
        "CREATE TABLE t (id int, v float8)",
        "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g",
    )
    target = DetectTarget(TableRef("public", "t"))
    before = one(pg_engine, PostgresDetector(), target)
    assert before == one(pg_engine, PostgresDetector(), target)  # stable without changes
    if change.startswith("VACUUM"):
        with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(change))
    else:
        write(pg_engine, change)
    after = one(pg_engine, PostgresDetector(), target)
    assert after.reliable
    assert after.snapshot_id != before.snapshot_id


@pytest.mark.postgres
def test_postgres_estimates_after_analyze(pg_engine: sa.Engine) -> None:
    write(
        pg_engine,
        "CREATE TABLE t (id int, pad text)",
        "INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g",
    )
    analyze(pg_engine, "t")
    snap = one(pg_engine, PostgresDetector(), DetectTarget(TableRef("public", "t")))
    assert snap.estimated_rows == 5000
    assert snap.estimated_bytes is not None and snap.estimated_bytes >= 5000 * 100
    assert snap.details["analyzed"] is True


@pytest.mark.postgres
def test_postgres_views_and_missing_tables_are_unreliable(pg_engine: sa.Engine) -> None:
    write(
        pg_engine,
        "CREATE TABLE t (id int)",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
    )
    snaps = detect(
        pg_engine,
        PostgresDetector(),
        DetectTarget(TableRef("public", "v")),
        DetectTarget(TableRef("public", "mv")),
        DetectTarget(TableRef("public", "gone")),
    )
    assert not snaps[TableRef("public", "v")].reliable
    assert "views" in (snaps[TableRef("public", "v")].unreliable or "")
    assert snaps[TableRef("public", "mv")].reliable  # materialized views have counters
    assert not snaps[TableRef("public", "gone")].reliable


@pytest.mark.postgres
def test_postgres_partitioned_table_reports_changed_children(pg_engine: sa.Engine) -> None:
    write(
        pg_engine,
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.events (day date, amount float8) PARTITION BY RANGE (day)",
        *[
            f"CREATE TABLE sales.events_d{d} PARTITION OF sales.events "
            f"FOR VALUES FROM ('2025-01-0{d}') TO ('2025-01-0{d + 1}')"
            for d in range(1, 5)
        ],
        "INSERT INTO sales.events SELECT DATE '2025-01-01' + (g % 4), g FROM generate_series(1, 400) g",
    )
    target = DetectTarget(TableRef("sales", "events"))
    before = one(pg_engine, PostgresDetector(), target)
    assert before.partition_mode == "relation"
    assert [p.label for p in before.partitions or ()] == [f"events_d{d}" for d in range(1, 5)]
    assert before.estimated_rows == 400
    assert {p.rows for p in before.partitions or ()} == {100}

    write(pg_engine, "INSERT INTO sales.events VALUES ('2025-01-03', 1.5)")
    after = one(pg_engine, PostgresDetector(), target)
    assert after.snapshot_id != before.snapshot_id
    moved = [
        p.label
        for p in after.partitions or ()
        if before.partition_map()[p.partition_id].fingerprint != p.fingerprint
    ]
    assert moved == ["events_d3"]

    flat = one(pg_engine, PostgresDetector({"partitions": False}), target)
    assert flat.partitions is None and flat.snapshot_id == after.snapshot_id


@pytest.mark.postgres
def test_postgres_planning_is_not_blocked_by_locks_on_user_tables(pg_engine: sa.Engine) -> None:
    write(
        pg_engine,
        "CREATE TABLE p (day date) PARTITION BY LIST (day)",
        "CREATE TABLE p1 PARTITION OF p FOR VALUES IN ('2025-01-01')",
    )
    locker = pg_engine.connect()
    try:
        locker.execute(sa.text("LOCK TABLE p IN ACCESS EXCLUSIVE MODE"))  # like a long ALTER
        with pg_engine.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '2s'"))
            snap = PostgresDetector().detect(conn, [DetectTarget(TableRef("public", "p"))])
        assert snap[TableRef("public", "p")].reliable
    finally:
        locker.rollback()
        locker.close()


@pytest.mark.postgres
def test_postgres_inheritance_children_are_part_of_the_parent(pg_engine: sa.Engine) -> None:
    write(pg_engine, "CREATE TABLE base (id int)", "CREATE TABLE child () INHERITS (base)")
    target = DetectTarget(TableRef("public", "base"))
    before = one(pg_engine, PostgresDetector(), target)
    write(pg_engine, "INSERT INTO child VALUES (1)")  # SELECT FROM base sees this row
    after = one(pg_engine, PostgresDetector(), target)
    assert after.snapshot_id != before.snapshot_id
    assert after.partitions is None


# --- fallback (SQLite, DuckDB) --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "duckdb"])
def small_engine(request: pytest.FixtureRequest, tmp_path: Path) -> sa.Engine:
    suffix = "db" if request.param == "sqlite" else "duckdb"
    engine = sa.create_engine(f"{request.param}:///{tmp_path / f'w.{suffix}'}")
    write(
        engine,
        "CREATE TABLE orders (id int, day text, amount float, updated_at text)",
        "INSERT INTO orders VALUES (1, '2025-01-01', 1.0, 'a'), (2, '2025-01-01', 2.0, 'a'), "
        "(3, '2025-01-02', 3.0, 'a'), (4, NULL, 4.0, 'a')",
    )
    return engine


def test_fallback_fingerprint_counts_rows_and_watermark(small_engine: sa.Engine) -> None:
    schema = "main"
    plain = DetectTarget(TableRef(schema, "orders"))
    marked = DetectTarget(TableRef(schema, "orders"), watermark_column="updated_at")
    detector = FallbackDetector()
    a, b = one(small_engine, detector, plain), one(small_engine, detector, marked)
    assert a.estimated_rows == 4 and a.method == "fingerprint"
    write(small_engine, "UPDATE orders SET amount = 9 WHERE id = 1")
    assert (
        one(small_engine, detector, plain).snapshot_id == a.snapshot_id
    )  # invisible without a watermark
    write(small_engine, "UPDATE orders SET amount = 8, updated_at = 'b' WHERE id = 1")
    assert one(small_engine, detector, marked).snapshot_id != b.snapshot_id
    write(small_engine, "DELETE FROM orders WHERE id = 3")
    assert one(small_engine, detector, plain).snapshot_id != a.snapshot_id
    # the watermark may also come from connector_overrides
    via_option = FallbackDetector({"watermark_column": "updated_at"})
    assert one(small_engine, via_option, plain).details["watermark_column"] == "updated_at"


def test_fallback_manifest_finds_changed_partitions(small_engine: sa.Engine) -> None:
    target = DetectTarget(TableRef("main", "orders"), partition_key="day")
    before = one(small_engine, FallbackDetector(), target)
    assert before.partition_mode == "key"
    assert [p.label for p in before.partitions or ()] == ["2025-01-01", "2025-01-02", "NULL"]
    assert [p.rows for p in before.partitions or ()] == [2, 1, 1]
    write(small_engine, "INSERT INTO orders VALUES (5, '2025-01-02', 5.0, 'a')")
    after = one(small_engine, FallbackDetector(), target)
    old = before.partition_map()
    assert [
        p.label for p in after.partitions or () if old[p.partition_id].fingerprint != p.fingerprint
    ] == ["2025-01-02"]
    off = one(small_engine, FallbackDetector({"partition_manifest": False}), target)
    assert off.partitions is None


def test_fallback_bad_watermark_is_unreliable_not_an_error(small_engine: sa.Engine) -> None:
    snap = one(
        small_engine,
        FallbackDetector(),
        DetectTarget(TableRef("main", "orders"), watermark_column="nope"),
    )
    assert not snap.reliable and "fingerprint query failed" in (snap.unreliable or "")


@pytest.mark.postgres
def test_fallback_failure_on_postgres_does_not_poison_the_next_table(pg_engine: sa.Engine) -> None:
    write(
        pg_engine, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)", "INSERT INTO b VALUES (1)"
    )
    snaps = detect(
        pg_engine,
        FallbackDetector(),
        DetectTarget(TableRef("public", "a"), watermark_column="nope"),
        DetectTarget(TableRef("public", "b")),
    )
    assert not snaps[TableRef("public", "a")].reliable
    assert (
        snaps[TableRef("public", "b")].reliable
        and snaps[TableRef("public", "b")].estimated_rows == 1
    )


def test_fallback_quotes_hostile_identifiers(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    write(
        engine,
        'CREATE TABLE "we""ird; drop table x" ("k""ey" text, "wm" int)',
        """INSERT INTO "we""ird; drop table x" VALUES ('a', 1)""",
    )
    target = DetectTarget(
        TableRef("main", 'we"ird; drop table x'), partition_key='k"ey', watermark_column="wm"
    )
    snap = one(engine, FallbackDetector(), target)
    assert snap.reliable and [p.label for p in snap.partitions or ()] == ["a"]


# --- registry ----------------------------------------------------------------------------------


def test_registry_picks_by_dialect_and_overrides() -> None:
    assert isinstance(detector_for("postgresql", {}), PostgresDetector)
    assert isinstance(detector_for("sqlite", {}), FallbackDetector)
    assert isinstance(detector_for("somethingelse", {}), FallbackDetector)
    chosen = detector_for(
        "postgresql", {"postgres": {"detector": "fallback", "watermark_column": "u"}}
    )
    assert isinstance(chosen, FallbackDetector) and chosen.settings["watermark_column"] == "u"
    by_path = detector_for(
        "sqlite", {"sqlite": {"detector": "baselinr.incremental.detectors:PostgresDetector"}}
    )
    assert isinstance(by_path, PostgresDetector)
    with pytest.raises(ConfigError, match="unknown option"):
        detector_for("postgresql", {"postgresql": {"colour": "red"}})
    with pytest.raises(ConfigError, match="unknown change detector"):
        detector_for("sqlite", {"sqlite": {"detector": "nope"}})
    with pytest.raises(ConfigError, match="cannot load"):
        detector_for("sqlite", {"sqlite": {"detector": "no.such.module:X"}})


def test_users_can_register_a_detector(tmp_path: Path) -> None:
    class Constant(ChangeDetector):
        name = "constant"

        def detect(
            self, conn: sa.Connection, targets: list[DetectTarget]
        ) -> dict[TableRef, TableSnapshot]:
            return {t.table: TableSnapshot(t.table, "always-the-same", "constant") for t in targets}

    saved = dict(ENGINES)
    try:
        register_detector("sqlite", Constant)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.db'}")
        with engine.connect() as conn:
            snaps = detector_for("sqlite", {}).detect(conn, [DetectTarget(TableRef("main", "x"))])
        assert snaps[TableRef("main", "x")].snapshot_id == "always-the-same"
        with pytest.raises(TypeError):
            register_detector("sqlite", object)  # type: ignore[arg-type]
    finally:
        ENGINES.clear()
        ENGINES.update(saved)


# --- Snowflake and BigQuery: SQL only -------------------------------------------------------------


def compiled(stmt: sa.sql.ClauseElement) -> str:
    return " ".join(str(stmt.compile(compile_kwargs={"literal_binds": True})).split())


def test_snowflake_sql_is_one_information_schema_query() -> None:
    targets = [
        DetectTarget(TableRef("analytics", "orders")),
        DetectTarget(TableRef("Raw", "Events")),
    ]
    sql = compiled(SnowflakeDetector().statement(targets))
    assert sql == (
        'SELECT "INFORMATION_SCHEMA"."TABLES"."TABLE_SCHEMA", "INFORMATION_SCHEMA"."TABLES"."TABLE_NAME", '
        '"INFORMATION_SCHEMA"."TABLES"."TABLE_TYPE", "INFORMATION_SCHEMA"."TABLES"."LAST_ALTERED", '
        '"INFORMATION_SCHEMA"."TABLES"."ROW_COUNT", "INFORMATION_SCHEMA"."TABLES"."BYTES" '
        'FROM "INFORMATION_SCHEMA"."TABLES" '
        'WHERE ("INFORMATION_SCHEMA"."TABLES"."TABLE_SCHEMA", "INFORMATION_SCHEMA"."TABLES"."TABLE_NAME") '
        "IN (('ANALYTICS', 'ORDERS'), ('Raw', 'Events')) "
        'ORDER BY "INFORMATION_SCHEMA"."TABLES"."TABLE_SCHEMA", "INFORMATION_SCHEMA"."TABLES"."TABLE_NAME"'
    )


def test_snowflake_rows_become_snapshots() -> None:
    Row = namedtuple("Row", "TABLE_SCHEMA TABLE_NAME TABLE_TYPE LAST_ALTERED ROW_COUNT BYTES")
    when = dt.datetime(2025, 1, 1, 12, tzinfo=dt.timezone.utc)
    targets = [DetectTarget(TableRef("analytics", n)) for n in ("orders", "v", "gone")]
    rows = [
        Row("ANALYTICS", "ORDERS", "BASE TABLE", when, 1000, 65536),
        Row("ANALYTICS", "V", "VIEW", None, None, None),
    ]
    snaps = SnowflakeDetector().parse(targets, rows)
    orders = snaps[TableRef("analytics", "orders")]
    assert (orders.reliable, orders.estimated_rows, orders.estimated_bytes) == (True, 1000, 65536)
    later = SnowflakeDetector().parse(
        targets, [rows[0]._replace(LAST_ALTERED=when + dt.timedelta(seconds=1)), rows[1]]
    )
    assert later[TableRef("analytics", "orders")].snapshot_id != orders.snapshot_id
    assert not snaps[TableRef("analytics", "v")].reliable
    assert not snaps[TableRef("analytics", "gone")].reliable


def test_bigquery_sql_is_one_partitions_query_per_dataset() -> None:
    targets = [
        DetectTarget(TableRef("sales", "orders"), partition_key="order_date"),
        DetectTarget(TableRef("sales", "items")),
        DetectTarget(TableRef("web", "events")),
    ]
    sql = [compiled(s) for s in BigQueryDetector().statements(targets)]
    assert len(sql) == 2
    assert sql[0] == (
        'SELECT "sales.INFORMATION_SCHEMA"."PARTITIONS".table_schema, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".table_name, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".partition_id, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".total_rows, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".total_logical_bytes, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".last_modified_time '
        'FROM "sales.INFORMATION_SCHEMA"."PARTITIONS" '
        "WHERE \"sales.INFORMATION_SCHEMA\".\"PARTITIONS\".table_name IN ('items', 'orders') "
        'ORDER BY "sales.INFORMATION_SCHEMA"."PARTITIONS".table_name, '
        '"sales.INFORMATION_SCHEMA"."PARTITIONS".partition_id'
    )
    assert '"web.INFORMATION_SCHEMA"' in sql[1] and "IN ('events')" in sql[1]


def test_bigquery_day_partitions_become_key_partitions() -> None:
    Row = namedtuple(
        "Row",
        "table_schema table_name partition_id total_rows total_logical_bytes last_modified_time",
    )
    t = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    target = DetectTarget(TableRef("sales", "orders"), partition_key="order_date")
    rows = [
        Row("sales", "orders", "20250101", 10, 100, t),
        Row("sales", "orders", "20250102", 20, 200, t),
        Row("sales", "orders", "__NULL__", 1, 10, t),
    ]
    snap = BigQueryDetector().parse([target], rows)[target.table]
    assert snap.partition_mode == "key" and snap.estimated_rows == 31
    assert [p.label for p in snap.partitions or ()] == ["2025-01-01", "2025-01-02", "NULL"]
    assert snap.partitions[0].value == {"$date": "2025-01-01"}  # type: ignore[index]
    touched = [rows[0], rows[1]._replace(last_modified_time=t + dt.timedelta(hours=1)), rows[2]]
    moved = BigQueryDetector().parse([target], touched)[target.table]
    old = snap.partition_map()
    assert [
        p.label for p in moved.partitions or () if old[p.partition_id].fingerprint != p.fingerprint
    ] == ["2025-01-02"]
    streaming = BigQueryDetector().parse(
        [target], [*rows, Row("sales", "orders", "__UNPARTITIONED__", 5, 0, t)]
    )
    assert streaming[target.table].partitions is None  # rows of unknown partitions: profile whole
    hourly = BigQueryDetector().parse([target], [Row("sales", "orders", "2025010112", 5, 0, t)])
    assert hourly[target.table].partitions is None and hourly[target.table].reliable
    missing = BigQueryDetector().parse([target], [])
    assert not missing[target.table].reliable
