"""``baselinr demo --history N``: N simulated days of a changing demo warehouse,
profiled twice a day, so that storage holds what a dashboard shows — full, partial and
skipped runs, metric history, savings, drift and schema-change events.

Every morning new orders arrive for a new day (a partial profile of ``orders``) and,
every other day, new events; tables that did not change are skipped, and re-profiled
in full once their snapshot is older than ``snapshot_ttl_minutes``. Every afternoon
nothing changes (every table is skipped). On the way: a **null burst** (a fifth of the
customers lose their email), a **dropped column** (``products.in_stock``) and a **skew
shift** (a sale day: many large orders from a few customers).

The days end today: each run is planned at its simulated time (``plan(now=…)``), and
the timestamps of what it stored (runs, results, events, the batch record) are then
moved to that time, so the per-day figures of the API read like real days.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from baselinr import demo
from baselinr.config import load_config
from baselinr.runner import BatchResult, ProfileRunner
from baselinr.storage.schema import batches, events, partition_state, results, runs, utcnow
from baselinr.storage.state import state_table

MORNING = dt.timedelta(hours=2)
AFTERNOON = dt.timedelta(hours=14)


@dataclass(frozen=True)
class SimulatedRun:
    at: dt.datetime
    changes: tuple[str, ...]
    summary: dict[str, int]
    drift: tuple[str, ...]  # "main.orders (high)" per table that drifted


@dataclass(frozen=True)
class SimulatedDay:
    index: int
    date: dt.date
    runs: tuple[SimulatedRun, ...] = field(default_factory=tuple)


def schedule(days: int) -> dict[int, list[str]]:
    """Which special change happens on which day (day 0 is the first profile)."""
    plan: dict[int, list[str]] = {}
    if days < 2:
        return plan
    for name, share in (("null burst", 0.35), ("dropped column", 0.6), ("skew shift", 0.85)):
        plan.setdefault(min(days - 1, max(1, round((days - 1) * share))), []).append(name)
    return plan


def simulate_history(
    config_path: Path,
    days: int,
    *,
    end: dt.datetime | None = None,
    on_run: Callable[[int, SimulatedRun], None] | None = None,
) -> list[SimulatedDay]:
    """Profile the demo warehouse of ``config_path`` through ``days`` simulated days
    ending on ``end``'s day (default: today, or yesterday before 14:00 UTC)."""
    if days < 1:
        raise ValueError("--history needs at least 1 day")
    config = load_config(config_path)
    runner = ProfileRunner(config)
    now = end or utcnow()
    last_day = now.date() if now >= _at(now.date(), AFTERNOON) else now.date() - dt.timedelta(1)
    first_day = last_day - dt.timedelta(days=days - 1)
    special = schedule(days)
    out: list[SimulatedDay] = []
    try:
        warehouse = runner.context.warehouse
        for index in range(days):
            date = first_day + dt.timedelta(days=index)
            done = []
            for offset, changes in (
                (MORNING, _morning(warehouse, index, special.get(index, []))),
                (AFTERNOON, ()),
            ):
                at = _at(date, offset)
                result = _profile_at(runner, at)
                run = SimulatedRun(at, tuple(changes), result.summary(), _drifted(result))
                done.append(run)
                if on_run is not None:
                    on_run(index, run)
            out.append(SimulatedDay(index, date, tuple(done)))
    finally:
        runner.context.close()
    return out


def _at(date: dt.date, offset: dt.timedelta) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(), dt.timezone.utc) + offset


def _drifted(result: BatchResult) -> tuple[str, ...]:
    found = []
    for outcome in result.outcomes:
        report = outcome.drift
        if report is not None and (report.findings or report.schema_changes):
            found.append(f"{report.qualified} ({report.max_severity})")
    return tuple(found)


# --- the warehouse changes -------------------------------------------------------------------


def _morning(engine: Engine, index: int, special: list[str]) -> list[str]:
    """Apply the morning's changes; returns what changed, in words."""
    if index == 0:
        return ["first profile"]
    rng = random.Random(1000 + index)
    changes = []
    with engine.begin() as conn:
        skew = "skew shift" in special
        n = _append_orders(conn, rng, 12_000 if skew else rng.randint(1_500, 2_500), skew)
        changes.append(f"{n:,} orders for a new day" + (" (a sale: skew shift)" if skew else ""))
        if index % 2 == 1:
            changes.append(f"{_append_events(conn, rng, 800):,} events")
        if "null burst" in special:
            changes.append(f"null burst: {_null_burst(conn, rng):,} customers without email")
        if "dropped column" in special:
            _drop_in_stock(conn, rng)
            changes.append("products.in_stock dropped, 10 products added")
    return changes


def _append_orders(conn: Connection, rng: random.Random, n: int, skew: bool) -> int:
    o = demo.orders.c
    last_id, last_day = conn.execute(
        sa.select(sa.func.max(o.order_id), sa.func.max(o.order_date))
    ).one()
    if isinstance(last_day, str):
        last_day = dt.date.fromisoformat(last_day)
    day = last_day + dt.timedelta(days=1)
    rows = []
    for i in range(1, n + 1):
        quantity = min(int(rng.expovariate(0.5)) + 1, 50)
        if skew:  # a sale: a few customers, large baskets of expensive products
            customer, price = rng.randint(1, 20), rng.uniform(200, 900)
        else:
            customer = rng.randint(1, 50) if rng.random() < 0.2 else rng.randint(1, 5000)
            price = rng.uniform(2, 300)
        rows.append(
            {
                "order_id": last_id + i,
                "customer_id": customer,
                "product_id": rng.randint(1, demo.SIZES["products"]),
                "order_date": day,
                "quantity": quantity,
                "amount": round(quantity * price, 2),
                "discount": round(rng.uniform(0.05, 0.3), 2) if rng.random() < 0.2 else None,
                "status": rng.choice(demo.STATUSES),
            }
        )
    conn.execute(demo.orders.insert(), rows)
    return n


