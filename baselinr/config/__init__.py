"""Configuration: the pydantic schema and the YAML loader."""

from baselinr.config.drift import DriftDetectionConfig, DriftOverride, DriftSettings
from baselinr.config.hooks import HooksConfig
from baselinr.config.loader import load_config, load_without_secrets, parse_config
from baselinr.config.models import (
    AdaptiveSchedulingConfig,
    BaselinrConfig,
    ChangeDetectionConfig,
    ColumnSelection,
    ConnectionConfig,
    CostControlsConfig,
    IncrementalConfig,
    PartialProfilingConfig,
    PartitionConfig,
    ProfilingConfig,
    SamplingConfig,
    StorageConfig,
    TableEntry,
)

__all__ = [
    "AdaptiveSchedulingConfig",
    "BaselinrConfig",
    "ChangeDetectionConfig",
    "ColumnSelection",
    "ConnectionConfig",
    "CostControlsConfig",
    "DriftDetectionConfig",
    "DriftOverride",
    "DriftSettings",
    "HooksConfig",
    "IncrementalConfig",
    "PartialProfilingConfig",
    "PartitionConfig",
    "ProfilingConfig",
    "SamplingConfig",
    "StorageConfig",
    "TableEntry",
    "load_config",
    "load_without_secrets",
    "parse_config",
]
