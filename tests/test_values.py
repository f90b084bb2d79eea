"""Canonical values (``baselinr.values``), histogram edges (``profiling.edges``) and the
exact-number storage rule, against Python's own datetime, numpy and exact arithmetic."""

import datetime as dt
import json
import math
import random
from decimal import Decimal

import numpy as np
import pytest

from baselinr import jsonutil
from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo
from baselinr.profiling.edges import choose_edges, quantile_edges, quantile_ranks, skewed
from baselinr.profiling.profiler import build_profile
from baselinr.profiling.state import ColumnState
from baselinr.storage.writer import result_rows
from baselinr.values import Moment, civil_from_days, days_from_civil, number_text


def test_the_calendar_matches_python_and_goes_beyond_it() -> None:
    rng = random.Random(4)
    for _ in range(2000):
        day = dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_652_058))
        days = (day - dt.date(1970, 1, 1)).days
        assert days_from_civil(day.year, day.month, day.day) == days
        assert civil_from_days(days) == (day.year, day.month, day.day)
    # proleptic Gregorian beyond Python's range: 1 BC (year 0) is a leap year
    for year in (-43, 0, -400, 10_000, 294_246):
        for month, day in ((1, 1), (2, 28), (12, 31)):
            assert civil_from_days(days_from_civil(year, month, day)) == (year, month, day)
    assert days_from_civil(0, 3, 1) - days_from_civil(0, 2, 28) == 2


def test_moments_print_iso_8601_in_utc() -> None:
    naive = Moment.from_python(dt.datetime(2013, 1, 1, 10, 0, 0))
    aware = Moment.from_python(
        dt.datetime(2013, 1, 1, 12, 0, 0, 500, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    assert naive.isoformat() == "2013-01-01T10:00:00+00:00"
    assert aware.isoformat() == "2013-01-01T10:00:00.000500+00:00"
    assert Moment.from_python(dt.date(2024, 2, 29)).isoformat() == "2024-02-29"
    bc = Moment.from_epoch("-63517824000", date_only=True)  # Postgres: 0044-03-15 BC
    assert bc is not None and bc.isoformat() == "-0043-03-15"
    assert Moment.from_micros("-63517824000000000", True) == bc  # DuckDB
    assert Moment.from_epoch("Infinity", True) == Moment.infinity(False, True)
    assert Moment.from_micros("-infinity", False) < bc < naive < Moment.infinity(False, False)
    assert str(Moment.from_epoch("-Infinity", False)) == "-infinity"
    far = Moment(days_from_civil(10_000, 1, 1) * 86_400_000_000, True)
    assert far.isoformat() == "+10000-01-01" and far.to_python() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-01-01 10:00:00", "2013-01-01T10:00:00+00:00"),
        ("2013-01-01T10:00:00.123Z", "2013-01-01T10:00:00.123000+00:00"),
        ("2013-01-01 12:30:00+02:30", "2013-01-01T10:00:00+00:00"),
        ("-0043-03-15", "-0043-03-15T00:00:00+00:00"),
        ("infinity", "infinity"),
    ],
)
def test_sqlite_text_is_parsed(text: str, expected: str) -> None:
    found = Moment.parse(text, date_only=False)
    assert found is not None and found.isoformat() == expected


@pytest.mark.parametrize("text", ["2013-02-30", "junk", "2013-13-01", "2013-01-01 25:00"])
def test_text_that_is_no_date_is_not_parsed(text: str) -> None:
    assert Moment.parse(text, date_only=True) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-5, "-5"),
        (-5.0, "-5"),
        (Decimal("-5.00"), "-5"),
        (0.1, "0.1"),
        (Decimal("12.50"), "12.5"),
        (1e-05, "0.00001"),
        (1e-10, "1e-10"),
        (1.2345678901234568e17, "123456789012345680"),
        (1e21, "1e+21"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        (Decimal("1E+400"), "1e+400"),
        (2**63 - 1, "9223372036854775807"),
        (0.10000000149011612, "0.10000000149011612"),  # float4 0.1, exactly
    ],
)
def test_numbers_have_one_text(value: object, text: str) -> None:
    assert number_text(value) == text  # type: ignore[arg-type]
    if isinstance(value, float) and math.isfinite(value):
        assert float(text) == value  # reads back as the same double


