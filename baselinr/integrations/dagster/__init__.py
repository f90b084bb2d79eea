"""The seed's import path for the Dagster integration; everything lives in
``baselinr_dagster`` (this is the one place ``baselinr`` touches Dagster)."""

from baselinr_dagster import (
    BaselinrComponent,
    BaselinrResource,
    BaselinrTranslator,
    ProfileRunConfig,
    baselinr_plan_sensor,
    build_baselinr_definitions,
    create_profiling_assets,
)

__all__ = [
    "BaselinrComponent",
    "BaselinrResource",
    "BaselinrTranslator",
    "ProfileRunConfig",
    "baselinr_plan_sensor",
    "build_baselinr_definitions",
    "create_profiling_assets",
]
