"""`make demo`: build the sample warehouse, profile it through Dagster, show what
happened, and say how to open the UI.

Runs are recorded in the Dagster instance in .dagster_home, so `make dev` shows them.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOME = ROOT / ".dagster_home"


def run(*args: str) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, check=True)


def section(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def report(result: Any) -> None:
    for event in result.get_asset_materialization_events():
        m = event.materialization
        meta = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
        if "baselinr/decisions" in meta and m.asset_key.path[-1] != "summary":
            rows = [r.data for r in meta["baselinr/decisions"].records]
            actions = ", ".join(f"{d['table']}: {d['action']}" for d in rows)
            print(
                f"  {m.asset_key.to_user_string():<22} rows={meta.get('dagster/row_count')}"
                f"  {actions}"
            )
        else:
            print(
                f"  {m.asset_key.to_user_string():<22} profiled "
                f"{meta.get('baselinr/tables_profiled')} tables, scanned "
                f"{meta.get('baselinr/rows_scanned'):,} rows"
            )
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(
                f"  check {check.asset_key.to_user_string()}:{check.check_name} "
                f"({check.severity.value}): {check.description}"
            )
    print(f"  run {result.run_id}: {'success' if result.success else 'FAILED'}")


def append_orders(warehouse: Path, n: int) -> None:
    """New orders on the last day: only that partition of `orders` changes."""
    with sqlite3.connect(warehouse) as db:
        last_id, last_day = db.execute(
            "SELECT max(order_id), max(order_date) FROM orders"
        ).fetchone()
        db.executemany(
            "INSERT INTO orders (order_id, customer_id, product_id, order_date, quantity, amount,"
            " discount, status) VALUES (?, ?, ?, ?, ?, ?, NULL, 'delivered')",
            [
                (last_id + i, 1 + i % 5000, 1 + i % 500, last_day, 1 + i % 3, 10.0 + i % 90)
                for i in range(1, n + 1)
            ],
        )


def main() -> None:
    HOME.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", HOME / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(HOME)

    run("baselinr", "demo", "--dir", "demo", "--force")
    run("baselinr", "tables", "-c", "examples/baselinr.yml")

    import dagster as dg

    sys.path.insert(0, str(ROOT))
    from repo import defs

    instance = dg.DagsterInstance.get()
    section("Dagster: materialising every Baselinr asset (job baselinr_profile_all)")
    job = defs.resolve_job_def("baselinr_profile_all")
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = job.execute_in_process(run_config=quiet, instance=instance, raise_on_error=False)
    report(result)
    if not result.success:
        sys.exit(1)

    sensor = defs.resolve_sensor_def("baselinr_plan_sensor")
    section("Dagster: a tick of baselinr_plan_sensor right after the run")
    tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
    print(f"  {tick.skip_message or tick.run_requests}")

    section("New orders arrive for the last day; the sensor ticks again")
    append_orders(ROOT / "demo" / "warehouse.db", 500)
    tick = sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=tick.cursor, definitions=defs)
    )
    for request in tick.run_requests:
        keys = ", ".join(k.to_user_string() for k in request.asset_selection or [])
        print(f"  requested: {keys} (changed: {request.tags.get('baselinr/changed_tables')})")
        result = job.execute_in_process(
            run_config={**request.run_config, **quiet},
            tags=request.tags,
            asset_selection=list(request.asset_selection or []),
            instance=instance,
            raise_on_error=False,
        )
        report(result)
    if not tick.run_requests:
        print(f"  {tick.skip_message}")

    run("baselinr", "status", "-c", "examples/baselinr.yml", "--limit", "4")
    section("Next")
    print("  make dev        # opens the Dagster UI on http://127.0.0.1:3000 with these assets,")
    print("                  # the job baselinr_profile_all and baselinr_plan_sensor")
    print("  .venv/bin/baselinr profile -c examples/baselinr.yml   # the same from the CLI")


if __name__ == "__main__":
    main()