def test_equal_width_edges_are_numpys() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        low = float(rng.choice([0, 1, -43, 1e9, -1e-3])) + float(rng.normal() * 10)
        high = low + float(rng.choice([1, 30, 1e-6, 1e6])) * float(rng.random())
        bins = int(rng.integers(1, 30))
        try:
            numpy_edges = np.histogram_bin_edges([low, high], bins=bins)
        except ValueError:  # numpy refuses ranges too small for its bins
            continue
        assert choose_edges(low, high, bins) == tuple(float(e) for e in numpy_edges)
    assert choose_edges(1, 31, 10)[9] == 28.0  # not 28.000000000000004
    assert choose_edges(5, 5, 10) == tuple(np.histogram_bin_edges([5.0], bins=10))


def test_quantile_edges_of_skewed_columns() -> None:
    assert skewed(-43, 1301, 12.6) and skewed(0, 100, 95) and not skewed(0, 100, 40)
    assert not skewed(5, 5, 5) and not skewed(0, 10, None)
    values = np.sort(np.concatenate([np.arange(100), [10_000.0]]))
    ranks = quantile_ranks(len(values), 10)
    assert ranks == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    edges = quantile_edges(0, 10_000, [float(values[r]) for r in ranks], 10)
    assert edges == (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 10_000.0)
    # mostly one value: too few quantile bins, so equal width
    assert quantile_edges(0, 50, [0.0] * 9, 10) == choose_edges(0, 50, 10)


def _stored(metrics_state: ColumnState, info: ColumnInfo) -> dict[str, object]:
    profile = build_profile(
        TableRef("s", "t"),
        metrics_state.rows,
        (info,),
        {info.name: metrics_state},
        ("min", "max", "sum"),
    )
    rows = result_rows("r", profile, dt.datetime.now(dt.timezone.utc))
    return {r["metric_name"]: (r["metric_value"], r["metric_json"]) for r in rows}


def test_exact_numbers_in_storage() -> None:
    big = ColumnInfo("b", "BIGINT", "numeric")
    state = ColumnState(rows=2, non_null=2, min=-(2**63), max=2**63 - 1, sum=-1, finite_count=2)
    stored = _stored(state, big)
    value, text = stored["max"]
    assert value == 9.223372036854776e18 and json.loads(text) == 2**63 - 1
    assert jsonutil.loads(stored["min"][1]) == -(2**63)
    assert stored["sum"] == (-1.0, None)  # the double is the value
    dec = ColumnInfo("n", "NUMERIC(38,10)", "numeric", floating=True)
    high = Decimal("9999999999999999999999999999.9999999999")
    stored = _stored(
        ColumnState(rows=1, non_null=1, min=Decimal("1.5"), max=high, sum=high, finite_count=1),
        dec,
    )
    assert stored["min"] == (1.5, None)
    assert stored["max"][0] == 1e28 and jsonutil.loads(stored["max"][1]) == high
    huge = Decimal("1E+400")
    stored = _stored(
        ColumnState(rows=1, non_null=1, min=huge, max=huge, sum=huge, finite_count=1), dec
    )
    assert stored["max"][0] is None and jsonutil.loads(stored["max"][1]) == huge


def test_partition_state_keeps_moments_and_decimals() -> None:
    state = ColumnState(
        rows=3,
        non_null=3,
        min=Moment.from_epoch("-Infinity", True),
        max=Moment.from_epoch("-63517824000", True),
        sum=Decimal("0.1"),
    )
    back = ColumnState.from_json(json.loads(jsonutil.dumps(state.to_json())))
    assert back.min == state.min and back.max == state.max and back.sum == Decimal("0.1")
    assert back.max is not None and back.max.isoformat() == "-0043-03-15"
