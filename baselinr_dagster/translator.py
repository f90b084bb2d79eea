"""Config entry -> ``AssetSpec``: ``BaselinrTranslator`` and the defaults beside it.

Subclass ``BaselinrTranslator`` and override any ``get_*`` method to map entries to
your own keys, groups, owners or metadata (the ``DagsterDbtTranslator`` pattern); pass
an instance as ``translator=`` to ``build_baselinr_definitions``,
``create_profiling_assets``, ``baselinr_plan_sensor`` or the component.

Built from the config alone: nothing here connects to the warehouse or storage.
"""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from baselinr.config.effective import effective_sampling, profile_signature, requested_metrics
from baselinr.config.models import TableEntry
from baselinr_dagster.layout import LayoutConfig

SUMMARY_NAME = "summary"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_KINDS = {"postgres", "sqlite", "duckdb", "snowflake", "bigquery"}
_DEFAULT_SCHEMA = {"postgres": "public", "sqlite": "main", "duckdb": "main"}  # as resolved


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
class AssetOptions:
    """What the keywords of ``build_baselinr_definitions`` say about every asset."""

    asset_prefix: str = "baselinr"
    group_name: str = "baselinr_profiling"
    default_tags: Mapping[str, str] = field(default_factory=dict)
    default_metadata: Mapping[str, Any] = field(default_factory=dict)
    automation_condition: dg.AutomationCondition | None = None

    @property
    def prefix(self) -> list[str]:
        return [safe_name(self.asset_prefix)]


@dataclass(frozen=True)
class BaselinrEntry:
    """What a translator sees of one ``profiling.tables`` entry."""

    index: int
    config: TableEntry
    layout: LayoutConfig
    options: AssetOptions

    @cached_property
    def signature(self) -> str:
        """The one profile signature (``baselinr.config.effective.profile_signature``)."""
        return profile_signature(self.layout.profiling, self.layout.incremental, self.config)

    @property
    def metrics(self) -> tuple[str, ...]:
        return requested_metrics(self.layout.profiling, self.config)

    @property
    def table_name(self) -> str | None:
        """``database.schema.table`` of a single-table entry, from the config alone (the
        name dbt and sling give the same table); None for patterns and schemas."""
        if not self.config.table:
            return None
        source = self.layout.source
        kind = self.layout.source_type
        schema = self.config.schema_ or source.get("schema") or _DEFAULT_SCHEMA.get(kind or "")
        parts = [_database(source, kind), schema, self.config.table]
        return ".".join(p for p in parts if p)


def _database(source: Mapping[str, Any], kind: str | None) -> str | None:
    url = source.get("url")
    database: str | None = None
    if isinstance(url, str) and url:
        try:
            database = sa.make_url(url).database
        except sa.exc.ArgumentError:
            return None
    else:
        database = source.get("filepath") or source.get("database")
    if not database:
        return None
    return Path(database).stem if kind in ("sqlite", "duckdb") else str(database)


