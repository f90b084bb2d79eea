"""A deterministic sample warehouse for trying Baselinr: four tables, ~100k rows,
nulls, skew, a date-partitioned fact table — and a config beside it."""

import csv
import datetime as dt
import math
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

COUNTRIES = ["US"] * 50 + ["DE"] * 15 + ["GB"] * 12 + ["FR"] * 8 + ["BR"] * 6 + ["IN"] * 5 + [
    "JP", "NZ", "ZA", "MX"]  # fmt: skip
CATEGORIES = ["books", "games", "garden", "kitchen", "music", "outdoor", "toys"]
STATUSES = ["delivered"] * 80 + ["shipped"] * 10 + ["cancelled"] * 6 + ["returned"] * 4
EVENT_TYPES = ["page_view"] * 60 + ["click"] * 25 + ["add_to_cart"] * 10 + ["purchase"] * 5
FIRST_DAY = dt.date(2024, 1, 1)
ORDER_DAYS = 30

metadata = sa.MetaData()
customers = sa.Table(
    "customers", metadata,
    sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(80)),
    sa.Column("email", sa.String(120)),
    sa.Column("country", sa.String(2)),
    sa.Column("signup_date", sa.Date),
    sa.Column("lifetime_value", sa.Double),
    sa.Column("is_active", sa.Boolean),
)  # fmt: skip
products = sa.Table(
    "products", metadata,
    sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(80)),
    sa.Column("category", sa.String(20)),
    sa.Column("price", sa.Double),
    sa.Column("in_stock", sa.Boolean),
)  # fmt: skip
orders = sa.Table(
    "orders", metadata,
    sa.Column("order_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer),
    sa.Column("product_id", sa.Integer),
    sa.Column("order_date", sa.Date),
    sa.Column("quantity", sa.Integer),
    sa.Column("amount", sa.Double),
    sa.Column("discount", sa.Double),
    sa.Column("status", sa.String(16)),
)  # fmt: skip
events = sa.Table(
    "events", metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer),
    sa.Column("event_type", sa.String(20)),
    sa.Column("event_ts", sa.DateTime),
    sa.Column("url", sa.String(200)),
)  # fmt: skip

SIZES = {"customers": 5_000, "products": 500, "orders": 60_000, "events": 35_000}


def _customers(rng: random.Random) -> Iterator[dict[str, Any]]:
    for i in range(1, SIZES["customers"] + 1):
        yield {
            "customer_id": i,
            "name": f"Customer {i:05d}",
            "email": None if rng.random() < 0.05 else f"c{i}@example.com",
            "country": rng.choice(COUNTRIES),
            "signup_date": FIRST_DAY - dt.timedelta(days=rng.randint(0, 900)),
            "lifetime_value": round(math.exp(rng.gauss(5, 1.2)), 2),
            "is_active": rng.random() < 0.8,
        }


def _products(rng: random.Random) -> Iterator[dict[str, Any]]:
    for i in range(1, SIZES["products"] + 1):
        yield {
            "product_id": i,
            "name": f"Product {i:03d}",
            "category": rng.choice(CATEGORIES),
            "price": round(rng.uniform(2, 300), 2),
            "in_stock": rng.random() < 0.9,
        }


def _orders(rng: random.Random) -> Iterator[dict[str, Any]]:
    for i in range(1, SIZES["orders"] + 1):
        quantity = min(int(rng.expovariate(0.5)) + 1, 50)
        # a few hot customers place many of the orders (skew)
        customer = rng.randint(1, 50) if rng.random() < 0.2 else rng.randint(1, 5000)
        yield {
            "order_id": i,
            "customer_id": customer,
            "product_id": rng.randint(1, SIZES["products"]),
            "order_date": FIRST_DAY
            + dt.timedelta(days=min(int(i * ORDER_DAYS / SIZES["orders"]), ORDER_DAYS - 1)),
            "quantity": quantity,
            "amount": round(quantity * rng.uniform(2, 300), 2),
            "discount": round(rng.uniform(0.05, 0.3), 2) if rng.random() < 0.2 else None,
            "status": rng.choice(STATUSES),
        }


