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
