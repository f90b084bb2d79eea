"""The reference a profile is checked against: numpy and exact Python arithmetic over
the values that were inserted.

Semantics (the ones Baselinr documents):
- ``count`` = non-null values, NaN included; ``null_ratio`` = nulls / rows (None for
  an empty table); ``distinct_count`` over non-null values (all NaN are one value);
- ``min``/``max``/``mean``/``stddev``/``sum``/``histogram``/``quantiles`` over
  *finite* values; ``non_finite_count`` counts NaN and +/-infinity;
- ``stddev`` is the sample standard deviation (n-1), None below two values;
- ``histogram``: ``numpy.histogram(x, bins=edges)`` (bins [e_k, e_k+1), the last one
  closed, values compared as float64) plus underflow/overflow against the edges;
- ``quantiles``: ``numpy.quantile`` with linear interpolation (numpy's default).

Mean, stddev and sum are computed exactly (fractions), then rounded once, so the
reference itself carries no rounding error; numpy is used where it is exact.
"""

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np

from baselinr.profiling.metrics import QUANTILE_LEVELS

REL = 1e-9


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finite_values(values: Sequence[Any]) -> list[Any]:
    return [
        v for v in values if v is not None and not (isinstance(v, float) and not math.isfinite(v))
    ]


def _key(v: Any) -> Any:
    return "NaN" if isinstance(v, float) and math.isnan(v) else v


def reference(values: Sequence[Any], edges: Sequence[float] | None = None) -> dict[str, Any]:
    """Expected metrics of one column holding ``values`` (None = NULL)."""
    rows = len(values)
    present = [v for v in values if v is not None]
    numeric = bool(present) and all(is_number(v) for v in present)
    finite = finite_values(values)
    out: dict[str, Any] = {
        "count": len(present),
        "null_count": rows - len(present),
        "null_ratio": (rows - len(present)) / rows if rows else None,
        "distinct_count": len({_key(v) for v in present}),
        "approx_distinct_count": len({_key(v) for v in present}),
        "unique_ratio": (len({_key(v) for v in present}) / len(present)) if present else None,
    }
    if numeric or not present:
        n = len(finite)
        out["min"] = min(finite) if finite else None
        out["max"] = max(finite) if finite else None
        out["mean"], out["sum"], out["stddev"] = _moments(finite)
        out["zero_count"] = sum(1 for v in present if v == 0)
        out["non_finite_count"] = len(present) - len(finite)
        floats = np.array([float(v) for v in finite], dtype=np.float64)
        out["quantiles"] = (
            {
                f"p{round(q * 100):02d}": float(v)
                for q, v in zip(QUANTILE_LEVELS, np.quantile(floats, QUANTILE_LEVELS), strict=True)
            }
            if n
            else None
        )
        if edges is not None and n:
            e = np.array(edges, dtype=np.float64)
            counts, _ = np.histogram(floats, bins=e)
            out["histogram"] = {
                "edges": [float(x) for x in edges],
                "counts": [int(c) for c in counts],
                "underflow": int((floats < e[0]).sum()),
                "overflow": int((floats > e[-1]).sum()),
            }
    if present and all(isinstance(v, str) for v in present):
        lengths = [len(v) for v in present]
        out["min"], out["max"] = min(present), max(present)
        out["min_length"], out["max_length"] = min(lengths), max(lengths)
        out["avg_length"] = sum(lengths) / len(lengths)
    if present and all(isinstance(v, (dt.date, dt.datetime)) for v in present):
        out["min"], out["max"] = iso(min(present)), iso(max(present))
    out["top_counts"] = Counter(_key(v) for v in present)
    return out


def _moments(finite: list[Any]) -> tuple[float | None, float | None, float | None]:
    """(mean, sum, stddev) rounded once from exact values: integers in integer
    arithmetic, floats as exact fractions; large float inputs (beyond 20,000 values,
    which exact fractions make slow) with ``math.fsum`` (a correctly rounded sum) and a
    two-pass variance, accurate to about 1e-15 relative."""
    n = len(finite)
    if not n:
        return None, None, None
    if all(isinstance(v, int) for v in finite):
        total = sum(finite)
        squares = sum(v * v for v in finite)
        variance = Fraction(n * squares - total * total, n * (n - 1)) if n >= 2 else None
        return total / n, float(total), _sqrt(variance) if variance is not None else None
    if n > 20_000:
        total = math.fsum(finite)
        mean = total / n
        spread = math.fsum((v - mean) ** 2 for v in finite)
        return mean, total, math.sqrt(spread / (n - 1))
    exact = [Fraction(v) for v in finite]
    exact_mean = sum(exact) / n
    stddev = _sqrt(sum((x - exact_mean) ** 2 for x in exact) / (n - 1)) if n >= 2 else None
    return float(exact_mean), float(sum(exact)), stddev


