"""Every metric, defined once: which column types it applies to, which partial
aggregates it is computed from, and whether it survives merging partitions.

The SQL for the partial aggregates lives in ``profiling/query.py`` and their merge
rules in ``profiling/state.py``; a metric here is a pure function of that state.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from baselinr.profiling.state import ColumnState, exact_mean
from baselinr.values import Moment

NUMERIC = "numeric"
STRING = "string"
DATETIME = "datetime"
BOOLEAN = "boolean"
OTHER = "other"
CATEGORIES = (NUMERIC, STRING, DATETIME, BOOLEAN, OTHER)
_ALL = frozenset(CATEGORIES)
_ORDERED = frozenset({NUMERIC, STRING, DATETIME})

QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class Metric:
    name: str
    categories: frozenset[str]
    needs: frozenset[str]
    compute: Callable[[ColumnState], Any]
    mergeable: bool
    description: str

    def applies_to(self, category: str) -> bool:
        return category in self.categories


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


def _mean(s: ColumnState) -> Any:
    return exact_mean(s.sum, s.finite_count)


def _shown(value: Any) -> Any:
    """An extreme as reported: dates and timestamps in their ISO 8601 text."""
    return value.isoformat() if isinstance(value, Moment) else value


def _stddev(s: ColumnState) -> Any:
    return s.stddev


def _avg_length(s: ColumnState) -> float | None:
    return _ratio(s.length_sum, s.non_null)


def _estimated_distinct(s: ColumnState) -> int | None:
    if s.sketch is None:
        return None
    return min(round(s.sketch.estimate()), s.non_null)  # never more than the values


def _unique_ratio(s: ColumnState) -> float | None:
    # exact when the distinct count was taken, else from the sketch (see ``needs_of``)
    return _ratio(s.distinct if s.distinct is not None else _estimated_distinct(s), s.non_null)


_DEFINITIONS = [
    Metric("count", _ALL, frozenset({"non_null"}), lambda s: s.non_null, True, "non-null values"),
    Metric(
        "null_count",
        _ALL,
        frozenset({"non_null"}),
        lambda s: s.rows - s.non_null,
        True,
        "null values",
    ),
    Metric(
        "null_ratio",
        _ALL,
        frozenset({"non_null"}),
        lambda s: _ratio(s.rows - s.non_null, s.rows),
        True,
        "nulls / rows",
    ),
    Metric(
        "distinct_count",
        _ALL - {OTHER},
        frozenset({"distinct"}),
        lambda s: s.distinct,
        False,
        "distinct non-null values",
    ),
    Metric(
        "approx_distinct_count",
        _ALL - {OTHER},
        frozenset({"sketch"}),
        _estimated_distinct,
        True,
        "distinct non-null values, estimated from a HyperLogLog sketch "
        "(0.81% relative standard error); merges across partitions",
    ),
    Metric(
        "unique_ratio",
        _ALL - {OTHER},
        frozenset({"distinct", "non_null"}),
        _unique_ratio,
        False,
        "distinct / non-null (estimated when approx_distinct_count is requested "
        "without distinct_count)",
    ),
    Metric(
        "min",
        _ORDERED,
        frozenset({"min"}),
        lambda s: _shown(s.min),
        True,
        "smallest non-null (finite) value",
    ),
    Metric(
        "max",
        _ORDERED,
        frozenset({"max"}),
        lambda s: _shown(s.max),
        True,
        "largest non-null (finite) value",
    ),
    Metric(
        "mean",
        frozenset({NUMERIC}),
        frozenset({"moments"}),
        _mean,
        True,
        "arithmetic mean of finite values",
    ),
    Metric(
        "stddev",
        frozenset({NUMERIC}),
        frozenset({"moments", "m2"}),
        _stddev,
        True,
        "sample standard deviation (n-1) of finite values; null below 2 values",
    ),
    Metric(
        "histogram",
        frozenset({NUMERIC}),
        frozenset({"histogram"}),
        lambda s: s.histogram.to_json() if s.histogram else None,
        True,
        "counts per fixed-edge bin, with under/overflow",
    ),
    Metric(
        "sum",
        frozenset({NUMERIC}),
        frozenset({"moments"}),
        lambda s: s.sum,
        True,
        "sum of finite values",
    ),
    Metric(
        "zero_count",
        frozenset({NUMERIC}),
        frozenset({"zeros"}),
        lambda s: s.zeros,
        True,
        "values equal to zero",
    ),
    Metric(
        "non_finite_count",
        frozenset({NUMERIC}),
        frozenset({"non_finite"}),
        lambda s: s.non_finite,
        True,
        "NaN and +/-infinity values (float columns)",
    ),
    Metric(
        "min_length",
        frozenset({STRING}),
        frozenset({"lengths"}),
        lambda s: s.length_min,
        True,
        "shortest string length",
    ),
    Metric(
        "max_length",
        frozenset({STRING}),
        frozenset({"lengths"}),
        lambda s: s.length_max,
        True,
        "longest string length",
    ),
    Metric(
        "avg_length",
        frozenset({STRING}),
        frozenset({"lengths", "non_null"}),
        _avg_length,
        True,
        "mean string length",
    ),
    Metric(
        "quantiles",
        frozenset({NUMERIC}),
        frozenset({"quantiles"}),
        lambda s: s.quantiles,
        False,
        "p01..p99, linear interpolation",
    ),
    Metric(
        "top_values",
        _ALL - {OTHER},
        frozenset({"top_values"}),
        lambda s: s.top_values,
        False,
        "most frequent values with counts",
    ),
]

METRICS: dict[str, Metric] = {m.name: m for m in _DEFINITIONS}

DEFAULT_METRICS: tuple[str, ...] = (
    "count",
    "null_count",
    "null_ratio",
    "distinct_count",
    "unique_ratio",
    "min",
    "max",
    "mean",
    "stddev",
    "histogram",
)


APPROX_DISTINCT = "approx_distinct_count"


def estimated_metrics(requested: Sequence[str]) -> tuple[str, ...]:
    """The requested metrics whose values are estimates: ``approx_distinct_count``,
    and ``unique_ratio`` when it is taken from the sketch."""
    if APPROX_DISTINCT not in requested:
        return ()
    if "unique_ratio" in requested and "distinct_count" not in requested:
        return (APPROX_DISTINCT, "unique_ratio")
    return (APPROX_DISTINCT,)


def needs_of(metric: Metric, requested: Sequence[str]) -> frozenset[str]:
    """The partial aggregates a metric needs among the ``requested`` ones: an
    estimated ``unique_ratio`` needs the sketch, not an exact distinct count."""
    if metric.name == "unique_ratio" and metric.name in estimated_metrics(requested):
        return frozenset({"sketch", "non_null"})
    return metric.needs


def metrics_for(category: str, requested: list[str] | tuple[str, ...]) -> list[Metric]:
    """The requested metrics that make sense for a column of this category."""
    return [METRICS[name] for name in requested if METRICS[name].applies_to(category)]


def compute_metrics(state: ColumnState, metrics: list[Metric]) -> dict[str, Any]:
    return {m.name: m.compute(state) for m in metrics}
