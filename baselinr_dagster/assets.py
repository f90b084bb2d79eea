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
from baselinr_dagster.checks import check_results, check_specs, selected_checks
from baselinr_dagster.layout import LayoutConfig, load_layout
from baselinr_dagster.metadata import cached_results, materialization_metadata, table_report
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.safety import redacted_errors
from baselinr_dagster.translator import (
    SUMMARY_NAME,
    EntryAsset,
    asset_spec,
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


def _source_kind(source_type: str | None) -> str | None:
    return {"postgres": "postgres", "sqlite": "sqlite", "duckdb": "duckdb",
            "snowflake": "snowflake", "bigquery": "bigquery"}.get(source_type or "")  # fmt: skip


def create_profiling_assets(
    config_path: str | Path,
    asset_name_prefix: str = "baselinr",
    group_name: str = "baselinr_profiling",
    default_tags: Mapping[str, str] | None = None,
    default_metadata: Mapping[str, Any] | None = None,
    *,
    automation_condition: dg.AutomationCondition | None = None,
    pool: str | None = None,
) -> list[dg.AssetsDefinition]:
    """The table assets (with their drift checks) and the summary asset.

    Reads the config file only (no warehouse, no storage). ``automation_condition``
    applies to entries with ``deps``, so materialising upstream assets can drive
    profiling.
    """
    return profiling_assets(
        load_layout(config_path),
        asset_name_prefix,
        group_name,
        default_tags,
        default_metadata,
        automation_condition=automation_condition,
        pool=pool,
    )


def profiling_assets(
    layout: LayoutConfig,
    asset_name_prefix: str,
    group_name: str,
    default_tags: Mapping[str, str] | None,
    default_metadata: Mapping[str, Any] | None,
    *,
    automation_condition: dg.AutomationCondition | None,
    pool: str | None,
) -> list[dg.AssetsDefinition]:
    prefix = [safe_name(asset_name_prefix)]
    assets = entry_assets(layout, prefix)
    summary_key = dg.AssetKey([*prefix, SUMMARY_NAME])
    if summary_key in {a.key for a in assets}:
        raise dg.DagsterInvalidDefinitionError(
            f"a table entry maps to {summary_key.to_user_string()}, the summary asset's key; "
            "rename that entry"
        )
    kind = _source_kind(layout.source_type)
    specs = [
        asset_spec(
            a,
            layout,
            group_name=group_name,
            kind=kind,
            default_tags=default_tags,
            default_metadata=default_metadata,
            automation_condition=automation_condition,
        )
        for a in assets
    ]
    definitions = []
    if specs:
        definitions.append(
            _table_assets(
                assets, specs, check_specs(assets, layout), profile_op_name(asset_name_prefix), pool
            )
        )
    definitions.append(
        _summary_asset(summary_key, [a.key for a in assets], group_name, default_tags)
    )
    return definitions


def _table_assets(
    assets: Sequence[EntryAsset],
    specs: Sequence[dg.AssetSpec],
    checks: Sequence[dg.AssetCheckSpec],
    op_name: str,
    pool: str | None,
) -> dg.AssetsDefinition:
    @dg.multi_asset(name=op_name, specs=specs, check_specs=checks, can_subset=True, pool=pool)
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
        yield dg.MaterializeResult(
            asset_key=asset.key,
            metadata={
                **materialization_metadata(reports, database),
                "baselinr/batch_id": result.batch_id,
            },
            check_results=check_results(
                baselinr, asset, selected_checks(context, asset), outcomes, context.instance
            ),
        )
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


def _summary_asset(
    key: dg.AssetKey,
    table_keys: list[dg.AssetKey],
    group_name: str,
    default_tags: Mapping[str, str] | None,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=key,
        deps=table_keys,
        group_name=group_name,
        tags=dict(default_tags or {}),
        kinds={"baselinr"},
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
                "baselinr/decisions": dg.MetadataValue.json([dict(d) for d in batch.decisions]),
            }
        )

    return summary
