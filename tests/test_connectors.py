"""Engines, URLs, reflection and type categories on the real engines; every built-in
Postgres type profiles with every metric (the SQL is valid for each category)."""

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from baselinr.config.models import ConnectionConfig
from baselinr.connectors import Dialect, build_url, categorize, connect, create_engine, dialect_for
from baselinr.errors import ConfigError, WarehouseUnavailableError
from baselinr.profiling.metrics import BOOLEAN, DATETIME, NUMERIC, OTHER, STRING
from tests.support.warehouse import ALL_METRICS, columns_of, profile


@pytest.mark.parametrize(
    ("type_name", "category", "floating"),
    [
        ("INTEGER", NUMERIC, False),
        ("BIGINT", NUMERIC, False),
        ("SMALLINT", NUMERIC, False),
        ("HUGEINT", NUMERIC, False),
        ("NUMERIC(12, 2)", NUMERIC, True),
        ("DECIMAL(18,3)", NUMERIC, True),
        ("DOUBLE PRECISION", NUMERIC, True),
        ("REAL", NUMERIC, True),
        ("FLOAT", NUMERIC, True),
        ("TEXT", STRING, False),
        ("VARCHAR(20)", STRING, False),
        ("CHARACTER VARYING", STRING, False),
        ("UUID", STRING, False),
        ("DATE", DATETIME, False),
        ("TIMESTAMP WITHOUT TIME ZONE", DATETIME, False),
        ("TIMESTAMP WITH TIME ZONE", DATETIME, False),
        ("TIME", DATETIME, False),
        ("BOOLEAN", BOOLEAN, False),
        ("INTERVAL", OTHER, False),
        ("JSONB", OTHER, False),
        ("BYTEA", OTHER, False),
        ("BLOB", OTHER, False),
        ("INTEGER[]", OTHER, False),
        ("POINT", OTHER, False),
        ("MONEY", OTHER, False),
        ("int4range", OTHER, False),
        ("daterange", OTHER, False),
        ("character varying(5)", STRING, False),
        ("timestamp with time zone", DATETIME, False),
        ("time without time zone", DATETIME, False),
        ("STRUCT(a INTEGER)", OTHER, False),
        ("NULL", OTHER, False),
    ],
)
def test_categorize(type_name: str, category: str, floating: bool) -> None:
    assert categorize(type_name) == (category, floating)


PG_TYPES = {
    "i2": ("smallint", "1"),
    "i4": ("integer", "-2147483648"),
    "i8": ("bigint", "9223372036854775807"),
    "num": ("numeric(20, 4)", "'12345678901234.5678'"),
    "num_nan": ("numeric", "'NaN'"),
    "f4": ("real", "'Infinity'"),
    "f8": ("double precision", "'-1e300'"),
    "money": ("money", "12.5"),
    "txt": ("text", "'t'"),
    "vc": ("varchar(5)", "'v'"),
    "ch": ("char(3)", "'c'"),
    "uuid": ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
    "mood": ("mood", "'happy'"),
    "d": ("date", "'2024-02-29'"),
    "ts": ("timestamp", "'2024-01-01 00:00:01'"),
    "tstz": ("timestamptz", "'2024-01-01 00:00:01+02'"),
    "t": ("time", "'12:00'"),
    "iv": ("interval", "'1 day'"),
    "b": ("boolean", "true"),
    "js": ("json", "'{}'"),
    "jsb": ("jsonb", "'[1]'"),
    "by": ("bytea", "'\\x00'"),
    "arr": ("integer[]", "'{1,2}'"),
    "pt": ("point", "'(1,2)'"),
    "inet": ("inet", "'10.0.0.1'"),
    "xml": ("xml", "'<a/>'"),
    "rng": ("int4range", "'[1,5)'"),
    "dom": ("positive", "5"),
}


