"""Dagster code-location benchmark.

1. Definitions build + validate time for 10, 100, 1,000 and 5,000 table entries —
   our single ``multi_asset`` over all entries, and, as the alternative we did not
   choose, one asset definition per entry (measured in the same run).
2. Sensor tick time for 1,000 unchanged tables on PostgreSQL (incremental planning
   on; all tables profiled once first so every tick finds nothing changed). The
   first tick has an empty cursor; later ticks feed the cursor back.
3. Run overhead: the run the plan sensor requests for N small table assets (a new
   process, as a run worker: load the code location, create the run, execute it)
   against ``baselinr profile`` on the same config, interleaved in the same run, on a SQLite instance and on a Postgres
   instance; printed as ratios to the CLI. Then one in-process run per instance kind
   with a breakdown: events written per type and their cost, Baselinr's own work, the
   rest.

Targets (issue 4): 1,000 entries load in <= 2 s; a no-change tick on 1,000 tables
<= 3 s. Issue 12: the Postgres-instance run <= 2x the CLI at 200 assets.

    .venv/bin/python bench/dagster_bench.py [--sizes 10,100,1000,5000] [--tables 1000]
        [--run-assets 200,1000] [--run-repeat 3] [--skip-definitions] [--skip-sensor]
"""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from baselinr.config import load_config  # noqa: E402
from baselinr.runner import ProfileRunner  # noqa: E402
from baselinr_dagster import build_baselinr_definitions  # noqa: E402
from baselinr_dagster.checks import check_specs  # noqa: E402
from baselinr_dagster.layout import load_layout  # noqa: E402
from baselinr_dagster.resource import clear_cache  # noqa: E402
from baselinr_dagster.translator import entry_assets  # noqa: E402
from tests.support.pgcluster import ExistingServer, PostgresCluster  # noqa: E402


def write_config(directory: Path, entries: int, source: dict, incremental: bool) -> Path:
    data = {
        "environment": "bench",
        "source": source,
        "storage": {"connection": {"type": "sqlite", "filepath": str(directory / "store.db")}},
        "profiling": {
            "max_workers": 2,
            "tables": [{"table": f"t_{i:05d}", "schema": "public"} for i in range(entries)],
        },
        "incremental": {"enabled": incremental},
    }
    path = directory / f"baselinr_{entries}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def per_entry_definitions(path: Path) -> dg.Definitions:
    """The alternative: one single-spec multi_asset (with its two checks) per entry."""
    layout = load_layout(path)
    assets = []
    for a in entry_assets(layout):

        @dg.multi_asset(
            name=f"profile_{a.index}", specs=[a.spec], check_specs=check_specs([a], layout)
        )
        def _one(context: dg.AssetExecutionContext):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        assets.append(_one)
    return dg.Definitions(assets=assets)


def bench_definitions(sizes: list[int], directory: Path) -> None:
    print("\nDefinitions: build + validate_loadable (best of 3, seconds)")
    print(f"{'entries':>8} {'multi_asset':>12} {'per-entry':>10} {'ratio':>7}")
    source = {"type": "postgres", "host": "127.0.0.1", "port": 9, "database": "unused"}
    for n in sizes:
        path = write_config(directory, n, source, incremental=False)

        def ours(p: Path = path) -> None:
            dg.Definitions.validate_loadable(build_baselinr_definitions(p))

        def alternative(p: Path = path) -> None:
            dg.Definitions.validate_loadable(per_entry_definitions(p))

        repeat = 3 if n <= 1000 else 1
        t_ours = best_of(ours, repeat)
        t_alt = best_of(alternative, repeat) if n <= 1000 else float("nan")
        ratio = t_alt / t_ours if t_alt == t_alt else float("nan")
        print(f"{n:>8} {t_ours:>12.3f} {t_alt:>10.3f} {ratio:>6.1f}x", flush=True)


def bench_sensor(tables: int, directory: Path) -> None:
    print(f"\nSensor tick, {tables} unchanged tables on PostgreSQL")
    with PostgresCluster() as cluster:
        url = cluster.create_database("bench")
        create_tables(url, tables)
        path = write_config(directory, tables, {"url": url}, incremental=True)
        defs = build_baselinr_definitions(path)
        with dg.instance_for_test() as instance:
            # Seed the state with the runner the assets use: a Dagster run over 1,000
            # assets spends minutes writing its own events to a SQLite instance
            # (planned, materialized, check events), which is not what this measures.
            start = time.perf_counter()
            runner = ProfileRunner(load_config(path))
            seeded = runner.profile()
            runner.context.close()
            print(f"  initial profile of all tables (ProfileRunner): "
                  f"{time.perf_counter() - start:.1f}s, {seeded.summary()}")  # fmt: skip
            sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
            cursor = None
            times, messages = [], []
            for _ in range(5):
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor, definitions=defs
                )
                start = time.perf_counter()
                data = sensor.evaluate_tick(context)
                times.append(time.perf_counter() - start)
                cursor = data.cursor or cursor
                messages.append(data.skip_message or f"{len(data.run_requests)} request(s)")
            print(f"  tick times (s): {', '.join(f'{t:.3f}' for t in times)}")
            print(f"  first tick (cold caches): {times[0]:.3f}s; "
                  f"median of the rest: {statistics.median(times[1:]):.3f}s")  # fmt: skip
            print(f"  last tick said: {messages[-1]}")
        clear_cache()


