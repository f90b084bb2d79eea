"""The three ways to judge how much a metric moved. Pure functions of numbers.

Every metric is one of three kinds:

- ``value`` (mean, stddev, distinct_count, row_count, ...): a number on its own scale;
- ``ratio`` (null_ratio, unique_ratio): a share of ``n`` items, 0..1;
- ``distribution`` (histogram, top_values): counts over bins.

| kind         | absolute_threshold             | standard_deviation          | psi                       |
|--------------|--------------------------------|-----------------------------|---------------------------|
| value        | percent change (0 -> x: rule)  | z-score against history     | not judged (see histogram)|
| ratio        | points, and relative change    | z-score, binomial floor     | PSI of (hits, misses),    |
|              | (``ratio_change``)             |                             | and relative change       |
| distribution | points of mass that moved      | combined per-bin z-score    | PSI over the bins         |

Distribution changes that are within the noise of counting that many rows (chi-square
test at ``significance_level``) are not reported by any strategy.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from baselinr.config.drift import DriftSettings
from baselinr.drift import stats
from baselinr.drift.distributions import Aligned, ratio_counts
from baselinr.drift.severity import rank

RATIO_METRICS = frozenset({"null_ratio", "unique_ratio"})
DISTRIBUTION_METRICS = frozenset({"histogram", "top_values"})


def metric_kind(metric: str) -> str:
    if metric in RATIO_METRICS:
        return "ratio"
    if metric in DISTRIBUTION_METRICS:
        return "distribution"
    return "value"


@dataclass(frozen=True)
class Observation:
    """One run's view of a scalar metric."""

    value: float
    n: float | None = None  # items a ratio is a share of
    spread: float | None = None  # the column's stddev (scales a mean's change)


@dataclass(frozen=True)
class Judgement:
    severity: str  # none | low | medium | high
    score: float | None
    unit: str  # percent | points | z | psi
    baseline_value: float | None
    detail: str


@dataclass(frozen=True)
class Skipped:
    reason: str


def judge_scalar(
    settings: DriftSettings,
    metric: str,
    current: Observation,
    baselines: Sequence[Observation],
    significance: float,
) -> Judgement | Skipped:
    """Judge a value or ratio metric against its baseline runs (newest first)."""
    if not baselines:
        return Skipped("no baseline value")
    ratio = metric_kind(metric) == "ratio"
    if settings.strategy == "absolute_threshold":
        return _absolute(settings, metric, ratio, current, baselines, significance)
    if settings.strategy == "standard_deviation":
        return _zscore(settings, metric, ratio, current, baselines)
    if not ratio:
        return Skipped("psi judges distributions and ratios, not values")
    return _ratio_psi(settings, metric, current, baselines, significance)


def judge_distribution(
    settings: DriftSettings, metric: str, aligned: Aligned, significance: float
) -> Judgement | Skipped:
    """Judge a histogram or top-values distribution against its baseline runs."""
    if not aligned.baselines:
        return Skipped("no comparable baseline distribution")
    if sum(aligned.current) <= 0 or sum(aligned.pooled) <= 0:
        return Skipped("empty distribution")
    if settings.strategy == "standard_deviation":
        return _distribution_z(settings, metric, aligned)
    p = stats.homogeneity_p_value(aligned.pooled, aligned.current)
    mover = _largest_mover(aligned)
    if settings.strategy == "psi":
        score = stats.psi(aligned.pooled, aligned.current)
        detail = f"{metric} PSI {score:.3f}; {mover}"
        severity = settings.psi.severity(score) if p < significance else "none"
        return Judgement(severity, score, "psi", None, detail)
    points = 100.0 * stats.total_variation(aligned.pooled, aligned.current)
    detail = f"{metric}: {points:.1f}% of values moved; {mover}"
    severity = settings.absolute_threshold.severity(points) if p < significance else "none"
    return Judgement(severity, points, "points", None, detail)


# --- absolute_threshold --------------------------------------------------------------


def _absolute(
    settings: DriftSettings,
    metric: str,
    ratio: bool,
    current: Observation,
    baselines: Sequence[Observation],
    significance: float,
) -> Judgement:
    levels = settings.absolute_threshold
    base = _mean([b.value for b in baselines])
    cur = current.value
    if ratio:
        points = abs(cur - base) * 100.0
        judged = Judgement(levels.severity(points), points, "points", base, "")
        judged = _with_relative(settings, judged, current, baselines, significance)
        return replace(judged, detail=f"{metric} {_ratio_change(base, cur)}")
    if base == 0:
        if cur == 0:
            return Judgement("none", 0.0, "percent", base, f"{metric} stays 0")
        return Judgement(
            levels.from_zero, None, "percent", base, f"{metric} 0 -> {_num(cur)} (from zero)"
        )
    scale = abs(base)
    spreads = [b.spread for b in baselines if b.spread is not None]
    if metric == "mean" and spreads:
        # A mean near zero would turn noise into huge percentages: measure its
        # change against the column's spread when that is larger.
        scale = max(scale, _mean(spreads))
    percent = abs(cur - base) / scale * 100.0
    detail = f"{metric} {_num(base)} -> {_num(cur)} ({(cur - base) / abs(base) * 100:+.1f}%)"
    return Judgement(levels.severity(percent), percent, "percent", base, detail)


# --- standard_deviation ----------------------------------------------------------------