@pytest.mark.postgres
def test_every_postgres_type_profiles_with_every_metric(pg_engine: sa.Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(sa.text("CREATE TYPE mood AS ENUM ('sad', 'happy')"))
        conn.execute(sa.text("CREATE DOMAIN positive AS bigint CHECK (VALUE > 0)"))
        columns = ", ".join(f'"{n}" {t}' for n, (t, _) in PG_TYPES.items())
        conn.execute(sa.text(f"CREATE TABLE alltypes ({columns})"))
        values = ", ".join(v for _, v in PG_TYPES.values())
        for _ in range(3):
            conn.execute(sa.text(f"INSERT INTO alltypes VALUES ({values})"))
        conn.execute(
            sa.text(
                f"INSERT INTO alltypes ({', '.join(PG_TYPES)}) SELECT "
                + ", ".join(["NULL"] * len(PG_TYPES))
            )
        )
    reflected = {c.name: c for c in columns_of(pg_engine, "alltypes")}
    assert reflected["num"].category == NUMERIC and reflected["num"].floating
    assert reflected["i8"].category == NUMERIC and not reflected["i8"].floating
    assert reflected["mood"].category == STRING
    assert reflected["tstz"].category == DATETIME
    assert reflected["js"].category == OTHER and reflected["arr"].category == OTHER
    assert reflected["rng"].category == OTHER
    # the types Postgres prints (not NullType for point or xml); domains as their base
    assert (reflected["pt"].type_name, reflected["xml"].type_name) == ("point", "xml")
    assert reflected["num"].type_name == "numeric(20,4)"
    assert (reflected["dom"].type_name, reflected["dom"].category) == ("bigint", NUMERIC)
    result, seen = profile(pg_engine, "alltypes", ALL_METRICS)
    m = {c.column.name: c.metrics for c in result.columns}
    assert result.rows == 4 and all(v["count"] == 3 for v in m.values())
    assert m["i8"]["max"] == 2**63 - 1 and m["i8"]["stddev"] == 0.0
    assert m["num"]["mean"] == pytest.approx(12345678901234.5678, rel=1e-15)
    assert m["num_nan"]["non_finite_count"] == 3 and m["num_nan"]["mean"] is None
    assert m["f4"]["non_finite_count"] == 3 and m["f4"]["histogram"] is None
    assert m["uuid"]["min_length"] == 36 and m["mood"]["max_length"] == 5
    assert m["mood"]["top_values"] == [{"value": "happy", "count": 3}]
    assert m["tstz"]["distinct_count"] == 1
    assert m["dom"]["mean"] == 5.0
    assert set(m["js"]) == {"count", "null_count", "null_ratio"}
    assert len(seen) <= 4
    # distinct sketches of every type (hashed without printing dates, timestamps or
    # uuids as text), by SQL and, where installed, by the hll extension
    with pg_engine.begin() as conn:
        hll = conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'hll'"))
        native = hll.first() is not None
    for use_hll in (False, True) if native else (False,):
        if use_hll:
            with pg_engine.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION hll"))
        sketched, _ = profile(pg_engine, "alltypes", ("approx_distinct_count",))
        found = {c.column.name: c.metrics for c in sketched.columns if c.metrics}
        assert found and all(v == {"approx_distinct_count": 1} for v in found.values()), found
        assert set(found) == {n for n, v in m.items() if "distinct_count" in v}


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_file_warehouses_must_exist(tmp_path: Path, kind: str) -> None:
    config = ConnectionConfig(type=kind, filepath=str(tmp_path / "sub" / "missing.db"))
    with pytest.raises(ConfigError, match="database file not found"):
        create_engine(config, must_exist=True)
    assert not (tmp_path / "sub").exists()
    engine = create_engine(config)  # storage: created on first use, parents included
    with connect(engine):
        pass
    engine.dispose()
    assert (tmp_path / "sub" / "missing.db").exists()


def test_urls_from_fields() -> None:
    pg = ConnectionConfig(
        type="postgres", host="h", port=5433, database="d", username="u", password="p@ss/w:rd"
    )
    url = build_url(pg)
    assert url.drivername == "postgresql+psycopg2" and url.password == "p@ss/w:rd"
    assert sa.make_url(url.render_as_string(hide_password=False)).password == "p@ss/w:rd"
    assert "p@ss" not in str(url)  # str() hides it
    snow = build_url(
        ConnectionConfig(
            type="snowflake", account="acct", database="db", schema="s", username="u",
            warehouse="wh", role="r",
        )
    )  # fmt: skip
    assert (snow.host, snow.database, dict(snow.query)) == (
        "acct",
        "db/s",
        {"warehouse": "wh", "role": "r"},
    )
    bq = build_url(ConnectionConfig(type="bigquery", project="p", dataset="ds"))
    assert (bq.drivername, bq.host, bq.database) == ("bigquery", "p", "ds")


def test_missing_driver_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="install snowflake-sqlalchemy"):
        create_engine(ConnectionConfig(type="snowflake", account="a", database="d"))


