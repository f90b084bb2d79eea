"""``build_baselinr_definitions``: a whole Dagster code location from one config file."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from baselinr_dagster.assets import RESOURCE_KEY, profiling_assets
from baselinr_dagster.layout import load_layout
from baselinr_dagster.resource import BaselinrResource
from baselinr_dagster.sensor import baselinr_plan_sensor
from baselinr_dagster.translator import AssetOptions, BaselinrTranslator

#: Tags on the runs the automation sensor launches.
AUTOMATION_TAGS = {"baselinr/trigger": "upstream"}


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
    automation_sensor_name: str = "baselinr_automation_sensor",
    automation_sensor_default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    pool: str | None = None,
    translator: BaselinrTranslator | None = None,
    max_assets_per_run: int | None = None,
) -> dg.Definitions:
    """The resource ``baselinr``, one asset per ``profiling.tables`` entry, the summary
    asset, the job ``job_name`` over all of them, and ``baselinr_plan_sensor``.

    With ``automation_condition`` (applied to entries with ``deps``), also an
    automation-condition sensor over Baselinr's assets that runs by default, so
    materialising an upstream asset profiles its tables in one step.

    Reads only the config file: building definitions never connects to the warehouse
    or to storage.
    """
    path = str(Path(config_path).resolve())
    options = AssetOptions(
        asset_prefix,
        group_name,
        dict(default_tags or {}),
        dict(default_metadata or {}),
        automation_condition,
    )
    assets = profiling_assets(load_layout(path), options, translator, pool=pool)
    keys = [key for a in assets for key in a.keys]
    # One step does the work (tables are profiled concurrently by threads in it): a
    # process per step would only add start-up time to every run.
    job = dg.define_asset_job(
        job_name,
        selection=dg.AssetSelection.assets(*keys),
        executor_def=dg.in_process_executor,
        description="Profile every table Baselinr is configured for (the plan decides "
        "what each table needs).",
    )
    sensors: list[dg.SensorDefinition] = []
    if enable_sensor:
        sensors.append(
            baselinr_plan_sensor(
                path,
                job_name,
                asset_prefix=asset_prefix,
                name=sensor_name,
                minimum_interval_seconds=sensor_minimum_interval_seconds,
                default_status=sensor_default_status,
                translator=translator,
                max_assets_per_run=max_assets_per_run,
            )
        )
    automated = [s.key for a in assets for s in a.specs if s.automation_condition is not None]
    if automated:
        # Dagster's own default automation sensor starts stopped: upstream
        # materialisations made while it is off are never acted on. This one covers
        # Baselinr's assets only, runs by default and tags its runs.
        sensors.append(
            dg.AutomationConditionSensorDefinition(
                automation_sensor_name,
                target=dg.AssetSelection.assets(*automated),
                default_status=automation_sensor_default_status,
                run_tags=AUTOMATION_TAGS,
                description="Profiles Baselinr's tables when their upstream assets "
                "materialize (the entries' automation condition).",
            )
        )
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        sensors=sensors,
        resources={RESOURCE_KEY: BaselinrResource(config_path=path)},
    )
