"""Your own assets and Baselinr's in one code location, profiling driven by upstream.

    dagster dev -f examples/upstream_definitions.py

The module holds ONE module-level ``Definitions`` (``defs``): Baselinr's definitions
are merged in as an expression. Assigning them to a module-level name first
(``baselinr_defs = build_baselinr_definitions(...)``) makes Dagster fail with "Cannot
have more than one Definitions object defined at module scope".

``automation_condition`` applies to the entries with ``deps`` and also gives you
``baselinr_automation_sensor``, running by default (Dagster's own default automation
sensor starts stopped), whose runs carry the tag ``baselinr/trigger=upstream``.
"""

from pathlib import Path

import dagster as dg

from baselinr_dagster import build_baselinr_definitions


@dg.asset(key=["dbt", "orders"], group_name="dbt", kinds={"dbt"})
def orders() -> None:
    """Stands for your dbt (or sling, dlt) asset of the `orders` table."""


defs = dg.Definitions.merge(
    dg.Definitions(assets=[orders]),
    build_baselinr_definitions(
        Path(__file__).parent / "upstream.yml",
        automation_condition=dg.AutomationCondition.eager(),
    ),
)
