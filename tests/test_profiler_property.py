"""Property test: any column of ints, floats (subnormal, -0.0, huge, inf, NaN) or
unicode text, with nulls, profiles to the reference on every engine."""

import math
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.reference import check_column
from tests.support.warehouse import (
    ALL_METRICS,
    can_store_nan,
    create_table,
    metrics_by_column,
    profile,
)

ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# |x| <= 1e300: a sum of 40 values stays a float (beyond, Postgres raises 'value out
# of range' even in its own avg(); SQLite and DuckDB return inf)
floats = st.one_of(
    st.floats(min_value=-1e300, max_value=1e300),
    st.sampled_from([math.inf, -math.inf, math.nan, -0.0, 5e-324, 2.2250738585072014e-308]),
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)


def _column(kind: Any) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(st.none(), kind), min_size=0, max_size=40)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(i=_column(ints), f=_column(floats), s=_column(texts), data=st.data())
def test_any_values_profile_to_the_reference(
    warehouse: sa.Engine, i: list[Any], f: list[Any], s: list[Any], data: st.DataObject
) -> None:
    n = max(len(i), len(f), len(s))
    if not can_store_nan(warehouse):
        f = [None if v is not None and math.isnan(v) else v for v in f]
    rows = [
        {
            "i": i[k] if k < len(i) else None,
            "f": f[k] if k < len(f) else None,
            "s": s[k] if k < len(s) else None,
        }
        for k in range(n)
    ]
    create_table(
        warehouse, "prop", [("i", sa.BigInteger()), ("f", sa.Double()), ("s", sa.Text())], rows
    )
    result, seen = profile(warehouse, "prop", ALL_METRICS)
    # at most 4, plus one for the quantile edges of a skewed column's first histogram
    assert result.rows == n and len(seen) <= 5
    problems = []
    for name, metrics in metrics_by_column(result).items():
        problems += check_column(name, metrics, [r[name] for r in rows])
    assert not problems, "\n".join(problems)
