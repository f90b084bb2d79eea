"""The configuration schema: defaults, validation and documentation in one place.

Every key a user can write in ``baselinr.yml`` is declared here; nothing else parses
config. Unknown keys are rejected so that a typo is an error, not a silent default.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from baselinr.config.api import ApiConfig
from baselinr.config.base import StrictModel
from baselinr.config.drift import DriftDetectionConfig
from baselinr.config.hooks import HooksConfig
from baselinr.patterns import PatternError, compile_pattern
from baselinr.profiling.metrics import DEFAULT_METRICS, METRICS

SourceType = Literal["sqlite", "postgres", "duckdb", "snowflake", "bigquery"]


class ConnectionConfig(StrictModel):
    """How to reach a database: individual fields, or one SQLAlchemy ``url``."""

    type: SourceType | None = None
    url: SecretStr | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    database: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    schema_: str | None = Field(default=None, alias="schema")
    filepath: str | None = None
    # snowflake / bigquery
    account: str | None = None
    warehouse: str | None = None
    role: str | None = None
    project: str | None = None
    dataset: str | None = None
    # bigquery's service-account key file: BigQuery is not supported as a source yet, so
    # this is refused everywhere rather than accepted and ignored
    credentials_path: str | None = None
    connect_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _parsable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _url_scheme(value.get_secret_value())
        return value

    @field_validator("host")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        # never echo the value: a URL pasted here carries its password
        if value is not None and (
            "://" in value or "@" in value or "/" in value or any(c.isspace() for c in value)
        ):
            raise ValueError(
                "'host' must be a host name or address; it looks like a URL "
                "(put a whole connection URL under 'url' instead)"
            )
        return value

    @model_validator(mode="after")
    def _type_known(self) -> "ConnectionConfig":
        if self.type is None and self.url is None:
            raise ValueError("set either 'type' (with its fields) or 'url'")
        if self.url is not None and self.type is None:
            scheme = _url_scheme(self.url.get_secret_value())
            object.__setattr__(self, "type", infer_type_from_url(scheme))
        if self.url is None and self.type in ("sqlite", "duckdb") and not self.filepath:
            raise ValueError(f"type '{self.type}' needs 'filepath'")
        if self.url is None and self.type == "postgres" and not self.database:
            raise ValueError("type 'postgres' needs 'database'")
        if self.credentials_path is not None and self.type != "bigquery":
            raise ValueError(
                "'credentials_path' (a service-account key file) is only used by type 'bigquery'"
            )
        return self


def _url_scheme(url: str) -> str:
    """The dialect part of a SQLAlchemy URL. The URL itself never appears in the
    message (it may hold a password)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        raise ValueError(
            "'url' is not a valid SQLAlchemy URL (dialect+driver://user:password@host:port/db)"
        ) from None
    return parsed.drivername


def infer_type_from_url(url: str) -> SourceType:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    aliases: dict[str, SourceType] = {
        "postgresql": "postgres",
        "postgres": "postgres",
        "sqlite": "sqlite",
        "duckdb": "duckdb",
        "snowflake": "snowflake",
        "bigquery": "bigquery",
    }
    if scheme not in aliases:
        raise ValueError(f"cannot infer the source type from a '{scheme}' URL; set 'type'")
    return aliases[scheme]


# Change detection SQL exists for these (``incremental/detectors``), but profiling them
# (sampling, quantiles, their SQLAlchemy dialects) is not implemented or tested.
UNSUPPORTED_SOURCES = ("snowflake", "bigquery")


class StorageConfig(StrictModel):
    """Where runs, results, events and incremental state are kept."""

    connection: ConnectionConfig
    create_tables: bool = True

    @field_validator("connection")
    @classmethod
    def _storage_engine(cls, value: ConnectionConfig) -> ConnectionConfig:
        if value.type in UNSUPPORTED_SOURCES:
            raise ValueError(
                f"'{value.type}' cannot hold Baselinr's results; use sqlite or postgres"
            )
        return value


class PartitionConfig(StrictModel):
    key: str
    strategy: Literal["all", "latest", "recent_n", "specific_values"] = "all"
    recent_n: int | None = Field(default=None, ge=1)
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _strategy_args(self) -> "PartitionConfig":
        if self.strategy == "recent_n" and self.recent_n is None:
            raise ValueError("strategy 'recent_n' needs 'recent_n'")
        if self.strategy == "specific_values" and not self.values:
            raise ValueError("strategy 'specific_values' needs a non-empty 'values' list")
        return self


