"""Baselinr's Dagster integration: a thin adapter over the ``baselinr`` core."""

from baselinr_dagster.assets import ProfileRunConfig, create_profiling_assets
from baselinr_dagster.automation import eager_on_new_data
from baselinr_dagster.checks import DRIFT_CHECK, SCHEMA_CHECK
from baselinr_dagster.component import BaselinrComponent
from baselinr_dagster.definitions import build_baselinr_definitions
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.sensor import baselinr_plan_sensor
from baselinr_dagster.translator import AssetOptions, BaselinrEntry, BaselinrTranslator

__all__ = [
    "DRIFT_CHECK",
    "SCHEMA_CHECK",
    "AssetOptions",
    "BaselinrComponent",
    "BaselinrEntry",
    "BaselinrResource",
    "BaselinrTranslator",
    "ProfileRunConfig",
    "baselinr_plan_sensor",
    "build_baselinr_definitions",
    "create_profiling_assets",
    "eager_on_new_data",
]