BIN = Path(sys.executable).parent


def create_tables(url: str, n: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(sa.text(f"CREATE TABLE public.t_{i:05d} (id int, v float8, s text)"))
            conn.execute(
                sa.text(
                    f"INSERT INTO public.t_{i:05d} "
                    "SELECT g, g * 0.5, 'x' || g FROM generate_series(1, 20) g"
                )
            )
    engine.dispose()


def run_config(directory: Path, n: int, warehouse: str, store: str) -> Path:
    """Every table entry profiled in full on every run (incremental off), Baselinr's
    storage on Postgres: the CLI and Dagster do the same warehouse work each time."""
    data = {
        "environment": "bench",
        "source": {"url": warehouse},
        "storage": {"connection": {"url": store}},
        "profiling": {
            "max_workers": 4,
            "tables": [{"table": f"t_{i:05d}", "schema": "public"} for i in range(n)],
        },
    }
    path = directory / f"run_{n}.yml"
    path.write_text(yaml.safe_dump(data))
    (directory / f"repo_{n}.py").write_text(
        "from baselinr_dagster import build_baselinr_definitions\n"
        f"defs = build_baselinr_definitions({str(path)!r})\n"
    )
    return path


def dagster_homes(directory: Path, instance_url: str) -> dict[str, Path]:
    sqlite_home = directory / "home_sqlite"
    sqlite_home.mkdir(exist_ok=True)
    (sqlite_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    pg_home = directory / "home_postgres"
    pg_home.mkdir(exist_ok=True)
    url = sa.make_url(instance_url)
    (pg_home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {
                    "postgres": {
                        "postgres_db": {
                            "hostname": url.host,
                            "port": url.port,
                            "db_name": url.database,
                            "username": url.username,
                            **({"password": url.password} if url.password else {}),
                            "scheme": "postgresql+psycopg2",
                        }
                    }
                },
                "telemetry": {"enabled": False},
            }
        )
    )
    return {"sqlite": sqlite_home, "postgres": pg_home}


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return elapsed


def bench_run(
    sizes: list[int], repeat: int, directory: Path, warmup: bool = True, details: bool = True
) -> None:
    print("\nRun overhead: the plan sensor's run of every asset vs `baselinr profile` on the same config "
          f"(seconds; {repeat} interleaved rounds; ratio = Dagster / CLI of the same round)")  # fmt: skip
    existing = os.environ.get("BASELINR_TEST_PG_URL")  # e.g. the test suite's cluster
    with (
        contextlib.nullcontext(ExistingServer(existing))
        if existing
        else PostgresCluster() as cluster
    ):
        env_base = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
        env_base["PYTHONPATH"] = str(ROOT)
        for n in sizes:
            warehouse = cluster.create_database(f"wh_{n}")
            store = cluster.create_database(f"store_{n}")
            instance_db = cluster.create_database(f"dagster_{n}")
            create_tables(warehouse, n)
            path = run_config(directory, n, warehouse, store)
            homes = dagster_homes(directory, instance_db)
            cli = [str(BIN / "baselinr"), "profile", "-c", str(path), "--json"]
            job = [sys.executable, "-c", SENSOR_RUN, str(directory / f"repo_{n}.py")]
            if warmup:  # one of each first (storage migrations, instance schema, page cache)
                timed(cli, env_base, directory)
                for home in homes.values():
                    timed(job, {**env_base, "DAGSTER_HOME": str(home)}, directory)
            times: dict[str, list[float]] = defaultdict(list)
            for _ in range(repeat):
                times["cli"].append(timed(cli, env_base, directory))
                for kind, home in homes.items():
                    times[kind].append(
                        timed(job, {**env_base, "DAGSTER_HOME": str(home)}, directory)
                    )
            ratios = {
                kind: [t / c for t, c in zip(times[kind], times["cli"], strict=True)]
                for kind in homes
            }
            print(f"  {n} assets: CLI {statistics.median(times['cli']):.1f}s "
                  f"(runs {', '.join(f'{t:.1f}' for t in times['cli'])})")  # fmt: skip
            for kind in homes:
                print(f"    {kind:>8} instance: {statistics.median(times[kind]):.1f}s "
                      f"(runs {', '.join(f'{t:.1f}' for t in times[kind])}); ratio "
                      f"{statistics.median(ratios[kind]):.2f}x "
                      f"[{min(ratios[kind]):.2f}-{max(ratios[kind]):.2f}]", flush=True)  # fmt: skip
            for kind, home in homes.items():
                if details:
                    breakdown(path, home, env_base, directory, kind, n)