class SamplingConfig(StrictModel):
    enabled: bool = False
    fraction: float = Field(default=0.1, gt=0, le=1)
    # auto: the cheapest real sampling the dialect has (TABLESAMPLE SYSTEM on Postgres,
    # a deterministic pseudo-random row predicate on SQLite and DuckDB)
    method: Literal["auto", "system", "bernoulli", "random"] = "auto"
    seed: int = 42


class ColumnSelection(StrictModel):
    include: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)


class FreshnessConfig(StrictModel):
    """How old an entry's profile may get before Dagster flags it (a time-window
    freshness policy on the asset)."""

    fail_after_minutes: int = Field(ge=1)
    warn_after_minutes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _warn_before_fail(self) -> "FreshnessConfig":
        if (
            self.warn_after_minutes is not None
            and self.warn_after_minutes >= self.fail_after_minutes
        ):
            raise ValueError("'warn_after_minutes' must be less than 'fail_after_minutes'")
        return self


_OWNER = re.compile(r"^(team:[A-Za-z0-9_.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")


class TableEntry(StrictModel):
    """One ``profiling.tables`` entry: one table, a pattern, or a whole schema.

    ``owners``, ``freshness``, ``target_asset``, ``attach_checks_to`` and
    ``plot_metrics`` shape how the entry shows in Dagster; none of them changes the
    profile (they are not part of ``profile_signature``)."""

    table: str | None = None
    pattern: str | None = None
    select_schema: bool = False
    name: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    pattern_type: Literal["wildcard", "regex"] = "wildcard"
    exclude_patterns: list[str] = Field(default_factory=list)
    partition: PartitionConfig | None = None
    sampling: SamplingConfig | None = None
    columns: ColumnSelection = Field(default_factory=ColumnSelection)
    metrics: list[str] | None = None
    deps: list[list[str]] = Field(default_factory=list)
    watermark_column: str | None = None
    owners: list[str] = Field(default_factory=list)
    freshness: FreshnessConfig | None = None
    target_asset: list[str] | None = None
    attach_checks_to: Literal["both", "target", "baselinr"] = "both"
    plot_metrics: list[str] = Field(default_factory=list)

    @field_validator("deps", mode="before")
    @classmethod
    def _split_dep_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [item.split("/") if isinstance(item, str) else item for item in value]
        return value

    @field_validator("target_asset", mode="before")
    @classmethod
    def _split_target(cls, value: Any) -> Any:
        return value.split("/") if isinstance(value, str) else value

    @field_validator("owners")
    @classmethod
    def _owner_format(cls, value: list[str]) -> list[str]:
        bad = [o for o in value if not _OWNER.match(o)]
        if bad:
            raise ValueError(f"owner(s) {', '.join(bad)} must be an email address or 'team:<name>'")
        return value

    @field_validator("plot_metrics")
    @classmethod
    def _plot_metric_names(cls, value: list[str]) -> list[str]:
        for item in value:
            column, _, metric = item.rpartition(".")
            if not column or metric not in METRICS:
                raise ValueError(
                    f"plot_metrics item {item!r} must be '<column>.<metric>' with a known "
                    f"metric ({', '.join(sorted(METRICS))})"
                )
        return value

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_metric_names(value)

    @model_validator(mode="after")
    def _one_selector(self) -> "TableEntry":
        chosen = [k for k in ("table", "pattern") if getattr(self, k)]
        if self.select_schema:
            chosen.append("select_schema")
        if len(chosen) != 1:
            raise ValueError(
                "set exactly one of 'table', 'pattern' or 'select_schema: true'"
                + (f" (found {', '.join(chosen)})" if chosen else "")
            )
        if self.select_schema and not self.schema_:
            raise ValueError("'select_schema: true' needs 'schema'")
        if self.attach_checks_to == "target" and not self.target_asset:
            raise ValueError(f"'attach_checks_to: {self.attach_checks_to}' needs 'target_asset'")
        for key, patterns in (
            ("pattern", [self.pattern]),
            ("exclude_patterns", self.exclude_patterns),
        ):
            for pattern in patterns:
                if pattern is None:
                    continue
                try:
                    compile_pattern(pattern, self.pattern_type)
                except PatternError as exc:
                    raise ValueError(f"'{key}' is not a valid {self.pattern_type}: {exc}") from None
        return self

    @property
    def selector(self) -> str:
        """A short human description: ``orders``, ``fct_*`` or ``staging.*``."""
        if self.table:
            return self.table
        if self.pattern:
            return self.pattern
        return f"{self.schema_}.*"


