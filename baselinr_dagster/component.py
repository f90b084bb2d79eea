"""``BaselinrComponent``: Baselinr as a Dagster component (``dg scaffold defs``).

```yaml
# defs/profiles/defs.yaml
type: baselinr_dagster.BaselinrComponent
attributes:
  config_path: baselinr.yml        # relative to this folder
  asset_prefix: baselinr           # every keyword of build_baselinr_definitions
  automation_condition: "{{ automation_condition.eager() }}"
```

The component builds exactly what ``build_baselinr_definitions`` builds. For a custom
``BaselinrTranslator``, subclass the component and override ``get_translator``.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import dagster as dg

from baselinr_dagster.definitions import build_baselinr_definitions
from baselinr_dagster.translator import BaselinrTranslator

STARTER_CONFIG = """\
# Baselinr's profiling config for this component (see Baselinr's README).
# Loading the code location reads this file only: it never connects to the warehouse.
environment: development
source:
  type: sqlite
  filepath: warehouse.db             # relative to this file; or url: postgresql+psycopg2://...
storage:
  connection: {type: sqlite, filepath: baselinr.db}
  create_tables: true
profiling:
  tables:                            # one Dagster asset per entry
    - table: orders
      # deps: [dbt/orders]           # profile when the upstream asset materializes
      # target_asset: dbt/orders     # drift checks on your own asset of this table
incremental:
  enabled: true                      # skip unchanged tables, re-profile changed partitions
"""

_STATUS = {"running": dg.DefaultSensorStatus.RUNNING, "stopped": dg.DefaultSensorStatus.STOPPED}


class BaselinrScaffolder(dg.Scaffolder):
    """``dg scaffold defs baselinr_dagster.BaselinrComponent NAME``: a ``defs.yaml`` and a
    starter ``baselinr.yml`` (kept if one is already there)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        dg.scaffold_component(request, {"config_path": "baselinr.yml"})
        config = Path(request.target_path) / "baselinr.yml"
        if not config.exists():
            config.write_text(STARTER_CONFIG)


@dg.scaffold_with(BaselinrScaffolder)
@dataclass
class BaselinrComponent(dg.Component, dg.Resolvable):
    """Profiles the tables of a ``baselinr.yml``: one asset per table entry with drift
    and schema checks, a summary asset, the job ``baselinr_profile_all`` and the plan
    sensor (the same definitions as ``build_baselinr_definitions``)."""

    config_path: str
    asset_prefix: str = "baselinr"
    job_name: str = "baselinr_profile_all"
    enable_sensor: bool = True
    group_name: str = "baselinr_profiling"
    default_tags: Optional[dict[str, str]] = None  # noqa: UP045 (resolved from YAML)
    default_metadata: Optional[dict[str, Any]] = None  # noqa: UP045
    sensor_name: str = "baselinr_plan_sensor"
    sensor_minimum_interval_seconds: int = 300
    sensor_default_status: Literal["running", "stopped"] = "stopped"
    automation_condition: Annotated[
        Optional[dg.AutomationCondition],  # noqa: UP045
        dg.Resolver.default(
            model_field_type=Optional[str],  # noqa: UP045
            description="For entries with deps, e.g. '{{ automation_condition.eager() }}'.",
        ),
    ] = None
    automation_sensor_name: str = "baselinr_automation_sensor"
    automation_sensor_default_status: Literal["running", "stopped"] = "running"
    pool: Optional[str] = None  # noqa: UP045
    max_assets_per_run: Optional[int] = None  # noqa: UP045

    def get_translator(self) -> BaselinrTranslator:
        """Override in a subclass to map entries to your own keys, owners, metadata."""
        return BaselinrTranslator()

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        path = Path(self.config_path)
        if not path.is_absolute():
            path = Path(context.path) / path
        return build_baselinr_definitions(
            path,
            asset_prefix=self.asset_prefix,
            job_name=self.job_name,
            enable_sensor=self.enable_sensor,
            group_name=self.group_name,
            default_tags=self.default_tags,
            default_metadata=self.default_metadata,
            sensor_name=self.sensor_name,
            sensor_minimum_interval_seconds=self.sensor_minimum_interval_seconds,
            sensor_default_status=_STATUS[self.sensor_default_status],
            automation_condition=self.automation_condition,
            automation_sensor_name=self.automation_sensor_name,
            automation_sensor_default_status=_STATUS[self.automation_sensor_default_status],
            pool=self.pool,
            translator=self.get_translator(),
            max_assets_per_run=self.max_assets_per_run,
        )
