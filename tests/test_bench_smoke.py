"""The benchmark still runs (on a tiny table, against the suite's cluster). No timing
is asserted: only that it profiles both engines within three statements."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_profile_bench_runs(pg_server: Any) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "profile_bench.py"), "--rows", "3000",
         "--repeat", "1", "--sqlite-repeat", "1", "--engines", "postgres,sqlite"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BASELINR_TEST_PG_URL": pg_server.url()},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {
        m.group(1): (int(m.group(2).replace(",", "")), int(m.group(3)))
        for m in re.finditer(
            r"^(postgres|sqlite)\s+([\d,]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(\d+)$",
            done.stdout,
            re.M,
        )
    }
    assert rows == {"postgres": (3000, 3), "sqlite": (3000, 2)}, done.stdout


@pytest.mark.postgres
@pytest.mark.slow
def test_dagster_run_overhead_bench_runs(pg_server: Any) -> None:
    """Three assets, one round: the bench's commands (CLI, `dagster job execute` on a
    SQLite and a Postgres instance, the in-process breakdown) all work."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dagster_bench.py"), "--skip-definitions",
         "--skip-sensor", "--run-assets", "3", "--run-repeat", "1"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "BASELINR_TEST_PG_URL": pg_server.url()},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    ratios = re.findall(r"(sqlite|postgres) instance: [\d.]+s .*ratio ([\d.]+)x", done.stdout)
    assert {kind for kind, _ in ratios} == {"sqlite", "postgres"}, done.stdout
    events = re.findall(r"(\d+) events written", done.stdout)
    assert len(events) == 2 and all(int(n) > 0 for n in events), done.stdout
