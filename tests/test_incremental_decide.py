"""The decision tree, adaptive intervals and bookkeeping as pure functions of facts.

(Database-backed paths are in test_incremental_e2e.py / _partial.py.)"""

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from baselinr.catalog import TableRef
from baselinr.config.models import IncrementalConfig
from baselinr.events.types import (
    ProfileDeferredCostCap,
    ProfileSampledCostCap,
    ProfileSkippedNoChange,
    ProfilingSkipped,
)
from baselinr.incremental.decide import TableFacts, decide, not_due
from baselinr.incremental.detectors.base import KEY, PartitionSnapshot, TableSnapshot
from baselinr.incremental.record import after_check, decision_events, interval_after_profile
from baselinr.incremental.schedule import pinned_interval
from baselinr.storage.state import PartitionRecord, TableState

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
REF = TableRef("analytics", "daily_orders")


def config(**sections: Any) -> IncrementalConfig:
    return IncrementalConfig.model_validate({"enabled": True, **sections})


def state(**values: Any) -> TableState:
    base: dict[str, Any] = {
        "database_name": "db",
        "schema_name": "analytics",
        "table_name": "daily_orders",
        "last_run_id": "run-1",
        "snapshot_id": "s1",
        "last_profiled_at": NOW - dt.timedelta(hours=1),
        "interval_minutes": None,
        "row_count": 1000,
        "metadata": {"profile_signature": "sig", "partition_mode": KEY},
    }
    base.update(values)
    return TableState(**base)


def facts(**values: Any) -> TableFacts:
    base: dict[str, Any] = {
        "database": "db",
        "table": REF,
        "entry_index": 0,
        "signature": "sig",
        "sample_fraction": None,
        "partial_capable": False,
        "state": state(),
    }
    base.update(values)
    return TableFacts(**base)


def snapshot(snapshot_id: str = "s1", **values: Any) -> TableSnapshot:
    base: dict[str, Any] = {"table": REF, "snapshot_id": snapshot_id, "method": "test"}
    base.update(values)
    return TableSnapshot(**base)


def part(pid: str, fingerprint: str, rows: int) -> PartitionSnapshot:
    return PartitionSnapshot(pid, pid, pid, fingerprint, rows)


def stored(pid: str, fingerprint: str) -> PartitionRecord:
    return PartitionRecord(pid, pid, pid, fingerprint, 10)


def partitioned(
    changed: dict[str, str], snapshot_id: str = "s2"
) -> tuple[TableFacts, TableSnapshot]:
    """Four stored partitions a..d with fingerprint 'f'; ``changed`` gives the current
    fingerprint of some of them (a missing value deletes it, new ids add one)."""
    old = {pid: stored(pid, "f") for pid in "abcd"}
    current = {pid: "f" for pid in "abcd"}
    current.update(changed)
    parts = tuple(part(pid, fp, 100) for pid, fp in sorted(current.items()) if fp is not None)
    snap = snapshot(snapshot_id, estimated_rows=400, partition_mode=KEY, partitions=parts)
    return facts(partial_capable=True, stored_partitions=old), snap


# --- steps 2 and 3 ---------------------------------------------------------------------


def test_no_prior_state_is_full() -> None:
    d = decide(facts(state=None), snapshot(), config(), NOW)
    assert (d.action, d.reason, d.snapshot_id) == ("full", "no_prior_state", "s1")


@pytest.mark.parametrize(
    "snap",
    [None, TableSnapshot(REF, None, "pg_stat", unreliable="views have no change counters")],
)
def test_missing_or_unreliable_metadata_is_full_never_skip(snap: TableSnapshot | None) -> None:
    d = decide(facts(), snap, config(), NOW)
    assert (d.action, d.reason) == ("full", "metadata_unavailable")
    assert d.details["unreliable"]