def _events(rng: random.Random) -> Iterator[dict[str, Any]]:
    start = dt.datetime(2024, 1, 1)
    for i in range(1, SIZES["events"] + 1):
        yield {
            "event_id": i,
            "customer_id": None if rng.random() < 0.1 else rng.randint(1, SIZES["customers"]),
            "event_type": rng.choice(EVENT_TYPES),
            "event_ts": start + dt.timedelta(seconds=rng.randint(0, ORDER_DAYS * 86400)),
            "url": f"/p/{rng.randint(1, SIZES['products'])}",
        }


GENERATORS = {"customers": _customers, "products": _products, "orders": _orders,
              "events": _events}  # fmt: skip


@dataclass(frozen=True)
class DemoWarehouse:
    directory: Path
    warehouse: Path
    config: Path
    rows: dict[str, int]


CONFIG_TEMPLATE = """\
# Baselinr demo config, written by `baselinr demo`. Paths are relative to this file.
environment: demo
source:
  type: {engine}
  filepath: {warehouse}
storage:
  connection:
    type: sqlite
    filepath: baselinr.db
  create_tables: true
profiling:
  max_workers: 2
  metrics: [count, null_count, null_ratio, distinct_count, unique_ratio,
            min, max, mean, stddev, histogram, zero_count]
  tables:
    - table: customers
    - table: orders
      partition: {{key: order_date, strategy: all}}
    - name: catalog
      pattern: "prod*"
    - table: events
      columns: {{exclude: [url]}}
incremental:
  enabled: true
  partial_profiling:
    mergeable_metrics: [count, null_count, null_ratio, min, max, mean, stddev, histogram,
                        zero_count]
    # tables above this size (orders) carry distinct_count/unique_ratio on partial runs
    recompute_non_mergeable_max_rows: 50000
"""


def build_demo(directory: Path, *, engine: str = "sqlite", force: bool = False) -> DemoWarehouse:
    """Write the demo warehouse and its config into ``directory``. Same seed, same data."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "db" if engine == "sqlite" else "duckdb"
    warehouse = directory / f"warehouse.{suffix}"
    config = directory / "baselinr.yml"
    if warehouse.exists():
        if not force:
            raise FileExistsError(f"{warehouse} exists; pass --force to rebuild it")
        warehouse.unlink()
        # a rebuilt warehouse starts with an empty history beside it
        (directory / "baselinr.db").unlink(missing_ok=True)
    rng = random.Random(42)
    rows: dict[str, int] = {}
    url = f"sqlite:///{warehouse}" if engine == "sqlite" else f"duckdb:///{warehouse}"
    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            metadata.create_all(conn)
            for table in metadata.sorted_tables:
                data = list(GENERATORS[table.name](rng))
                rows[table.name] = len(data)
                if engine == "sqlite":
                    conn.execute(table.insert(), data)
                else:
                    _copy_csv(conn, table, data)
    finally:
        db.dispose()
    config.write_text(CONFIG_TEMPLATE.format(engine=engine, warehouse=warehouse.name))
    return DemoWarehouse(directory, warehouse, config, rows)


def _copy_csv(conn: sa.Connection, table: sa.Table, data: list[dict[str, Any]]) -> None:
    """DuckDB loads CSV far faster than it takes row-by-row inserts."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as f:
        writer = csv.DictWriter(f, fieldnames=[c.name for c in table.columns])
        writer.writeheader()
        writer.writerows(data)
        path = f.name
    try:
        name = conn.dialect.identifier_preparer.format_table(table)
        literal = "'" + path.replace("'", "''") + "'"
        conn.exec_driver_sql(f"COPY {name} FROM {literal} (HEADER)")
    finally:
        Path(path).unlink()