class BaselinrTranslator:
    """Maps one table entry to its ``AssetSpec`` and says where its checks go.

    Every method takes a ``BaselinrEntry`` and may be overridden; ``get_asset_spec``
    assembles the others.
    """

    def get_asset_spec(self, entry: BaselinrEntry) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_asset_key(entry),
            deps=self.get_deps(entry),
            description=self.get_description(entry),
            metadata=self.get_metadata(entry),
            group_name=self.get_group_name(entry),
            tags=self.get_tags(entry),
            kinds=self.get_kinds(entry),
            owners=self.get_owners(entry),
            code_version=self.get_code_version(entry),
            freshness_policy=self.get_freshness_policy(entry),
            automation_condition=self.get_automation_condition(entry),
            skippable=True,
        )

    def get_asset_key(self, entry: BaselinrEntry) -> dg.AssetKey:
        return entry_key(entry.config, entry.options.prefix)

    def get_deps(self, entry: BaselinrEntry) -> list[dg.AssetKey]:
        return [dg.AssetKey(list(dep)) for dep in entry.config.deps]

    def get_description(self, entry: BaselinrEntry) -> str:
        config = entry.config
        what = f"table {config.table}" if config.table else f"tables matching {config.selector}"
        where = f" in schema {config.schema_}" if config.schema_ else ""
        return f"Baselinr profile of {what}{where}"

    def get_metadata(self, entry: BaselinrEntry) -> dict[str, Any]:
        config = entry.config
        metadata: dict[str, Any] = {
            "baselinr/entry_index": entry.index,
            "baselinr/selector": config.selector,
            "baselinr/schema": config.schema_ or "",
            "baselinr/metrics": ", ".join(entry.metrics),
            "baselinr/profile_signature": entry.signature,
        }
        if entry.table_name:
            metadata["dagster/table_name"] = entry.table_name  # TableMetadataSet.table_name
        if config.partition:
            metadata["baselinr/partition"] = config.partition.model_dump(mode="json")
        sampling = effective_sampling(entry.layout.profiling, config)
        if sampling is not None:
            metadata["baselinr/sampling"] = sampling.model_dump(mode="json")
        if config.plot_metrics:
            metadata["baselinr/plot_metrics"] = ", ".join(config.plot_metrics)
        metadata.update(entry.options.default_metadata)
        return metadata

    def get_group_name(self, entry: BaselinrEntry) -> str:
        return entry.options.group_name

    def get_tags(self, entry: BaselinrEntry) -> dict[str, str]:
        return {
            "environment": safe_tag_value(entry.layout.environment),
            **entry.options.default_tags,
        }

    def get_kinds(self, entry: BaselinrEntry) -> set[str]:
        kind = entry.layout.source_type
        return {"baselinr", kind} if kind in _KINDS else {"baselinr"}

    def get_owners(self, entry: BaselinrEntry) -> list[str]:
        return list(entry.config.owners)

    def get_code_version(self, entry: BaselinrEntry) -> str:
        """The profile signature: only what changes the profile changes the version."""
        return entry.signature

    def get_freshness_policy(self, entry: BaselinrEntry) -> dg.FreshnessPolicy | None:
        freshness = entry.config.freshness
        if freshness is None:
            return None
        warn = freshness.warn_after_minutes
        return dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(minutes=freshness.fail_after_minutes),
            warn_window=dt.timedelta(minutes=warn) if warn else None,
        )

    def get_automation_condition(self, entry: BaselinrEntry) -> dg.AutomationCondition | None:
        """The build's ``automation_condition`` for entries with upstream ``deps``."""
        return entry.options.automation_condition if entry.config.deps else None

    def get_target_asset_key(self, entry: BaselinrEntry) -> dg.AssetKey | None:
        """The user's own asset of the same table (``target_asset``), if any."""
        target = entry.config.target_asset
        return dg.AssetKey(list(target)) if target else None

    def get_check_asset_keys(self, entry: BaselinrEntry) -> list[dg.AssetKey]:
        """The assets that carry this entry's ``baselinr_drift`` and ``baselinr_schema``
        checks: Baselinr's asset, the target asset, or both (``attach_checks_to``)."""
        own = self.get_asset_key(entry)
        target = self.get_target_asset_key(entry)
        if target is None:
            return [own]
        return {"both": [own, target], "target": [target], "baselinr": [own]}[
            entry.config.attach_checks_to
        ]


@dataclass(frozen=True)
class EntryAsset:
    """One ``profiling.tables`` entry and the asset that stands for it."""

    index: int
    entry: TableEntry
    key: dg.AssetKey
    signature: str  # the profile signature: what changes the entry's profile
    spec: dg.AssetSpec | None = field(default=None, compare=False, repr=False)
    target: dg.AssetKey | None = None  # the user's asset of the same table
    check_keys: tuple[dg.AssetKey, ...] = ()  # where its checks are attached

    @property
    def table_name(self) -> str | None:
        value = (self.spec.metadata if self.spec else {}).get("dagster/table_name")
        return getattr(value, "value", value)


def entry_assets(
    layout: LayoutConfig,
    options: AssetOptions | None = None,
    translator: BaselinrTranslator | None = None,
) -> list[EntryAsset]:
    """One asset per entry; two entries with the same key are a definition-time error."""
    options = options or AssetOptions()
    translator = translator or BaselinrTranslator()
    assets: list[EntryAsset] = []
    seen: dict[dg.AssetKey, int] = {}
    for index, config in enumerate(layout.profiling.tables):
        entry = BaselinrEntry(index, config, layout, options)
        spec = translator.get_asset_spec(entry)
        key = spec.key
        if key in seen:
            raise dg.DagsterInvalidDefinitionError(
                f"profiling.tables[{index}] and profiling.tables[{seen[key]}] both map to asset "
                f"key {key.to_user_string()}; give one of them a distinct 'name'"
            )
        seen[key] = index
        check_keys = [key if k == translator.get_asset_key(entry) else k for k in
                      translator.get_check_asset_keys(entry)]  # fmt: skip
        assets.append(
            EntryAsset(
                index,
                config,
                key,
                entry.signature,
                spec,
                translator.get_target_asset_key(entry),
                tuple(check_keys),
            )
        )
    return assets