def test_snapshot_match_within_ttl_skips_and_expired_ttl_profiles() -> None:
    cfg = config(change_detection={"snapshot_ttl_minutes": 120})
    fresh = decide(facts(), snapshot("s1"), cfg, NOW)
    assert (fresh.action, fresh.reason) == ("skip", "snapshot_match")
    assert fresh.details["last_run_id"] == "run-1"
    old = facts(state=state(last_profiled_at=NOW - dt.timedelta(minutes=121)))
    expired = decide(old, snapshot("s1"), cfg, NOW)
    assert (expired.action, expired.reason) == ("full", "snapshot_ttl_expired")


def test_changed_config_forces_full_even_when_data_is_unchanged() -> None:
    d = decide(facts(signature="other"), snapshot("s1"), config(), NOW)
    assert (d.action, d.reason) == ("full", "config_changed")


def test_changed_table_without_partitions_is_full() -> None:
    d = decide(facts(), snapshot("s2", estimated_rows=5), config(), NOW)
    assert (d.action, d.reason, d.details["scan_rows"]) == ("full", "snapshot_changed", 5)


# --- partial --------------------------------------------------------------------------------


def test_one_changed_partition_is_partial_on_that_partition_only() -> None:
    f, snap = partitioned({"b": "g"})
    d = decide(f, snap, config(), NOW)
    assert (d.action, d.reason) == ("partial", "partitions_changed")
    assert d.changed_partitions == ("b",)
    assert [p["id"] for p in d.details["partitions"]] == ["b"]
    assert d.details["scan_rows"] == 100  # the changed partition only, not 400


def test_new_and_deleted_partitions_are_both_changes() -> None:
    f, snap = partitioned({"d": None, "e": "new"})  # type: ignore[dict-item]
    d = decide(f, snap, config(), NOW)
    assert d.action == "partial"
    assert d.changed_partitions == ("e", "d")
    assert d.details["deleted_partitions"] == [{"id": "d", "label": "d"}]


def test_deleted_partition_alone_is_a_partial_that_scans_nothing() -> None:
    f, snap = partitioned({"c": None})  # type: ignore[dict-item]
    d = decide(f, snap, config(), NOW)
    assert (d.action, d.changed_partitions, d.details["scan_rows"]) == ("partial", ("c",), 0)


def test_all_partitions_changed_is_full() -> None:
    f, snap = partitioned({pid: "g" for pid in "abcd"})
    assert decide(f, snap, config(), NOW).reason == "all_partitions_changed"


def test_more_changed_partitions_than_allowed_is_full() -> None:
    f, snap = partitioned({"a": "g", "b": "g", "c": "g"})
    d = decide(f, snap, config(partial_profiling={"max_partitions_per_run": 2}), NOW)
    assert (d.action, d.reason) == ("full", "too_many_changed_partitions")


def test_partial_needs_stored_partitions_of_the_same_kind() -> None:
    f, snap = partitioned({"b": "g"})
    d = decide(replace(f, stored_partitions={}), snap, config(), NOW)
    assert (d.action, d.reason) == ("full", "partition_state_missing")
    other_mode = replace(f, state=state(metadata={"profile_signature": "sig"}))
    assert decide(other_mode, snap, config(), NOW).reason == "partition_state_missing"


def test_snapshot_changed_but_no_partition_did_is_full() -> None:
    f, snap = partitioned({})
    assert decide(f, snap, config(), NOW).action == "full"


def test_tables_that_cannot_be_profiled_partially_run_full() -> None:
    f, snap = partitioned({"b": "g"})
    d = decide(replace(f, partial_capable=False), snap, config(), NOW)
    assert (d.action, d.reason) == ("full", "snapshot_changed")


def test_the_partial_hands_the_executor_typed_partitions_and_the_state() -> None:
    f, snap = partitioned({"b": "g", "d": None})  # type: ignore[dict-item]
    d = decide(f, snap, config(), NOW)
    assert d.strategy == "partial" and d.partial is not None
    assert [p.partition_id for p in d.partial.changed] == ["b"]
    assert [r.partition_id for r in d.partial.deleted] == ["d"]
    assert d.snapshot is snap and d.state is f.state
    assert "snapshot" not in d.to_dict() and "state" not in d.to_dict()


