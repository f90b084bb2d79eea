"""``build_baselinr_definitions``: a whole Dagster code location from one config file."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from baselinr_dagster.assets import RESOURCE_KEY, profiling_assets
from baselinr_dagster.layout import load_layout
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.sensor import baselinr_plan_sensor


def build_baselinr_definitions(
    config_path: str | Path,
    asset_prefix: str = "baselinr",
    job_name: str = "baselinr_profile_all",
    enable_sensor: bool = True,
    group_name: str = "baselinr_profiling",
    default_tags: Mapping[str, str] | None = None,
    default_metadata: Mapping[str, Any] | None = None,
    *,
    sensor_name: str = "baselinr_plan_sensor",
    sensor_minimum_interval_seconds: int = 300,
    sensor_default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    automation_condition: dg.AutomationCondition | None = None,
    pool: str | None = None,
) -> dg.Definitions:
    """The resource ``baselinr``, one asset per ``profiling.tables`` entry, the summary
    asset, the job ``job_name`` over all of them, and ``baselinr_plan_sensor``.

    Reads only the config file: building definitions never connects to the warehouse
    or to storage.
    """
    path = str(Path(config_path).resolve())
    assets = profiling_assets(
        load_layout(path),
        asset_prefix,
        group_name,
        default_tags,
        default_metadata,
        automation_condition=automation_condition,
        pool=pool,
    )
    keys = [key for a in assets for key in a.keys]
    job = dg.define_asset_job(
        job_name,
        selection=dg.AssetSelection.assets(*keys),
        description="Profile every table Baselinr is configured for (the plan decides "
        "what each table needs).",
    )
    sensors = []
    if enable_sensor:
        sensors.append(
            baselinr_plan_sensor(
                path,
                job_name,
                asset_prefix=asset_prefix,
                name=sensor_name,
                minimum_interval_seconds=sensor_minimum_interval_seconds,
                default_status=sensor_default_status,
            )
        )
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        sensors=sensors,
        resources={RESOURCE_KEY: BaselinrResource(config_path=path)},
    )
