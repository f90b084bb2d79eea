"""The little statistics drift needs, in pure Python (no SciPy): Student-t and
chi-square tail probabilities turned into equivalent normal z-scores, PSI and total
variation distance between count vectors, and a chi-square test that tells a real
change of a distribution from the noise of counting a finite number of rows.

Tail functions follow the standard continued-fraction evaluations of the regularized
incomplete beta and gamma functions (Numerical Recipes, 3rd ed., §6.2 and §6.4).
"""

import math
from collections.abc import Sequence
from statistics import NormalDist

#: z-scores are capped here: beyond it the tail probability underflows and every
#: severity level has long been passed.
Z_CAP = 40.0
_TINY = 1e-300
_EPS = 3e-16


def z_from_tail(p: float) -> float:
    """The z whose upper normal tail is ``p`` (0 for p >= 0.5, ``Z_CAP`` for p ~ 0)."""
    if p >= 0.5:
        return 0.0
    if p <= 0.0:
        return Z_CAP
    return min(-NormalDist().inv_cdf(p), Z_CAP)


def t_as_z(t: float, dof: float) -> float:
    """A Student-t statistic with ``dof`` degrees of freedom as the normal z with the
    same two-sided tail probability (sign kept). With few runs of history a large t is
    much less surprising than the same z; this puts both on one scale."""
    if dof <= 0 or not math.isfinite(t):
        return math.copysign(Z_CAP, t) if not math.isnan(t) else 0.0
    x = dof / (dof + t * t)
    two_sided = betainc(dof / 2.0, 0.5, x)
    return math.copysign(z_from_tail(two_sided / 2.0), t)


def chi2_sf(x: float, dof: float) -> float:
    """P(X >= x) for a chi-square variable with ``dof`` degrees of freedom."""
    if x <= 0:
        return 1.0
    return gammaincc(dof / 2.0, x / 2.0)


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def _beta_cf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def gammaincc(s: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(s, x)."""
    if x <= 0.0:
        return 1.0
    log_front = -x + s * math.log(x) - math.lgamma(s)
    if x < s + 1.0:  # series for P, then Q = 1 - P (Q is not small here)
        term = total = 1.0 / s
        ap = s
        for _ in range(1000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1.0 - s  # continued fraction for Q directly (accurate in the far tail)
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return math.exp(log_front) * h


# --- distributions ----------------------------------------------------------------


def proportions(counts: Sequence[float], smoothing: float = 0.0) -> list[float]:
    """Shares of each bin; ``smoothing`` is added to every count first (no zero bins)."""
    total = sum(counts) + smoothing * len(counts)
    if total <= 0:
        return [0.0] * len(counts)
    return [(c + smoothing) / total for c in counts]


#: PSI treats a share below this as this: an empty bin that gains a few values (a key
#: column whose range grows with the table) must not read as a large shift.
PSI_MIN_SHARE = 1e-3


def psi(baseline: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index between two count vectors over the same bins.
    Shares are floored at ``PSI_MIN_SHARE`` so an empty bin never divides by zero."""
    expected = [max(p, PSI_MIN_SHARE) for p in proportions(baseline)]
    actual = [max(p, PSI_MIN_SHARE) for p in proportions(current)]
    return sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True))


def total_variation(baseline: Sequence[float], current: Sequence[float]) -> float:
    """Share of the mass that sits in different bins (0..1)."""
    expected = proportions(baseline)
    actual = proportions(current)
    return 0.5 * sum(abs(a - e) for a, e in zip(actual, expected, strict=True))


def homogeneity_p_value(baseline: Sequence[float], current: Sequence[float]) -> float:
    """Pearson chi-square test that both count vectors come from one distribution.
    Small p: the difference is more than counting noise."""
    n_base, n_cur = sum(baseline), sum(current)
    total = n_base + n_cur
    if n_base <= 0 or n_cur <= 0:
        return 1.0
    stat, used = 0.0, 0
    for b, c in zip(baseline, current, strict=True):
        column = b + c
        if column <= 0:
            continue
        used += 1
        e_base = n_base * column / total
        e_cur = n_cur * column / total
        stat += (b - e_base) ** 2 / e_base + (c - e_cur) ** 2 / e_cur
    if used < 2:
        return 1.0
    return chi2_sf(stat, used - 1)