def test_a_partial_needing_a_table_pass_is_planned_full() -> None:
    """Non-mergeable metrics on a table small enough to recompute them would need a
    pass over the whole table: one full profile reads fewer rows."""
    f, snap = partitioned({"b": "g"})
    wanting = replace(f, unmerged_metrics=("distinct_count",))
    d = decide(wanting, snap, config(), NOW)
    assert (d.action, d.reason, d.partial) == ("full", "partial_not_cheaper", None)
    assert d.details["table_pass_metrics"] == ["distinct_count"]
    assert d.track_partitions is False and d.strategy == "full"
    # a table over recompute_non_mergeable_max_rows carries them from the last run
    carried = replace(
        wanting,
        state=state(
            metadata={
                "profile_signature": "sig",
                "partition_mode": KEY,
                "non_mergeable_as_of": {"run_id": "run-1"},
            }
        ),
    )
    big = config(partial_profiling={"recompute_non_mergeable_max_rows": 300})
    assert decide(carried, snap, big, NOW).action == "partial"
    # ... but only if there is a run to carry them from
    assert decide(wanting, snap, big, NOW).reason == "partial_not_cheaper"
    # metrics that apply to none of the table's columns need no pass
    only_numbers = replace(
        wanting,
        unmerged_metrics=("quantiles",),
        state=state(metadata={**f.state.metadata, "columns": [["name", "TEXT"]]}),  # type: ignore[union-attr]
    )
    assert decide(only_numbers, snap, config(), NOW).action == "partial"


def test_forced_entries_run_full_instead_of_skip_or_partial() -> None:
    skipped = decide(replace(facts(), forced=True), snapshot("s1"), config(), NOW)
    assert (skipped.action, skipped.reason) == ("full", "forced")
    assert skipped.details["forced_instead_of"] == "skip: snapshot_match"
    f, snap = partitioned({"b": "g"})
    partial = decide(replace(f, forced=True), snap, config(), NOW)
    assert (partial.action, partial.reason, partial.partial) == ("full", "forced", None)
    cfg = config(adaptive_scheduling={"enabled": True})
    assert not_due(replace(facts(), forced=True), cfg, NOW) is None


def test_configured_sampling_turns_the_run_into_a_sample() -> None:
    d = decide(facts(sample_fraction=0.1), snapshot("s2", estimated_rows=1000), config(), NOW)
    assert (d.action, d.reason, d.sample_fraction, d.details["scan_rows"]) == (
        "sample",
        "snapshot_changed",
        0.1,
        100,
    )


# --- cost caps -----------------------------------------------------------------------------

BIG = snapshot("s2", estimated_rows=1_000_000, estimated_bytes=8_000_000_000)


def caps(strategy: str, **values: Any) -> IncrementalConfig:
    return config(
        cost_controls={
            "enabled": True,
            "max_rows_scanned": 200_000,
            "fallback_strategy": strategy,
            **values,
        }
    )


def test_cost_cap_sample_uses_a_fraction_that_fits_the_budget() -> None:
    d = decide(facts(), BIG, caps("sample", sample_fraction=0.5), NOW)
    assert (d.action, d.reason) == ("sample", "cost_cap_rows")
    assert d.sample_fraction == pytest.approx(0.2)  # 200k of 1M, below the configured 0.5
    assert d.details["cost_cap"]["estimate"] == 1_000_000
    assert d.details["cost_cap"]["because"] == "snapshot_changed"
    assert d.details["scan_rows"] == 200_000
    small = decide(facts(), BIG, caps("sample", sample_fraction=0.05), NOW)
    assert small.sample_fraction == 0.05


def test_cost_cap_defer_and_full() -> None:
    deferred = decide(facts(), BIG, caps("defer"), NOW)
    assert (deferred.action, deferred.reason) == ("defer", "cost_cap_rows")
    anyway = decide(facts(), BIG, caps("full"), NOW)
    assert (anyway.action, anyway.reason) == ("full", "cost_cap_rows")
    assert anyway.details["cost_cap"]["limit_value"] == 200_000


