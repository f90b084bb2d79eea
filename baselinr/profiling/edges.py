"""Histogram bin edges: chosen once, from the first profile of a column, then fixed.

- **Equal width** over [min, max], exactly ``numpy.histogram(x, bins)``'s edges, for
  columns whose values spread over their range.
- **Quantiles** of the first profile for skewed columns — the mean in the outer fifth of
  [min, max], where equal-width bins would put most values into one bin (flight delays:
  95% in the first of ten bins) and a distribution could change a lot without moving any
  mass between bins. The edges are the first profile's min, its order statistics at
  ranks ``floor(k * n / bins)`` (values that occur in the data) and its max, so each bin
  starts out with about ``1 / bins`` of the values. Fixed thereafter like any edges, so
  histograms of later runs and of partitions stay comparable and mergeable.

Bins are ``[e_k, e_k+1)``, the last one closed, compared as doubles (numpy's rule).
"""

import math
from collections.abc import Sequence

#: The mean in the outer fifth of the range: skewed.
SKEW_MARGIN = 0.2


def choose_edges(low: float, high: float, bins: int) -> tuple[float, ...]:
    """Equal-width edges over [low, high], exactly as ``numpy.histogram(x, bins)``
    makes them (``linspace``: ``k * step + low``, the last edge ``high``); a single
    value gets a unit-wide bin around it, as in numpy."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("histogram edges need finite bounds")
    if low == high:
        low, high = low - 0.5, high + 0.5
    step = (high - low) / bins
    return _increasing([k * step + low for k in range(bins)] + [high], low)


def skewed(low: float, high: float, mean: float | None) -> bool:
    """True when the mean sits in the outer fifth of [low, high]: equal-width bins
    would lump most values together."""
    if mean is None or not (low < high) or not math.isfinite(high - low):
        return False
    position = (mean - low) / (high - low)
    return position < SKEW_MARGIN or position > 1.0 - SKEW_MARGIN


def quantile_ranks(n: int, bins: int) -> list[int]:
    """The 0-based ranks whose values become the inner edges: ``floor(k * n / bins)``."""
    return sorted({min(k * n // bins, n - 1) for k in range(1, bins)}) if n > 0 else []


def quantile_edges(
    low: float, high: float, order_statistics: Sequence[float], bins: int
) -> tuple[float, ...]:
    """Edges from the first profile's min, order statistics and max; equal-width edges
    when the quantiles leave fewer than two bins (a column that is mostly one value)."""
    inner = sorted(float(v) for v in order_statistics if low < float(v) < high)
    edges = _increasing([low, *inner, high], low)
    return edges if len(edges) >= 3 else choose_edges(low, high, bins)


def _increasing(edges: list[float], low: float) -> tuple[float, ...]:
    # rounding can collapse edges of a tiny range; keep them strictly increasing
    unique = [edges[0]]
    for e in edges[1:]:
        if e > unique[-1]:
            unique.append(e)
    if len(unique) < 2:
        unique = [low, math.nextafter(low, math.inf)]
    return tuple(unique)
