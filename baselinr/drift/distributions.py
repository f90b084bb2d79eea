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
    """Top values as bins: the values in the current run's list and every baseline
    run's list, plus one bin for all other (non-null) values. ``*_total`` is the
    column's non-null count; without it, shares are of the listed values only."""
    mine = _top(current)
    if not mine:
        return None
    theirs = [(_top(v), total) for v, total in baselines]
    usable = [(t, total) for t, total in theirs if t]
    shared = [k for k in mine if all(k in t for t, _ in usable)]
    with_total = current_total is not None and all(total is not None for _, total in usable)

    def vector(top: dict[str, float], total: float | None) -> tuple[float, ...]:
        listed = tuple(top[k] for k in shared)
        if with_total and total is not None:
            return (*listed, max(total - sum(listed), 0.0))
        return (*listed, max(sum(top.values()) - sum(listed), 0.0))

    labels = (*shared, "(other values)")
    return Aligned(
        labels,
        vector(mine, current_total),
        tuple(vector(t, total) for t, total in usable),
        len(baselines) - len(usable),
    )


def ratio_counts(ratio: float, n: float) -> tuple[float, float]:
    """A ratio over ``n`` items as a two-bin count vector (hits, misses)."""
    hits = ratio * n
    return hits, max(n - hits, 0.0)