def test_bytes_cap_and_estimated_cost() -> None:
    cfg = config(
        cost_controls={"enabled": True, "max_bytes_scanned": 10**9, "fallback_strategy": "defer"}
    )
    d = decide(facts(), BIG, cfg, NOW)
    assert (d.action, d.reason, d.estimated_cost) == ("defer", "cost_cap_bytes", 8.0)


def test_partial_is_capped_by_the_rows_it_scans_not_the_table() -> None:
    f, snap = partitioned({"b": "g"})
    cfg = config(
        cost_controls={"enabled": True, "max_rows_scanned": 150, "fallback_strategy": "defer"}
    )
    assert decide(f, snap, cfg, NOW).action == "partial"  # 100 rows of 400


def test_unknown_estimates_are_not_capped_but_noted() -> None:
    d = decide(facts(), snapshot("s2"), caps("defer"), NOW)
    assert d.action == "full"
    assert d.details["cost_unknown"] == ["max_rows_scanned"]


def test_caps_do_nothing_when_disabled() -> None:
    cfg = config(cost_controls={"enabled": False, "max_rows_scanned": 1})
    assert decide(facts(), BIG, cfg, NOW).action == "full"


# --- adaptive scheduling --------------------------------------------------------------------

ADAPTIVE = {
    "enabled": True,
    "default_interval_minutes": 240,
    "min_interval_minutes": 60,
    "max_interval_minutes": 1000,
}


def test_not_due_is_skipped_before_any_detection() -> None:
    cfg = config(adaptive_scheduling=ADAPTIVE)
    d = not_due(facts(), cfg, NOW)  # profiled an hour ago, interval 240
    assert d is not None and (d.action, d.reason) == ("skip", "fresh_within_interval")
    assert d.snapshot_id == "s1"
    assert d.details["due_at"] == (NOW + dt.timedelta(hours=3)).isoformat()
    due = facts(state=state(last_profiled_at=NOW - dt.timedelta(minutes=240)))
    assert not_due(due, cfg, NOW) is None
    # a check that found nothing (at NOW - 10 min) restarts the wait
    checked = state(
        last_profiled_at=NOW - dt.timedelta(minutes=300),
        last_checked_at=NOW - dt.timedelta(minutes=10),
    )
    assert not_due(facts(state=checked), cfg, NOW) is not None
    assert not_due(facts(signature="changed"), cfg, NOW) is None
    assert not_due(facts(state=None), cfg, NOW) is None
    assert not_due(facts(), config(), NOW) is None  # adaptive scheduling off


def test_stored_interval_is_clamped_to_the_configured_range() -> None:
    cfg = config(adaptive_scheduling=ADAPTIVE)
    long_ago = state(last_profiled_at=NOW - dt.timedelta(minutes=1001), interval_minutes=5000)
    assert not_due(facts(state=long_ago), cfg, NOW) is None  # 5000 clamps to 1000


def test_priority_overrides_pin_the_interval() -> None:
    cfg = config(
        adaptive_scheduling={**ADAPTIVE, "priority_overrides": {"analytics.daily_orders": 30}}
    )
    adaptive = cfg.adaptive_scheduling
    assert pinned_interval(adaptive, "db", REF) == 30
    assert pinned_interval(adaptive, "db", TableRef("other", "daily_orders")) is None
    bare = config(adaptive_scheduling={**ADAPTIVE, "priority_overrides": {"daily_orders": 7}})
    assert pinned_interval(bare.adaptive_scheduling, "db", TableRef("x", "daily_orders")) == 7
    # 45 minutes after the last profile: due under the pin, not under the 240 default
    f = facts(state=state(last_profiled_at=NOW - dt.timedelta(minutes=45)), pinned_interval=30)
    assert not_due(f, cfg, NOW) is None
    assert not_due(replace(f, pinned_interval=None), cfg, NOW) is not None