def _check_metric_names(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(sorted(METRICS))}"
        )
    return names


class ProfilingConfig(StrictModel):
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))
    histogram_bins: int = Field(default=10, ge=1, le=200)
    top_values_k: int = Field(default=10, ge=1, le=1000)
    max_workers: int = Field(default=4, ge=1, le=64)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    tables: list[TableEntry] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        return _check_metric_names(value)


# --- incremental (seed 002's block; every key is honoured) --------------------------


class ChangeDetectionConfig(StrictModel):
    metadata_table: str = "baselinr_table_state"
    snapshot_ttl_minutes: int = Field(default=1440, ge=0)
    connector_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


class PartialProfilingConfig(StrictModel):
    enabled: bool = True
    # false: never restrict a profile to the changed partitions (always full)
    allow_partition_pruning: bool = True
    max_partitions_per_run: int = Field(default=64, ge=1)
    # Metrics combined from stored partition aggregates on a partial run. Requested
    # metrics not listed here are recomputed over the whole table when it is small
    # (see below) or carried from the last run that computed them, marked with that
    # run's time — never presented as fresh.
    mergeable_metrics: list[str] = Field(
        default_factory=lambda: ["count", "null_count", "min", "max"]
    )
    recompute_non_mergeable_max_rows: int = Field(default=1_000_000, ge=0)

    @field_validator("mergeable_metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        names = _check_metric_names(value)
        unmergeable = [n for n in names if not METRICS[n].mergeable]
        if unmergeable:
            mergeable = sorted(n for n, m in METRICS.items() if m.mergeable)
            raise ValueError(
                f"{', '.join(unmergeable)} cannot be merged from partition aggregates; "
                f"remove it (it is then recomputed or carried). Mergeable: {', '.join(mergeable)}"
            )
        return names


class AdaptiveSchedulingConfig(StrictModel):
    enabled: bool = False
    default_interval_minutes: int = Field(default=1440, ge=0)
    min_interval_minutes: int = Field(default=60, ge=0)
    max_interval_minutes: int = Field(default=10080, ge=0)
    priority_overrides: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> "AdaptiveSchedulingConfig":
        if not (
            self.min_interval_minutes <= self.default_interval_minutes <= self.max_interval_minutes
        ):
            raise ValueError(
                "need min_interval_minutes <= default_interval_minutes <= max_interval_minutes"
            )
        return self


class CostControlsConfig(StrictModel):
    enabled: bool = False
    max_rows_scanned: int | None = Field(default=None, ge=1)
    max_bytes_scanned: int | None = Field(default=None, ge=1)
    fallback_strategy: Literal["sample", "defer", "full"] = "sample"
    sample_fraction: float = Field(default=0.05, gt=0, le=1)


class IncrementalConfig(StrictModel):
    enabled: bool = False
    change_detection: ChangeDetectionConfig = Field(default_factory=ChangeDetectionConfig)
    partial_profiling: PartialProfilingConfig = Field(default_factory=PartialProfilingConfig)
    adaptive_scheduling: AdaptiveSchedulingConfig = Field(default_factory=AdaptiveSchedulingConfig)
    cost_controls: CostControlsConfig = Field(default_factory=CostControlsConfig)


# --- root ---------------------------------------------------------------------------


class BaselinrConfig(StrictModel):
    environment: str = "development"
    source: ConnectionConfig
    storage: StorageConfig
    profiling: ProfilingConfig = Field(default_factory=ProfilingConfig)
    incremental: IncrementalConfig = Field(default_factory=IncrementalConfig)
    drift_detection: DriftDetectionConfig = Field(default_factory=DriftDetectionConfig)
    hooks: HooksConfig = Field(default_factory=HooksConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)  # the dashboard REST API (`baselinr serve`)

    # Set by the loader: the file this config came from (None when built in code).
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("source")
    @classmethod
    def _profilable(cls, value: ConnectionConfig) -> ConnectionConfig:
        if value.type in UNSUPPORTED_SOURCES:
            raise ValueError(
                f"type '{value.type}' is not supported as a source yet: its change-detection SQL "
                "is generated and unit-tested, but profiling it (sampling, quantiles) is not "
                "implemented; use postgres, sqlite or duckdb"
            )
        return value

    @property
    def path(self) -> Path | None:
        return self._path