def _append_events(conn: Connection, rng: random.Random, n: int) -> int:
    e = demo.events.c
    last_id, last_ts = conn.execute(
        sa.select(sa.func.max(e.event_id), sa.func.max(e.event_ts))
    ).one()
    if isinstance(last_ts, str):
        last_ts = dt.datetime.fromisoformat(last_ts)
    conn.execute(
        demo.events.insert(),
        [
            {
                "event_id": last_id + i,
                "customer_id": None if rng.random() < 0.1 else rng.randint(1, 5000),
                "event_type": rng.choice(demo.EVENT_TYPES),
                "event_ts": last_ts + dt.timedelta(seconds=rng.randint(1, 86_400)),
                "url": f"/p/{rng.randint(1, demo.SIZES['products'])}",
            }
            for i in range(1, n + 1)
        ],
    )
    return n


def _null_burst(conn: Connection, rng: random.Random) -> int:
    c = demo.customers.c
    burst = conn.execute(
        demo.customers.update().where(c.customer_id % 5 == 0).values(email=None)
    ).rowcount
    last_id = conn.execute(sa.select(sa.func.max(c.customer_id))).scalar_one()
    new = [
        {
            "customer_id": last_id + i,
            "name": f"Customer {last_id + i:05d}",
            "email": None,
            "country": rng.choice(demo.COUNTRIES),
            "signup_date": demo.FIRST_DAY,
            "lifetime_value": 0.0,
            "is_active": True,
        }
        for i in range(1, 101)
    ]
    conn.execute(demo.customers.insert(), new)
    return int(burst) + len(new)


def _drop_in_stock(conn: Connection, rng: random.Random) -> None:
    """Drop ``products.in_stock`` by rebuilding the table (DuckDB cannot drop a column
    of a table with a primary key), and add a few products so the change detector sees
    the table change."""
    keep = [c for c in demo.products.columns if c.name != "in_stock"]
    # the same declared types, so the only schema change is the dropped column
    staging = sa.Table(
        "products_rebuild", sa.MetaData(), *(sa.Column(c.name, c.type) for c in keep)
    )
    staging.create(conn)
    conn.execute(staging.insert().from_select([c.name for c in keep], sa.select(*keep)))
    conn.exec_driver_sql("DROP TABLE products")
    conn.exec_driver_sql("ALTER TABLE products_rebuild RENAME TO products")
    rebuilt = sa.table("products", *(sa.column(c.name) for c in keep))
    last_id = conn.execute(sa.select(sa.func.max(rebuilt.c.product_id))).scalar_one()
    conn.execute(
        rebuilt.insert(),
        [
            {
                "product_id": last_id + i,
                "name": f"Product {last_id + i:03d}",
                "category": rng.choice(demo.CATEGORIES),
                "price": round(rng.uniform(2, 300), 2),
            }
            for i in range(1, 11)
        ],
    )


# --- profiling at a simulated time -------------------------------------------------------------


def _profile_at(runner: ProfileRunner, at: dt.datetime) -> BatchResult:
    started = utcnow()
    result = runner.execute(runner.plan(now=at))
    state = state_table(runner.config.incremental.change_detection.metadata_table)
    move_batch(runner.context.storage.engine, result.batch_id, started, at - started, state)
    return result


def move_batch(
    engine: Engine, batch_id: str, since: dt.datetime, delta: dt.timedelta, state: sa.Table
) -> None:
    """Shift the timestamps of what one batch stored (its runs, their results, the events
    and state written since ``since``, the batch record) by ``delta``."""
    with engine.begin() as conn:
        moved = list(
            conn.execute(
                sa.select(runs.c.run_id, runs.c.started_at, runs.c.finished_at).where(
                    runs.c.batch_id == batch_id
                )
            )
        )
        for run_id, started, finished in moved:
            conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(started_at=started + delta, finished_at=_plus(finished, delta))
            )
        run_ids = [r[0] for r in moved]
        if run_ids:
            _shift(
                conn, results, results.c.profiled_at, since, delta, results.c.run_id.in_(run_ids)
            )
        _shift(conn, events, events.c.created_at, since, delta)
        for column in ("started_at", "finished_at"):
            _shift(conn, batches, batches.c[column], None, delta, batches.c.batch_id == batch_id)
        for table in (state, partition_state):
            for name in ("last_profiled_at", "last_checked_at", "profiled_at"):
                if name in table.c:
                    _shift(conn, table, table.c[name], since, delta)


def _plus(value: dt.datetime | None, delta: dt.timedelta) -> dt.datetime | None:
    return value + delta if value is not None else None


def _shift(
    conn: Connection,
    table: sa.Table,
    column: sa.Column[Any],
    since: dt.datetime | None,
    delta: dt.timedelta,
    *where: sa.ColumnElement[bool],
) -> None:
    conditions = list(where)
    if since is not None:
        conditions.append(column >= since)
    found = [v for (v,) in conn.execute(sa.select(column).where(*conditions).distinct()) if v]
    for value in found:
        conn.execute(
            table.update().where(*conditions, column == value).values({column.name: value + delta})
        )