def test_interval_grows_on_no_change_shrinks_on_change_and_respects_pins() -> None:
    adaptive = config(adaptive_scheduling=ADAPTIVE).adaptive_scheduling
    s = state(interval_minutes=240)
    skip = decide(facts(state=s), snapshot("s1"), config(), NOW)
    assert after_check(s, skip, adaptive, None, NOW).interval_minutes == 480
    assert after_check(s, skip, adaptive, 90, NOW).interval_minutes == 90
    big = after_check(state(interval_minutes=900), skip, adaptive, None, NOW)
    assert big.interval_minutes == 1000

    changed = decide(facts(state=s), snapshot("s2"), config(), NOW)
    assert interval_after_profile(adaptive, s, None, changed) == 120
    assert interval_after_profile(adaptive, state(interval_minutes=100), None, changed) == 60
    assert interval_after_profile(adaptive, s, 90, changed) == 90
    ttl = decide(
        facts(state=state(last_profiled_at=NOW - dt.timedelta(days=30), interval_minutes=240)),
        snapshot("s1"),
        config(),
        NOW,
    )
    assert ttl.reason == "snapshot_ttl_expired"
    assert interval_after_profile(adaptive, s, None, ttl) == 480
    first = decide(facts(state=None), snapshot(), config(), NOW)
    assert interval_after_profile(adaptive, None, None, first) == 240


def test_a_skip_never_moves_last_profiled_at() -> None:
    adaptive = config(adaptive_scheduling=ADAPTIVE).adaptive_scheduling
    s = state(last_checked_at=NOW - dt.timedelta(hours=5))
    match = decide(facts(state=s), snapshot("s1"), config(), NOW)
    after = after_check(s, match, adaptive, None, NOW)
    assert after.last_profiled_at == s.last_profiled_at
    assert after.last_checked_at == NOW
    assert (after.decision, after.decision_reason) == ("skip", "snapshot_match")
    fresh = not_due(facts(state=s), config(adaptive_scheduling=ADAPTIVE), NOW)
    assert fresh is not None
    untouched = after_check(s, fresh, adaptive, None, NOW)
    assert untouched.last_profiled_at == s.last_profiled_at
    assert untouched.last_checked_at == s.last_checked_at  # nothing was checked


def test_a_deferral_of_a_new_table_creates_its_state_without_a_profile_time() -> None:
    adaptive = config().adaptive_scheduling
    d = decide(facts(state=None), BIG, caps("defer"), NOW)
    after = after_check(None, d, adaptive, None, NOW)
    assert (after.decision, after.last_profiled_at, after.last_checked_at) == ("defer", None, NOW)
    assert after.row_count == 1_000_000
    # with adaptive scheduling, the deferred table is looked at again one interval later
    cfg = config(adaptive_scheduling=ADAPTIVE)
    later = facts(state=replace(after, interval_minutes=240))
    assert not_due(later, cfg, NOW + dt.timedelta(minutes=239)) is not None
    assert not_due(later, cfg, NOW + dt.timedelta(minutes=240)) is None
    again = decide(later, BIG, caps("defer"), NOW + dt.timedelta(minutes=240))
    assert (again.action, again.details["cost_cap"]["because"]) == ("defer", "no_prior_state")


# --- events ------------------------------------------------------------------------------------


def test_events_per_decision() -> None:
    match = decide(facts(), snapshot("s1"), config(), NOW)
    kinds = [type(e) for e in decision_events(match)]
    assert kinds == [ProfilingSkipped, ProfileSkippedNoChange]
    row = decision_events(match)[0].to_row()
    assert (row["event_type"], row["action"], row["reason"], row["snapshot_id"]) == (
        "ProfilingSkipped",
        "skip",
        "snapshot_match",
        "s1",
    )
    deferred = decide(facts(), BIG, caps("defer"), NOW)
    assert [type(e) for e in decision_events(deferred)] == [
        ProfilingSkipped,
        ProfileDeferredCostCap,
    ]
    sampled = decide(facts(), BIG, caps("sample"), NOW)
    events = decision_events(sampled, "run-9")
    assert [type(e) for e in events] == [ProfileSampledCostCap]
    assert events[0].to_row()["run_id"] == "run-9"
    assert decision_events(decide(facts(), snapshot("s2"), config(), NOW)) == []
