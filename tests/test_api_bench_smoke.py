"""bench/api_bench.py still runs end to end (tiny storage, a few seconds of load,
against the suite's cluster). No timing is asserted: only that every phase ran, without
errors, and that the export returned every drift event."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_api_bench_runs(pg_server: Any) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "api_bench.py"), "--runs", "2000",
         "--results", "40000", "--events-per-run", "2", "--seconds", "2", "--clients", "4",
         "--burst-clients", "10", "--burst-requests", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BASELINR_TEST_PG_URL": pg_server.url()},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert "2,000 runs, 40,000 result rows" in out, out
    assert re.search(
        r"4 concurrent clients for \d+ s on 127\.0\.0\.1: [\d,]+ requests \(\d+/s\), 0 errors", out
    ), out
    assert re.search(
        r"^runs\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+([\d.]+|-)$", out, re.M
    ), out
    assert re.search(
        r"10 concurrent clients x 2 requests: \d+ answered in [\d.]+ s, 0 errors", out
    ), out
    drift_events = 2 * (2000 - 2000 // 47)  # two per completed run
    for fmt in ("json", "csv"):
        assert f"format={fmt}: HTTP 200, {drift_events:,} rows" in out, out
    assert re.search(r"export RSS growth < 50 MB \([\d.]+ MB\)", out), out
