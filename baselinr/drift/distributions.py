"""Turn stored histograms, top values and ratios into count vectors over the same
bins, so that runs can be compared bin by bin."""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Aligned:
    """Counts of the current run and of each baseline run over shared ``labels``."""

    labels: tuple[str, ...]
    current: tuple[float, ...]
    baselines: tuple[tuple[float, ...], ...]
    dropped: int = 0  # baseline runs left out (e.g. other histogram edges)

    @property
    def pooled(self) -> tuple[float, ...]:
        """All baseline runs' counts added up (a moving-average distribution)."""
        return tuple(sum(run[i] for run in self.baselines) for i in range(len(self.labels)))


def _histogram(value: Any) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    if not isinstance(value, Mapping) or not value.get("edges") or value.get("counts") is None:
        return None
    edges = tuple(float(e) for e in value["edges"])
    counts = (
        float(value.get("underflow") or 0),
        *(float(c) for c in value["counts"]),
        float(value.get("overflow") or 0),
    )
    return edges, counts


def align_histograms(current: Any, baselines: Sequence[Any]) -> Aligned | None:
    """Histograms with the current run's fixed edges, under- and overflow as bins."""
    mine = _histogram(current)
    if mine is None:
        return None
    edges, counts = mine
    kept = []
    for value in baselines:
        other = _histogram(value)
        if other is not None and other[0] == edges:
            kept.append(other[1])
    labels: tuple[str, ...] = ("< " + _fmt(edges[0]),)
    labels += tuple(f"[{_fmt(a)}, {_fmt(b)})" for a, b in itertools.pairwise(edges))
    labels += (">= " + _fmt(edges[-1]),) if len(edges) > 1 else ("overflow",)
    return Aligned(labels, counts, tuple(kept), len(baselines) - len(kept))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _key(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _top(value: Any) -> dict[str, float] | None:
    if not isinstance(value, list):
        return None
    out: dict[str, float] = {}
    for item in value:
        if isinstance(item, Mapping) and "count" in item:
            out[_key(item.get("value"))] = float(item["count"])
    return out


def align_top_values(
    current: Any,
    current_total: float | None,
    baselines: Sequence[tuple[Any, float | None]],
) -> Aligned | None:
    """Top values as bins. ``*_total`` is the column's non-null count.

    When every run's list holds all of its values (few distinct values, the usual
    categorical column), the bins are all values of any run, a value missing from a
    run counting 0 — so new, vanished and renamed values show. Otherwise only the
    values listed in every run are exact: those, plus one bin for all other values.
    Returns None when there is nothing to compare (no shared value in a long tail)."""
    mine = _top(current)
    if not mine:
        return None
    theirs = [(_top(v), total) for v, total in baselines]
    usable = [(t, total) for t, total in theirs if t]
    runs = [(mine, current_total), *usable]
    if all(_complete(top, total) for top, total in runs):
        labels = list(dict.fromkeys(k for top, _ in runs for k in top))
        return Aligned(
            tuple(labels),
            tuple(mine.get(k, 0.0) for k in labels),
            tuple(tuple(t.get(k, 0.0) for k in labels) for t, _ in usable),
            len(baselines) - len(usable),
        )
    shared = [k for k in mine if all(k in t for t, _ in usable)]
    if not shared:
        return None
    with_total = all(total is not None for _, total in runs)

    def vector(top: dict[str, float], total: float | None) -> tuple[float, ...]:
        listed = tuple(top[k] for k in shared)
        rest = (total if with_total and total is not None else sum(top.values())) - sum(listed)
        return (*listed, max(rest, 0.0))

    return Aligned(
        (*shared, "(other values)"),
        vector(mine, current_total),
        tuple(vector(t, total) for t, total in usable),
        len(baselines) - len(usable),
    )


def _complete(top: dict[str, float], total: float | None) -> bool:
    """True when the listed values account for every non-null value."""
    return total is not None and abs(sum(top.values()) - total) < 0.5


def ratio_counts(ratio: float, n: float) -> tuple[float, float]:
    """A ratio over ``n`` items as a two-bin count vector (hits, misses)."""
    hits = ratio * n
    return hits, max(n - hits, 0.0)
