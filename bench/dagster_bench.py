"""Dagster code-location benchmark.

1. Definitions build + validate time for 10, 100, 1,000 and 5,000 table entries —
   our single ``multi_asset`` over all entries, and, as the alternative we did not
   choose, one asset definition per entry (measured in the same run).
2. Sensor tick time for 1,000 unchanged tables on PostgreSQL (incremental planning
   on; all tables profiled once first so every tick finds nothing changed). The
   first tick has an empty cursor; later ticks feed the cursor back.

Targets (issue 4): 1,000 entries load in <= 2 s; a no-change tick on 1,000 tables
<= 3 s.

    .venv/bin/python bench/dagster_bench.py [--sizes 10,100,1000,5000] [--tables 1000]
"""

import argparse
import statistics
import sys
import tempfile
import time
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
from baselinr_dagster.translator import asset_spec, entry_assets  # noqa: E402
from tests.support.pgcluster import PostgresCluster  # noqa: E402


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
    for a in entry_assets(layout, ["baselinr"]):
        spec = asset_spec(a, layout, group_name="g", kind=None, default_tags=None,
                          default_metadata=None, automation_condition=None)  # fmt: skip

        @dg.multi_asset(
            name=f"profile_{a.index}", specs=[spec], check_specs=check_specs([a], layout)
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
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for i in range(tables):
                conn.execute(sa.text(f"CREATE TABLE public.t_{i:05d} (id int, v float8, s text)"))
                conn.execute(
                    sa.text(
                        f"INSERT INTO public.t_{i:05d} "
                        "SELECT g, g * 0.5, 'x' || g FROM generate_series(1, 20) g"
                    )
                )
        engine.dispose()
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--skip-sensor", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_definitions([int(s) for s in args.sizes.split(",")], Path(tmp))
        if not args.skip_sensor:
            bench_sensor(args.tables, Path(tmp))


if __name__ == "__main__":
    main()
