"""Config entry -> ``AssetSpec``: keys, groups, tags, metadata, upstream deps.

Built from the config alone: nothing here connects to the warehouse or storage.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from baselinr.config.effective import effective_sampling, profile_signature, requested_metrics
from baselinr.config.models import TableEntry
from baselinr_dagster.layout import LayoutConfig

SUMMARY_NAME = "summary"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(text: str) -> str:
    """A Dagster-safe key part: letters, digits and underscores."""
    cleaned = _UNSAFE.sub("_", text.strip()).strip("_")
    return cleaned or "unnamed"


def safe_tag_value(text: str) -> str:
    return _TAG_UNSAFE.sub("_", text)[:63] or "unknown"


def entry_name(entry: TableEntry) -> str:
    """DESIGN §8: the entry's name, else its table, else its sanitized pattern."""
    if entry.name:
        return entry.name
    if entry.table:
        return entry.table
    if entry.pattern:
        return entry.pattern
    return "all_tables"


def entry_key(entry: TableEntry, prefix: Sequence[str]) -> dg.AssetKey:
    parts = [*prefix]
    if entry.schema_:
        parts.append(safe_name(entry.schema_))
    parts.append(safe_name(entry_name(entry)))
    return dg.AssetKey(parts)


@dataclass(frozen=True)
class EntryAsset:
    """One ``profiling.tables`` entry and the asset that stands for it."""

    index: int
    entry: TableEntry
    key: dg.AssetKey
    signature: str  # the profile signature: what changes the entry's profile


def entry_assets(layout: LayoutConfig, prefix: Sequence[str]) -> list[EntryAsset]:
    """One asset per entry; two entries with the same key are a definition-time error."""
    assets: list[EntryAsset] = []
    seen: dict[dg.AssetKey, int] = {}
    for index, entry in enumerate(layout.profiling.tables):
        key = entry_key(entry, prefix)
        if key in seen:
            raise dg.DagsterInvalidDefinitionError(
                f"profiling.tables[{index}] and profiling.tables[{seen[key]}] both map to asset "
                f"key {key.to_user_string()}; give one of them a distinct 'name'"
            )
        seen[key] = index
        signature = profile_signature(layout.profiling, layout.incremental, entry)
        assets.append(EntryAsset(index, entry, key, signature))
    return assets


def asset_spec(
    asset: EntryAsset,
    layout: LayoutConfig,
    *,
    group_name: str,
    kind: str | None,
    default_tags: Mapping[str, str] | None,
    default_metadata: Mapping[str, Any] | None,
    automation_condition: dg.AutomationCondition | None,
) -> dg.AssetSpec:
    entry = asset.entry
    metrics = requested_metrics(layout.profiling, entry)
    metadata: dict[str, Any] = {
        "baselinr/entry_index": asset.index,
        "baselinr/selector": entry.selector,
        "baselinr/schema": entry.schema_ or "",
        "baselinr/metrics": ", ".join(metrics),
        "baselinr/profile_signature": asset.signature,
    }
    if entry.partition:
        metadata["baselinr/partition"] = entry.partition.model_dump(mode="json")
    sampling = effective_sampling(layout.profiling, entry)
    if sampling is not None:
        metadata["baselinr/sampling"] = sampling.model_dump(mode="json")
    metadata.update(default_metadata or {})
    tags = {"environment": safe_tag_value(layout.environment), **(default_tags or {})}
    deps = [dg.AssetKey(list(dep)) for dep in entry.deps]
    what = f"table {entry.table}" if entry.table else f"tables matching {entry.selector}"
    return dg.AssetSpec(
        key=asset.key,
        deps=deps,
        description=f"Baselinr profile of {what}"
        + (f" in schema {entry.schema_}" if entry.schema_ else ""),
        metadata=metadata,
        group_name=group_name,
        tags=tags,
        kinds={"baselinr", kind} if kind else {"baselinr"},
        skippable=True,
        automation_condition=automation_condition if deps else None,
    )
