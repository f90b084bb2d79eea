"""Every metric against a numpy / exact-arithmetic reference, on real SQLite,
PostgreSQL and DuckDB, to 1e-9 relative (counts exactly)."""

import datetime as dt
import math
import random
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.profiling.metrics import DEFAULT_METRICS, METRICS
from baselinr.profiling.query import choose_edges
from tests.support.reference import check_column, reference
from tests.support.warehouse import (
    ALL_METRICS,
    can_store_nan,
    create_table,
    metrics_by_column,
    profile,
)

WORDS = ["", "a", "héllo", "日本語", "zürich", "x y", "emoji 👍", "Ω", "plain", "plain2"]


def _mixed_rows(engine: sa.Engine, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    rows = []
    for _ in range(n):
        g: float | None = rng.gauss(-3.0, 2.0)
        roll = rng.random()
        if roll < 0.02:
            g = math.inf
        elif roll < 0.03:
            g = -math.inf
        elif roll < 0.05:
            g = math.nan if can_store_nan(engine) else None
        elif roll < 0.08:
            g = None
        rows.append(
            {
                "i": None if rng.random() < 0.1 else rng.randint(-1000, 1000),
                "big": 2**62 + rng.randint(-(10**6), 10**6),
                "f": None if rng.random() < 0.05 else rng.gauss(1000.0, 50.0),
                "g": g,
                "z": rng.choice([0, 0, 0, 1, 2, -3, 7]),
                "q": rng.choice([0.5, 1.5, 2.25, -4.0]) if rng.random() < 0.9 else None,
                "s": None if rng.random() < 0.1 else rng.choices(WORDS, weights=range(1, 11))[0],
                "d": start + dt.timedelta(days=rng.randint(0, 400)),
                "ts": dt.datetime(2024, 1, 1) + dt.timedelta(seconds=rng.randint(0, 10**7)),
                "b": None if rng.random() < 0.2 else rng.random() < 0.3,
            }
        )
    return rows


MIXED_COLUMNS = [
    ("i", sa.Integer()),
    ("big", sa.BigInteger()),
    ("f", sa.Double()),
    ("g", sa.Double()),
    ("z", sa.Integer()),
    ("q", sa.Double()),
    ("s", sa.Text()),
    ("d", sa.Date()),
    ("ts", sa.DateTime()),
    ("b", sa.Boolean()),
]


def _values(rows: list[dict[str, Any]], column: str) -> list[Any]:
    return [r[column] for r in rows]


def assert_matches_reference(result: Any, rows: list[dict[str, Any]]) -> None:
    problems = []
    for name, metrics in metrics_by_column(result).items():
        problems += check_column(name, metrics, _values(rows, name))
    assert not problems, "\n".join(problems)


def test_every_metric_matches_reference(warehouse: sa.Engine) -> None:
    rows = _mixed_rows(warehouse, 3000, seed=7)
    create_table(warehouse, "mixed", MIXED_COLUMNS, rows)
    result, _ = profile(warehouse, "mixed", tuple(METRICS))  # the estimates too

    assert result.rows == 3000
    by_column = metrics_by_column(result)
    # every metric appears for every column it applies to
    assert set(by_column["f"]) == {n for n, m in METRICS.items() if m.applies_to("numeric")}
    assert set(by_column["s"]) == {n for n, m in METRICS.items() if m.applies_to("string")}
    assert {"min", "max", "distinct_count", "top_values"} <= set(by_column["d"])
    assert "mean" not in by_column["b"] and "min" not in by_column["b"]
    assert_matches_reference(result, rows)
    # histogram edges: equal width over [min, max] of the finite values
    f = [v for v in _values(rows, "f") if v is not None]
    assert by_column["f"]["histogram"]["edges"] == list(choose_edges(min(f), max(f), 10))


def test_default_metrics_match_reference(warehouse: sa.Engine) -> None:
    rows = _mixed_rows(warehouse, 1500, seed=11)
    create_table(warehouse, "mixed", MIXED_COLUMNS, rows)
    result, _ = profile(warehouse, "mixed", DEFAULT_METRICS)
    by_column = metrics_by_column(result)
    assert set(by_column["f"]) == set(DEFAULT_METRICS)
    assert_matches_reference(result, rows)


def test_nan_and_infinity_are_counted_but_not_averaged(warehouse: sa.Engine) -> None:
    nan = math.nan if can_store_nan(warehouse) else None
    values = [1.0, 2.0, 4.0, math.inf, -math.inf, nan, None]
    create_table(warehouse, "special", [("x", sa.Double())], [{"x": v} for v in values])
    result, _ = profile(warehouse, "special", ALL_METRICS)
    x = metrics_by_column(result)["x"]
    assert x["count"] == (6 if can_store_nan(warehouse) else 5)
    assert x["non_finite_count"] == (3 if can_store_nan(warehouse) else 2)
    assert (x["min"], x["max"], x["sum"]) == (1.0, 4.0, 7.0)
    assert x["mean"] == pytest.approx(7 / 3, rel=1e-12)
    assert x["stddev"] == pytest.approx(math.sqrt(7 / 3), rel=1e-12)
    assert sum(x["histogram"]["counts"]) == 3
    assert x["histogram"]["underflow"] == x["histogram"]["overflow"] == 0
    assert x["quantiles"]["p50"] == 2.0
    assert not check_column("x", x, values)


def test_catastrophic_cancellation(warehouse: sa.Engine) -> None:
    """Mean 1e9, stddev 1e-3: naive sums of squares lose every digit, and the
    built-in var_pop of Postgres and DuckDB is off by ~5e-5 here."""
    rng = random.Random(3)
    values = [1e9 + rng.gauss(0, 1e-3) for _ in range(2000)]
    create_table(warehouse, "cancel", [("x", sa.Double())], [{"x": v} for v in values])
    result, _ = profile(warehouse, "cancel", ("mean", "stddev", "histogram", "sum"))
    x = metrics_by_column(result)["x"]
    want = reference(values)
    assert x["stddev"] == pytest.approx(want["stddev"], rel=1e-9)
    assert x["mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert not check_column("x", x, values)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([2**62 + k for k in (-7, 0, 1, 2, 3, 1000, 12345)], id="ints-near-2^62"),
        pytest.param([-(2**62) + k for k in (5, 0, 99)] + [2**62 - 1], id="ints-spanning-2^63"),
        pytest.param([1e15 + k * 0.25 for k in range(40)], id="1e15"),
        pytest.param([k * 1e-300 for k in range(1, 30)], id="1e-300"),
        pytest.param([1e300, -1e300, 5e299, 1.0], id="1e300"),
        pytest.param([2**53 + 1, 2**53 + 3, 2**53 + 5], id="ints-beyond-2^53"),
    ],
)
def test_huge_and_tiny_numbers(warehouse: sa.Engine, values: list[Any]) -> None:
    column_type = sa.BigInteger() if isinstance(values[0], int) else sa.Double()
    create_table(warehouse, "extreme", [("x", column_type)], [{"x": v} for v in values])
    result, _ = profile(warehouse, "extreme", ALL_METRICS)
    x = metrics_by_column(result)["x"]
    assert x["min"] == min(values) and x["max"] == max(values)
    problems = check_column("x", x, values)
    assert not problems, "\n".join(problems)