# The run the plan sensor requests when every table needs profiling, in a new process
# as a run worker would: load the code location, create the run (its planned events),
# execute it. Asset selection = every table asset and the summary, no checks selected
# (the step evaluates and logs them itself), exactly as in the sensor's RunRequest.
SENSOR_RUN = r"""
import sys, runpy
import dagster as dg
defs = runpy.run_path(sys.argv[1])["defs"]
job = defs.resolve_job_def("baselinr_profile_all")
keys = frozenset(defs.resolve_asset_graph().get_all_asset_keys())
run = job.get_subset(asset_selection=keys, asset_check_selection=frozenset())
assert run.execute_in_process(instance=dg.DagsterInstance.get()).success
"""

BREAKDOWN = r"""
import json, sys, time
from collections import Counter, defaultdict
t0 = time.perf_counter()
import dagster as dg
from baselinr_dagster import build_baselinr_definitions
from baselinr.runner import ProfileRunner
t_import = time.perf_counter() - t0
t0 = time.perf_counter()
defs = build_baselinr_definitions(sys.argv[1])
job = defs.resolve_job_def("baselinr_profile_all")
t_defs = time.perf_counter() - t0
instance = dg.DagsterInstance.get()
storage = instance.event_log_storage
cost, count = defaultdict(float), Counter()
def wrap(name):
    inner = getattr(storage, name)
    def timed(events, *a, **k):
        start = time.perf_counter()
        try:
            return inner(events, *a, **k)
        finally:
            batch = events if isinstance(events, list) else [events]
            for e in batch:
                kind = e.dagster_event.event_type_value if e.dagster_event else "LOG"
                count[kind] += 1
                cost[kind] += (time.perf_counter() - start) / len(batch)
    setattr(storage, name, timed)
wrap("store_event")
wrap("store_event_batch")
work = [0.0]
inner_execute = ProfileRunner.execute
def execute(self, *a, **k):
    start = time.perf_counter()
    try:
        return inner_execute(self, *a, **k)
    finally:
        work[0] += time.perf_counter() - start
ProfileRunner.execute = execute
t0 = time.perf_counter()
keys = frozenset(defs.resolve_asset_graph().get_all_asset_keys())
job = job.get_subset(asset_selection=keys, asset_check_selection=frozenset())
result = job.execute_in_process(instance=instance)
t_run = time.perf_counter() - t0
assert result.success
print(json.dumps({"import": t_import, "defs": t_defs, "run": t_run, "work": work[0],
                  "count": count, "cost": cost}))
"""


def breakdown(path: Path, home: Path, env: dict[str, str], cwd: Path, kind: str, n: int) -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, str(path)],
        env={**env, "DAGSTER_HOME": str(home)}, cwd=cwd, capture_output=True, text=True,
        timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"breakdown failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    events = sum(data["count"].values())
    event_cost = sum(data["cost"].values())
    rest = data["run"] - data["work"] - event_cost
    print(f"    breakdown, {kind} instance, in process: imports {data['import']:.1f}s, "
          f"definitions {data['defs']:.2f}s, run {data['run']:.1f}s = Baselinr work "
          f"{data['work']:.1f}s + {events} events written {event_cost:.1f}s "
          f"({1000 * event_cost / max(events, 1):.1f} ms each, {events / n:.1f} per asset) "
          f"+ the rest {rest:.1f}s")  # fmt: skip
    top = sorted(data["cost"].items(), key=lambda kv: -kv[1])[:6]
    print("      by type: " + ", ".join(
        f"{k} {data['count'][k]} ({v:.1f}s)" for k, v in top))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--run-assets", default="200,1000")
    parser.add_argument("--run-repeat", type=int, default=3)
    parser.add_argument("--skip-definitions", action="store_true")
    parser.add_argument("--skip-sensor", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--no-warmup", action="store_true", help="for large sizes: no warm-up runs")
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_definitions:
            bench_definitions([int(s) for s in args.sizes.split(",")], Path(tmp))
        if not args.skip_sensor:
            bench_sensor(args.tables, Path(tmp))
        if not args.skip_run:
            bench_run(
                [int(s) for s in args.run_assets.split(",")],
                args.run_repeat,
                Path(tmp),
                warmup=not args.no_warmup,
                details=not args.no_breakdown,
            )


if __name__ == "__main__":
    main()
