"""Automation conditions for assets downstream of Baselinr's.

Dagster's ``AutomationCondition.eager()`` reacts to every materialization of a
dependency. A Baselinr asset is materialized on every run, also when the planner
skipped its tables (the materialization then re-reports the data version of the
profile it reuses), so ``eager()`` downstream of it fires on skips too.
``eager_on_new_data()`` reacts to a new data version instead: a real profile (full,
partial, sample), never a skip.
"""

import dagster as dg


def eager_on_new_data() -> dg.AutomationCondition:
    """Like ``eager()``, but "a dependency updated" means "a dependency has a new data
    version" (checked on the tick after the dependency's run, not in the same run)."""
    ac = dg.AutomationCondition
    return (
        ac.in_latest_time_window()
        & (ac.newly_missing() | ac.any_deps_match(ac.data_version_changed())).since_last_handled()
        & ~ac.any_deps_missing()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
    ).with_label("eager_on_new_data")