def test_unreachable_server_names_host_not_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_engine(
        ConnectionConfig(
            url=f"postgresql://bob:Secret-99@127.0.0.1:{port}/db"  # type: ignore[arg-type]
        )
    )
    with pytest.raises(WarehouseUnavailableError) as info, connect(engine, "warehouse"):
        pass
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "bob:***@" in message
    assert "Secret-99" not in message and "\n" not in message


def test_reflection_on_each_engine(warehouse: sa.Engine) -> None:
    with warehouse.begin() as conn:
        conn.execute(
            sa.text(
                'CREATE TABLE "Mixed" (a INTEGER, b DOUBLE PRECISION, c VARCHAR(10), d DATE, e BOOLEAN)'
            )
        )
        conn.execute(sa.text('CREATE VIEW "Mixed_view" AS SELECT a, c FROM "Mixed"'))
    dialect = dialect_for(warehouse)
    with warehouse.connect() as conn:
        schema = dialect.default_schema(conn)
        assert {"Mixed", "Mixed_view"} <= set(dialect.list_tables(conn, schema))
        assert schema in dialect.list_schemas(conn)
        assert not [s for s in dialect.list_schemas(conn) if s.startswith("pg_")]
        columns = dialect.list_columns(conn, schema, "Mixed")
        assert dialect.database_name(conn)
    assert [(c.name, c.category, c.floating) for c in columns] == [
        ("a", NUMERIC, False),
        ("b", NUMERIC, True),
        ("c", STRING, False),
        ("d", DATETIME, False),
        ("e", BOOLEAN, False),
    ]
    other = sa.create_mock_engine("mssql://", executor=lambda *a, **k: None)
    assert type(dialect_for(other)) is Dialect  # type: ignore[arg-type]


DUCK_TYPES = {
    "ti": ("TINYINT", "1"),
    "ui": ("UBIGINT", "18446744073709551615"),
    "hi": ("HUGEINT", "1000000000000000000000000000000"),  # 2**127 - 1 overflows sum()
    "dec": ("DECIMAL(18, 3)", "123456789012345.678"),
    "fl": ("FLOAT", "'inf'"),
    "db": ("DOUBLE", "'nan'"),
    "vc": ("VARCHAR", "'v'"),
    "uu": ("UUID", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
    "en": ("mood", "'happy'"),
    "d": ("DATE", "'2024-02-29'"),
    "ts": ("TIMESTAMP", "'2024-01-01 00:00:01'"),
    "tstz": ("TIMESTAMPTZ", "'2024-01-01 00:00:01+02'"),
    "t": ("TIME", "'12:00'"),
    "iv": ("INTERVAL", "INTERVAL 1 DAY"),
    "b": ("BOOLEAN", "true"),
    "bl": ("BLOB", "'\\x00'::BLOB"),
    "li": ("INTEGER[]", "[1, 2]"),
    "st": ("STRUCT(a INTEGER)", "{'a': 1}"),
    "mp": ("MAP(VARCHAR, INTEGER)", "MAP {'k': 1}"),
    "js": ("JSON", "'{}'"),
}


def test_every_duckdb_type_profiles_with_every_metric(tmp_path: Path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TYPE mood AS ENUM ('sad', 'happy')"))
        columns = ", ".join(f'"{n}" {t}' for n, (t, _) in DUCK_TYPES.items())
        conn.execute(sa.text(f"CREATE TABLE alltypes ({columns})"))
        values = ", ".join(v for _, v in DUCK_TYPES.values())
        for _ in range(3):
            conn.execute(sa.text(f"INSERT INTO alltypes VALUES ({values})"))
        conn.execute(sa.text("INSERT INTO alltypes (ti) VALUES (NULL)"))
    result, _ = profile(engine, "alltypes", ALL_METRICS)
    m = {c.column.name: c.metrics for c in result.columns}
    assert result.rows == 4 and all(v["count"] == 3 for v in m.values())
    assert m["ui"]["max"] == 2**64 - 1 and m["hi"]["max"] == 10**30
    assert m["hi"]["stddev"] == 0.0 and m["ui"]["mean"] == float(2**64 - 1)
    assert m["dec"]["mean"] == pytest.approx(123456789012345.678, rel=1e-15)
    assert m["db"]["non_finite_count"] == 3 and m["db"]["mean"] is None
    assert m["uu"]["min_length"] == 36 and m["en"]["top_values"] == [{"value": "happy", "count": 3}]
    assert set(m["st"]) == {"count", "null_count", "null_ratio"}
    engine.dispose()
