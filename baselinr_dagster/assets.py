"""The table assets (one ``multi_asset`` over every ``profiling.tables`` entry) and
the summary asset.

One multi-asset rather than one op per entry: a run plans its tables once and
profiles them concurrently (``max_workers``) in one step, and definitions for
thousands of entries load fast (see ``bench/dagster_bench.py``).
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from baselinr.errors import BaselinrError
from baselinr.incremental.plan import ACTIONS
from baselinr.redact import redact
from baselinr.runner import TableOutcome
from baselinr_dagster.checks import (
    as_evaluation,
    asset_check_keys,
    check_results,
    check_specs,
    selected_checks,
)
from baselinr_dagster.layout import LayoutConfig, load_layout
from baselinr_dagster.metadata import (
    batch_decisions,
    cached_results,
    data_version,
    materialization_metadata,
    table_report,
)
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.safety import redacted_errors
from baselinr_dagster.translator import (
    SUMMARY_NAME,
    AssetOptions,
    BaselinrTranslator,
    EntryAsset,
    entry_assets,
    safe_name,
)

RESOURCE_KEY = "baselinr"


def profile_op_name(asset_prefix: str) -> str:
    return f"{safe_name(asset_prefix)}_profile_tables"


class ProfileRunConfig(dg.Config):
    """Run config of the profiling step."""

    force_full: list[str] = []
    """Asset keys (``a/b/c``) whose tables are profiled in full even where the plan says
    skip or partial (deferrals and sampling stay as planned)."""


def create_profiling_assets(
    config_path: str | Path,
    asset_name_prefix: str = "baselinr",
    group_name: str = "baselinr_profiling",
    default_tags: Mapping[str, str] | None = None,
    default_metadata: Mapping[str, Any] | None = None,
    *,
    automation_condition: dg.AutomationCondition | None = None,
    pool: str | None = None,
    translator: BaselinrTranslator | None = None,
) -> list[dg.AssetsDefinition]:
    """The table assets (with their drift checks) and the summary asset.

    Reads the config file only (no warehouse, no storage). ``automation_condition``
    applies to entries with ``deps``, so materialising upstream assets can drive
    profiling (the summary asset follows them).
    """
    options = AssetOptions(
        asset_name_prefix,
        group_name,
        dict(default_tags or {}),
        dict(default_metadata or {}),
        automation_condition,
    )
    return profiling_assets(load_layout(config_path), options, translator, pool=pool)


def profiling_assets(
    layout: LayoutConfig,
    options: AssetOptions,
    translator: BaselinrTranslator | None,
    *,
    pool: str | None,
) -> list[dg.AssetsDefinition]:
    assets = entry_assets(layout, options, translator)
    summary_key = dg.AssetKey([*options.prefix, SUMMARY_NAME])
    if summary_key in {a.key for a in assets}:
        raise dg.DagsterInvalidDefinitionError(
            f"a table entry maps to {summary_key.to_user_string()}, the summary asset's key; "
            "rename that entry"
        )
    definitions = []
    if assets:
        definitions.append(
            _table_assets(
                assets,
                check_specs(assets, layout),
                profile_op_name(options.asset_prefix),
                pool,
            )
        )
    follows = options.automation_condition is not None and any(a.entry.deps for a in assets)
    definitions.append(
        _summary_asset(
            summary_key,
            [a.key for a in assets],
            options.group_name,
            options.default_tags,
            summary_condition() if follows else None,
        )
    )
    return definitions


def summary_condition() -> dg.AutomationCondition:
    """The summary follows any table asset that is requested or updated (in the same
    tick, so in the same run), even while other table assets were never materialized."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("baselinr_summary_follows_tables")


def _table_assets(
    assets: Sequence[EntryAsset],
    checks: Sequence[dg.AssetCheckSpec],
    op_name: str,
    pool: str | None,
) -> dg.AssetsDefinition:
    specs = [a.spec for a in assets if a.spec is not None]

    # allow_arbitrary_check_specs: checks attached to a `target_asset` (the user's own
    # asset of the same table, e.g. dbt's) are declared here too, so they run in this
    # step from this step's profiles (the pattern dagster-dbt uses for source tests).
    @dg.multi_asset(
        name=op_name,
        specs=specs,
        check_specs=checks,
        can_subset=True,
        pool=pool,
        allow_arbitrary_check_specs=True,
    )
    def profile_tables(
        context: dg.AssetExecutionContext, baselinr: BaselinrResource, config: ProfileRunConfig
    ):
        selected = context.selected_asset_keys
        chosen = [a for a in assets if a.key in selected]
        checks_only = [a for a in assets if a.key not in selected and selected_checks(context, a)]
        with redacted_errors():
            if chosen:
                yield from _materialize(context, baselinr, config, chosen)
            for asset in checks_only:
                yield from check_results(
                    baselinr, asset, selected_checks(context, asset), None, context.instance
                )

    return profile_tables