def test_histogram_follows_numpy_on_the_edges(warehouse: sa.Engine) -> None:
    """Values exactly on edges: bins are [e_k, e_k+1), the last closed; fixed edges
    from an earlier run put values outside them into under/overflow."""
    values = [0, 1, 2, 2, 3, 9, 10, 10, -1, 11, 5]
    create_table(warehouse, "edges", [("x", sa.Integer())], [{"x": v} for v in values])
    edges = (0.0, 2.0, 5.0, 10.0)
    result, _ = profile(warehouse, "edges", ("histogram",), histogram_edges={"x": edges})
    hist = metrics_by_column(result)["x"]["histogram"]
    assert hist == {"edges": list(edges), "counts": [2, 3, 4], "underflow": 1, "overflow": 1}
    assert hist == reference(values, edges)["histogram"]


def test_single_value_histogram_gets_a_unit_bin(warehouse: sa.Engine) -> None:
    create_table(warehouse, "one", [("x", sa.Double())], [{"x": 42.0}] * 3)
    result, _ = profile(warehouse, "one", ("histogram", "stddev", "mean"))
    x = metrics_by_column(result)["x"]
    assert x["histogram"]["edges"][0] == 41.5 and x["histogram"]["edges"][-1] == 42.5
    assert sum(x["histogram"]["counts"]) == 3
    assert x["stddev"] == 0.0 and x["mean"] == 42.0


@pytest.mark.parametrize("width", [3, 60])
def test_default_metrics_take_at_most_three_statements(warehouse: sa.Engine, width: int) -> None:
    """However wide the table: statement count is fixed (counted on the wire)."""
    rng = random.Random(width)
    columns = []
    for k in range(width):
        kind = (sa.Integer(), sa.Double(), sa.Text(), sa.Date())[k % 4]
        columns.append((f"c{k}", kind))
    rows = []
    for _ in range(200):
        row: dict[str, Any] = {}
        for name, kind in columns:
            if isinstance(kind, sa.Integer):
                row[name] = rng.randint(0, 50)
            elif isinstance(kind, sa.Double):
                row[name] = rng.random()
            elif isinstance(kind, sa.Text):
                row[name] = rng.choice(WORDS)
            else:
                row[name] = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 9))
        rows.append(row)
    create_table(warehouse, "wide", columns, rows)
    result, seen = profile(warehouse, "wide", DEFAULT_METRICS)
    assert result.statements == len(seen)
    assert len(seen) <= 3
    assert len(result.columns) == width
    # SQLite and DuckDB need two (aggregates, distribution); Postgres three (its
    # distinct counts run apart so that the rest can use parallel workers)
    assert len(seen) == (3 if warehouse.dialect.name == "postgresql" else 2)
