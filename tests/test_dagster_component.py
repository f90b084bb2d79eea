"""``BaselinrComponent`` the way a dg user installs it: ``dg list components`` shows it,
``dg scaffold defs`` writes ``defs.yaml`` and a starter ``baselinr.yml``, and ``dg check
yaml``, ``dg check defs`` and ``dg list defs`` pass on the scaffolded project (real
subprocesses, no network)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from baselinr_dagster import BaselinrComponent, build_baselinr_definitions

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent

PYPROJECT = """\
[project]
name = "acme"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["dagster", "baselinr[dagster]"]

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "acme"
"""

DEFINITIONS = """\
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""


def dg_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(project / "src"),
        "DAGSTER_HOME": str(project / ".dagster_home"),
        "DG_DISABLE_TELEMETRY": "1",
    }
    (project / ".dagster_home").mkdir(exist_ok=True)
    return subprocess.run(
        [str(BIN / "dg"), *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "acme"
    package = root / "src" / "acme"
    (package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(DEFINITIONS)
    return root


def test_scaffold_check_and_list_with_dg(project: Path) -> None:
    listed = dg_cli(project, "list", "components")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "baselinr_dagster.BaselinrComponent" in listed.stdout

    scaffolded = dg_cli(
        project, "scaffold", "defs", "baselinr_dagster.BaselinrComponent", "profiles"
    )
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    folder = project / "src" / "acme" / "defs" / "profiles"
    defs_yaml = yaml.safe_load((folder / "defs.yaml").read_text())
    assert defs_yaml == {
        "type": "baselinr_dagster.BaselinrComponent",
        "attributes": {"config_path": "baselinr.yml"},
    }
    starter = yaml.safe_load((folder / "baselinr.yml").read_text())
    assert starter["profiling"]["tables"] == [{"table": "orders"}]

    for command in (("check", "yaml"), ("check", "defs")):
        done = dg_cli(project, *command)
        assert done.returncode == 0, done.stdout + done.stderr

    listed_defs = dg_cli(project, "list", "defs", "--json")
    assert listed_defs.returncode == 0, listed_defs.stdout + listed_defs.stderr
    data = json.loads(listed_defs.stdout)
    assets = {a["asset_key"] for a in data["assets"]}
    assert assets == {"baselinr/orders", "baselinr/summary"}
    checks = {c["key"] for c in data["asset_checks"]}
    assert checks == {"baselinr/orders:baselinr_drift", "baselinr/orders:baselinr_schema"}
    assert {j["name"] for j in data["jobs"]} == {"baselinr_profile_all"}
    assert {s["name"] for s in data["sensors"]} == {"baselinr_plan_sensor"}

    # every keyword of build_baselinr_definitions, from YAML
    (folder / "defs.yaml").write_text(
        yaml.safe_dump(
            {
                "type": "baselinr_dagster.BaselinrComponent",
                "attributes": {
                    "config_path": "baselinr.yml",
                    "asset_prefix": "dq",
                    "job_name": "profile_now",
                    "group_name": "quality",
                    "default_tags": {"team": "dq"},
                    "automation_condition": "{{ automation_condition.eager() }}",
                    "max_assets_per_run": 50,
                },
            }
        )
    )
    edited = dg_cli(project, "list", "defs", "--json")
    assert edited.returncode == 0, edited.stdout + edited.stderr
    data = json.loads(edited.stdout)
    orders = next(a for a in data["assets"] if a["asset_key"] == "dq/orders")
    assert orders["group_name"] == "quality"
    assert {"key": "team", "value": "dq"} in orders["tags"]
    assert {j["name"] for j in data["jobs"]} == {"profile_now"}


def test_component_builds_what_build_baselinr_definitions_builds(tmp_path: Path) -> None:
    config = tmp_path / "baselinr.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"type": "sqlite", "filepath": "wh.db"},
                "storage": {"connection": {"type": "sqlite", "filepath": "store.db"}},
                "profiling": {"tables": [{"table": "orders", "deps": ["dbt/orders"]}]},
            }
        )
    )
    component = BaselinrComponent(
        config_path=str(config), automation_condition=dg.AutomationCondition.eager()
    )
    built = dg.component_defs(component=component)
    direct = build_baselinr_definitions(config, automation_condition=dg.AutomationCondition.eager())
    keys = lambda d: set(d.resolve_asset_graph().get_all_asset_keys())  # noqa: E731
    assert keys(built) == keys(direct)
    assert (
        {s.name for s in built.sensors or []}
        == {s.name for s in direct.sensors or []}
        == {
            "baselinr_plan_sensor",
            "baselinr_automation_sensor",
        }
    )