def iso(value: dt.date) -> str:
    """A date or timestamp as Baselinr reports it: ISO 8601, timestamps in UTC
    (naive ones taken as UTC)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(dt.timezone.utc).isoformat()
    return value.isoformat()


def _sqrt(value: Fraction) -> float:
    """sqrt of an exact fraction, also when the fraction itself is beyond float range
    (the variance of values near 1e300 or 1e-300)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return float((Decimal(value.numerator) / Decimal(value.denominator)).sqrt())


def close(actual: Any, expected: Any, scale: float = 0.0, rel: float = REL) -> bool:
    """Equal within ``rel`` relative, or ``rel * scale`` absolute (for results that
    are near zero by cancellation: a mean of values spread around 0)."""
    if expected is None or actual is None:
        return actual is expected
    # one step of the subnormal range: interpolation may round either way there
    # (numpy computes b - (b-a)(1-t) for t >= 0.5, the warehouses a + (b-a)t)
    return math.isclose(
        float(actual), float(expected), rel_tol=rel, abs_tol=max(rel * scale, 1e-323)
    )


def as_python(value: Any, like: Any) -> Any:
    """A warehouse value in the type of ``like``: SQLite returns dates as text."""
    if isinstance(value, str) and isinstance(like, dt.datetime):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, str) and isinstance(like, dt.date):
        return dt.date.fromisoformat(value)
    return value


def check_column(
    name: str,
    metrics: dict[str, Any],
    values: Sequence[Any],
    *,
    exact_keys: Sequence[str] = (),
) -> list[str]:
    """Compare every metric the profile has for a column with the reference; returns
    the mismatches (empty when everything agrees)."""
    hist = metrics.get("histogram")
    ref = reference(values, hist["edges"] if hist else None)
    finite = finite_values(values)
    scale = max((abs(float(v)) for v in finite if is_number(v)), default=0.0)
    problems = []

    def bad(metric: str, got: Any, want: Any) -> None:
        problems.append(f"{name}.{metric}: got {got!r}, expected {want!r}")

    for metric, got in metrics.items():
        if metric == "top_values":
            continue
        if metric not in ref:
            if got is not None:  # e.g. a histogram of a column without values
                bad(metric, got, "(no reference)")
            continue
        want = ref[metric]
        if metric == "approx_distinct_count":
            # a HyperLogLog estimate: 0.81% standard error, so within 4 of them
            if got is None or abs(got - want) > max(2, 0.033 * want):
                bad(metric, got, want)
        elif metric in ("count", "null_count", "distinct_count", "zero_count", "non_finite_count"):
            if got != want:
                bad(metric, got, want)
        elif metric in ("min", "max"):
            got = as_python(got, want)
            if is_number(want) and is_number(got):
                if isinstance(want, int) and isinstance(got, int):
                    ok = got == want
                else:
                    ok = close(got, want)
            else:
                ok = got == want
            if not ok:
                bad(metric, got, want)
        elif metric == "histogram":
            if (got is None) != (want is None) or (
                got is not None
                and (
                    got["counts"] != want["counts"]
                    or got["underflow"] != want["underflow"]
                    or got["overflow"] != want["overflow"]
                )
            ):
                bad(metric, got, want)
        elif metric == "quantiles":
            if (got is None) != (want is None) or (
                got is not None
                and (set(got) != set(want) or not all(close(got[k], want[k], scale) for k in want))
            ):
                bad(metric, got, want)
        elif metric in ("mean", "sum"):
            if not close(got, want, scale * max(len(finite), 1) * 1e-4):
                bad(metric, got, want)
        elif metric == "stddev":
            if not close(got, want):
                bad(metric, got, want)
        elif not close(got, want):
            bad(metric, got, want)
    if "top_values" in metrics:
        problems += _check_top_values(name, metrics["top_values"], ref["top_counts"], values)
    return problems


def _check_top_values(
    name: str, top: list[dict[str, Any]], counts: Counter[Any], values: Sequence[Any]
) -> list[str]:
    """The k most frequent values with their exact counts (ties at the cut may go
    either way, so the counts must be the k largest and each value's count right)."""
    k = len(top)
    want = sorted(counts.values(), reverse=True)[:k]
    got_counts = [t["count"] for t in top]
    problems = []
    if got_counts != want:
        problems.append(f"{name}.top_values counts {got_counts} != {want}")
    sample = next((v for v in values if v is not None), None)
    for entry in top:
        if isinstance(sample, str):
            if counts.get(entry["value"]) != entry["count"]:
                problems.append(
                    f"{name}.top_values {entry!r}: reference {counts.get(entry['value'])}"
                )
        elif isinstance(sample, int) and not isinstance(sample, bool):
            if counts.get(int(entry["value"])) != entry["count"]:
                problems.append(
                    f"{name}.top_values {entry!r}: reference {counts.get(int(entry['value']))}"
                )
        elif is_number(sample) and not isinstance(sample, bool):
            value = float(entry["value"])
            key: Any = "NaN" if math.isnan(value) else value
            matching = sum(
                c
                for v, c in counts.items()
                if _key(v) == key or (is_number(v) and float(v) == value)
            )
            if matching != entry["count"]:
                problems.append(f"{name}.top_values {entry!r}: reference {matching}")
    return problems
