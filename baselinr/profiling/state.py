"""Partial aggregates of one column over some rows, and how two of them combine.

A profile of a table is ``ColumnState`` per column; a profile of a partition is the
same thing over fewer rows. ``merge`` combines states of disjoint row sets so that
metrics of the merged state equal metrics of a profile over the union: exactly for
counts, min and max and histograms; mean and variance through (n, sum, M2) with
Chan's parallel update, which is numerically stable.

M2 (the sum of squared deviations from the mean) is ``m2 * 2**m2_exponent``: the
exponent is 0 unless the variance is beyond float range (values near 1e300 or
1e-300), so a standard deviation that is itself a float is never lost.
"""

import datetime as dt
import math
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from baselinr.jsonutil import decode_value, encode_value
from baselinr.profiling.sketch import DistinctSketch
from baselinr.values import Moment


@dataclass(frozen=True)
class Histogram:
    """Counts per bin for fixed edges; bins are [e_i, e_i+1), the last one closed."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    underflow: int = 0
    overflow: int = 0

    def merge(self, other: "Histogram") -> "Histogram":
        if self.edges != other.edges:
            raise ValueError("cannot merge histograms with different bin edges")
        return Histogram(
            self.edges,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            self.underflow + other.underflow,
            self.overflow + other.overflow,
        )

    @property
    def total(self) -> int:
        return sum(self.counts) + self.underflow + self.overflow

    def to_json(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "underflow": self.underflow,
            "overflow": self.overflow,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Histogram":
        return cls(
            tuple(float(e) for e in data["edges"]),
            tuple(int(c) for c in data["counts"]),
            int(data.get("underflow", 0)),
            int(data.get("overflow", 0)),
        )


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, float) != isinstance(b, float):  # an exact and a rounded sum
        return float(a) + float(b)
    return a + b


def _moment(value: Any) -> Any:
    """Dates and timestamps of states stored before they were ``Moment``s."""
    if isinstance(value, (dt.date, dt.datetime)):
        return Moment.from_python(value, date_only=not isinstance(value, dt.datetime))
    return value


def exact_mean(total: int | float | Decimal | None, n: int | None) -> float | Decimal | None:
    """``total / n`` rounded once to a double; a Decimal (34 digits) when the mean
    is beyond the double range (decimals near 1e400)."""
    if not n or total is None:
        return None
    if isinstance(total, float):
        return total / n
    try:
        return float(Fraction(total) / n)
    except OverflowError:
        with localcontext() as ctx:
            ctx.prec = 34
            return Decimal(total) / n


def _pick(a: Any, b: Any, smaller: bool) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if smaller else max(a, b)


@dataclass(frozen=True)
class ColumnState:
    """Partial aggregates of one column. ``None`` means "not computed"."""

    rows: int
    non_null: int = 0
    distinct: int | None = None
    min: Any = None
    max: Any = None
    sum: int | float | None = None
    finite_count: int | None = None
    m2: float | None = None
    m2_exponent: int = 0  # even; M2 = m2 * 2**m2_exponent
    zeros: int | None = None
    non_finite: int | None = None
    length_min: int | None = None
    length_max: int | None = None
    length_sum: int | None = None
    histogram: Histogram | None = None
    quantiles: dict[str, float] | None = None
    top_values: list[dict[str, Any]] | None = None
    sketch: DistinctSketch | None = None

    @property
    def mean(self) -> float | Decimal | None:
        return exact_mean(self.sum, self.finite_count)

    @property
    def stddev(self) -> float | Decimal | None:
        """Sample standard deviation (n-1); None below two values (a Decimal beyond
        the double range)."""
        if self.finite_count is None or self.finite_count < 2 or self.m2 is None:
            return None
        spread = math.sqrt(max(self.m2, 0.0) / (self.finite_count - 1))
        try:
            return math.ldexp(spread, self.m2_exponent // 2)
        except OverflowError:
            with localcontext() as ctx:
                ctx.prec = 34
                return Decimal(spread) * Decimal(2) ** (self.m2_exponent // 2)

    def merge(self, other: "ColumnState") -> "ColumnState":
        """Combine with the state of a disjoint set of rows.

        Exact distinct counts, quantiles and top values cannot be combined from
        partial results; they come back as ``None`` and must be recomputed. Distinct
        sketches merge.
        """
        n_a, n_b = self.finite_count or 0, other.finite_count or 0
        if self.m2 is None or other.m2 is None or n_a == 0 or n_b == 0:
            kept = other if n_a == 0 else self if n_b == 0 else None
            m2 = kept.m2 if kept else None
            exponent = kept.m2_exponent if kept else 0
        else:
            exponent = max(self.m2_exponent, other.m2_exponent)
            # the mean difference in the same scale as the stored m2 (2**(exponent/2))
            delta = math.ldexp(float(other.mean or 0.0) - float(self.mean or 0.0), -(exponent // 2))
            m2 = (
                math.ldexp(self.m2, self.m2_exponent - exponent)
                + math.ldexp(other.m2, other.m2_exponent - exponent)
                + delta * delta * n_a * n_b / (n_a + n_b)
            )
        if self.histogram is None or other.histogram is None:
            histogram = self.histogram or other.histogram
        else:
            histogram = self.histogram.merge(other.histogram)
        sketch = None  # unknown unless both sides have one of the same hash
        if self.sketch and other.sketch and self.sketch.family == other.sketch.family:
            sketch = self.sketch.merge(other.sketch)
        return replace(
            self,
            rows=self.rows + other.rows,
            non_null=self.non_null + other.non_null,
            distinct=None,
            min=_pick(self.min, other.min, smaller=True),
            max=_pick(self.max, other.max, smaller=False),
            sum=_add(self.sum, other.sum),
            finite_count=_add(self.finite_count, other.finite_count),
            m2=m2,
            m2_exponent=exponent,
            zeros=_add(self.zeros, other.zeros),
            non_finite=_add(self.non_finite, other.non_finite),
            length_min=_pick(self.length_min, other.length_min, smaller=True),
            length_max=_pick(self.length_max, other.length_max, smaller=False),
            length_sum=_add(self.length_sum, other.length_sum),
            histogram=histogram,
            quantiles=None,
            top_values=None,
            sketch=sketch,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["min"] = encode_value(self.min)
        data["max"] = encode_value(self.max)
        data["sum"] = encode_value(self.sum)
        data["histogram"] = self.histogram.to_json() if self.histogram else None
        data["sketch"] = self.sketch.to_json() if self.sketch else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ColumnState":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["min"] = _moment(decode_value(values.get("min")))
        values["max"] = _moment(decode_value(values.get("max")))
        values["sum"] = decode_value(values.get("sum"))
        if values.get("histogram"):
            values["histogram"] = Histogram.from_json(values["histogram"])
        if values.get("sketch"):
            values["sketch"] = DistinctSketch.from_json(values["sketch"])
        return cls(**values)