def _zscore(
    settings: DriftSettings,
    metric: str,
    ratio: bool,
    current: Observation,
    baselines: Sequence[Observation],
) -> Judgement | Skipped:
    cfg = settings.standard_deviation
    h = len(baselines)
    if h < cfg.min_history:
        return Skipped(f"standard_deviation needs {cfg.min_history} runs of history, has {h}")
    values = [b.value for b in baselines]
    mean, sd = _mean(values), _stdev(values)
    floor = _binomial_sd(mean, current.n) if ratio else cfg.min_relative_std * abs(mean)
    spread = max(sd, floor)
    cur = current.value
    shown = _pct if ratio else _num
    if spread == 0:
        if cur == mean:
            return Judgement("none", 0.0, "z", mean, f"{metric} unchanged")
        detail = f"{metric} {shown(mean)} -> {shown(cur)} (history was constant over {h} runs)"
        return Judgement("high", None, "z", mean, detail)
    deviations = (cur - mean) / spread
    t = deviations / math.sqrt(1.0 + 1.0 / h)
    z = stats.t_as_z(t, h - 1)
    detail = (
        f"{metric} {shown(mean)} -> {shown(cur)} ({deviations:+.1f} sd of its last {h} runs, "
        f"z {z:+.1f})"
    )
    return Judgement(cfg.severity(abs(z)), abs(z), "z", mean, detail)


def _distribution_z(settings: DriftSettings, metric: str, aligned: Aligned) -> Judgement | Skipped:
    cfg = settings.standard_deviation
    h = len(aligned.baselines)
    if h < cfg.min_history:
        return Skipped(f"standard_deviation needs {cfg.min_history} runs of history, has {h}")
    n = sum(aligned.current)
    current = stats.proportions(aligned.current)
    history = [stats.proportions(run) for run in aligned.baselines]
    q, bins = 0.0, 0
    for i in range(len(aligned.labels)):
        shares = [run[i] for run in history]
        mean = _mean(shares)
        if mean == 0 and current[i] == 0:
            continue
        bins += 1
        spread = max(_stdev(shares), _binomial_sd(mean, n))
        t = (current[i] - mean) / (spread * math.sqrt(1.0 + 1.0 / h))
        q += stats.t_as_z(t, h - 1) ** 2
    if bins < 2:
        return Skipped("a single bin")
    z = stats.z_from_tail(stats.chi2_sf(q, bins - 1))
    detail = f"{metric} z {z:.1f} over {h} runs; {_largest_mover(aligned)}"
    return Judgement(cfg.severity(z), z, "z", None, detail)


# --- psi ---------------------------------------------------------------------------------


def _ratio_psi(
    settings: DriftSettings,
    metric: str,
    current: Observation,
    baselines: Sequence[Observation],
    significance: float,
) -> Judgement | Skipped:
    if current.n is None or any(b.n is None for b in baselines):
        return Skipped("psi on a ratio needs the row counts")
    cur_counts = ratio_counts(current.value, current.n)
    base_counts = [0.0, 0.0]
    for b in baselines:
        hits, misses = ratio_counts(b.value, b.n or 0.0)
        base_counts[0] += hits
        base_counts[1] += misses
    score = stats.psi(base_counts, cur_counts)
    base = base_counts[0] / sum(base_counts) if sum(base_counts) else 0.0
    p = stats.homogeneity_p_value(base_counts, cur_counts)
    severity = settings.psi.severity(score) if p < significance else "none"
    judged = _with_relative(
        settings, Judgement(severity, score, "psi", base, ""), current, baselines, significance
    )
    detail = f"{metric} {_ratio_change(base, current.value)}; PSI {score:.3f}"
    return replace(judged, detail=detail)


def _with_relative(
    settings: DriftSettings,
    judged: Judgement,
    current: Observation,
    baselines: Sequence[Observation],
    significance: float,
) -> Judgement:
    """The more severe of ``judged`` and the ratio's relative change (``ratio_change``:
    against the baseline, floored at ``floor_points``), when that change is more than
    counting noise."""
    cfg = settings.ratio_change
    if not cfg.enabled:
        return judged
    base = _mean([b.value for b in baselines])
    percent = abs(current.value - base) / max(base, cfg.floor_points / 100.0) * 100.0
    severity = cfg.severity(percent)
    if rank(severity) <= rank(judged.severity):
        return judged
    if current.n is not None and all(b.n is not None for b in baselines):
        base_counts = [0.0, 0.0]
        for b in baselines:
            hits, misses = ratio_counts(b.value, b.n or 0.0)
            base_counts[0] += hits
            base_counts[1] += misses
        cur_counts = ratio_counts(current.value, current.n)
        if stats.homogeneity_p_value(base_counts, cur_counts) >= significance:
            return judged  # a few rows more or less: noise
    return Judgement(severity, percent, "percent", base, judged.detail)


def _ratio_change(base: float, cur: float) -> str:
    relative = f", {(cur - base) / base * 100:+.0f}%" if base else ""
    return f"{_pct(base)} -> {_pct(cur)} ({(cur - base) * 100:+.1f} pts{relative})"


# --- helpers ------------------------------------------------------------------------------


def _largest_mover(aligned: Aligned) -> str:
    before = stats.proportions(aligned.pooled)
    after = stats.proportions(aligned.current)
    i = max(range(len(after)), key=lambda k: abs(after[k] - before[k]))
    return f"largest change {aligned.labels[i]} {before[i]:.1%} -> {after[i]:.1%}"


def _binomial_sd(share: float, n: float | None) -> float:
    """Counting noise of a share of ``n`` items (a share of 0 or 1 counts as 1/n)."""
    if not n or n <= 0:
        return 0.0
    p = min(max(share, 1.0 / n), 1.0 - 1.0 / n) if n > 1 else 0.5
    return math.sqrt(p * (1.0 - p) / n)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _stdev(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    m = _mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _num(x: float) -> str:
    return f"{x:.6g}"