def _materialize(
    context: dg.AssetExecutionContext,
    baselinr: BaselinrResource,
    config: ProfileRunConfig,
    chosen: Sequence[EntryAsset],
) -> Iterator[dg.MaterializeResult]:
    runner = baselinr.runner()
    forced = {a.index for a in chosen if a.key.to_user_string() in set(config.force_full)}
    try:
        plan = runner.plan(entries=[a.index for a in chosen], force_full=forced)
    except BaselinrError as exc:
        raise dg.Failure(description=redact(f"Baselinr could not plan this run: {exc}")) from None
    for warning in plan.warnings:
        context.log.warning(redact(warning))
    context.log.info(f"plan: {plan.to_summary()}")
    result = runner.execute(plan, batch_id=context.run.run_id, dagster_run_id=context.run.run_id)
    cached = cached_results(result.outcomes, baselinr.context.storage.reader)
    database = plan.decisions[0].database if plan.decisions else None
    by_entry: dict[int, list[TableOutcome]] = defaultdict(list)
    for outcome in result.outcomes:
        by_entry[outcome.decision.entry_index].append(outcome)
    failures: list[tuple[EntryAsset, TableOutcome]] = []
    for asset in chosen:
        outcomes = by_entry.get(asset.index, [])
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            failures.extend((asset, o) for o in failed)
            continue
        reports = [table_report(o, cached.get(o.cached_run_id or "")) for o in outcomes]
        metadata = materialization_metadata(reports, database, asset.entry.plot_metrics)
        yield dg.MaterializeResult(
            asset_key=asset.key,
            metadata={**metadata, "baselinr/batch_id": result.batch_id},
            data_version=data_version(reports),
        )
        if asset.target is not None:
            context.log_event(_target_observation(asset, metadata))
        # Every check of the asset (its own and those on its target asset), whether
        # the run selected them or not: materialising the asset judges its profiles.
        # Logged as evaluations rather than yielded as results: one event per check
        # instead of two, no lookup of the asset's latest materialization per check (the
        # UI ties a check to the materialization of the same run), and runs need not
        # select the checks (which costs a "planned" event per check at run start).
        wanted = asset_check_keys(asset)
        for key, check_result in zip(
            wanted,
            check_results(baselinr, asset, wanted, outcomes, context.instance),
            strict=True,
        ):
            context.log_event(as_evaluation(key, check_result))
    if failures:
        lines = [
            f"{a.key.to_user_string()}: {o.decision.qualified}: {o.error}" for a, o in failures
        ]
        if result.storage_summary():
            lines.append(str(result.storage_summary()))
        raise dg.Failure(
            description=redact(
                "Baselinr failed to profile "
                + f"{len(failures)} table(s); the other assets were materialized:\n"
                + "\n".join(lines)
            ),
        )


def _target_observation(asset: EntryAsset, metadata: Mapping[str, Any]) -> dg.AssetObservation:
    """What Baselinr saw of the table, on the user's own asset of it."""
    assert asset.target is not None
    keys = ("dagster/row_count", "dagster/column_schema", "dagster/table_name")
    return dg.AssetObservation(
        asset_key=asset.target,
        metadata={
            **{k: metadata[k] for k in keys if k in metadata},
            "baselinr/profile_asset": asset.key.to_user_string(),
        },
    )


def _summary_asset(
    key: dg.AssetKey,
    table_keys: list[dg.AssetKey],
    group_name: str,
    default_tags: Mapping[str, str] | None,
    automation_condition: dg.AutomationCondition | None,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=key,
        deps=table_keys,
        group_name=group_name,
        tags=dict(default_tags or {}),
        kinds={"baselinr"},
        automation_condition=automation_condition,
        description="What this run of Baselinr actually did: decisions per action, tables "
        "profiled, rows scanned, rows not rescanned (read from Baselinr's storage).",
    )
    def summary(
        context: dg.AssetExecutionContext, baselinr: BaselinrResource
    ) -> dg.MaterializeResult:
        with redacted_errors():
            batch = baselinr.context.storage.reader.batch(context.run.run_id)
        if batch is None:
            return dg.MaterializeResult(
                metadata={"baselinr/tables": 0, "baselinr/note": "no table was planned in this run"}
            )
        return dg.MaterializeResult(
            metadata={
                "baselinr/batch_id": batch.batch_id,
                "baselinr/tables": batch.tables,
                "baselinr/tables_profiled": batch.profiled,
                "baselinr/rows_scanned": batch.rows_scanned,
                "baselinr/estimated_rows_avoided": batch.rows_avoided,
                "baselinr/estimated_bytes_avoided": batch.bytes_avoided,
                **{f"baselinr/action/{a}": batch.counts.get(a, 0) for a in ACTIONS},
                "baselinr/failed": batch.counts.get("failed", 0),
                "baselinr/decisions": batch_decisions(batch.decisions),
            }
        )

    return summary
