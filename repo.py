"""Example Dagster code location: `dagster dev` (or `make dev`) loads this file.

Point BASELINR_CONFIG at your own config; the default profiles the demo warehouse
that `make demo` builds.
"""

import os
from pathlib import Path

from baselinr.integrations.dagster import build_baselinr_definitions

CONFIG_PATH = os.environ.get(
    "BASELINR_CONFIG", str(Path(__file__).parent / "examples" / "baselinr.yml")
)

defs = build_baselinr_definitions(
    config_path=CONFIG_PATH,
    asset_prefix="baselinr",
    job_name="baselinr_profile_all",
    enable_sensor=True,
)
