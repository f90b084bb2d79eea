"""Small real tables for tests, created with SQLAlchemy Core on any engine."""

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa


def orders_table(schema: str | None = None, name: str = "orders") -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(schema=schema),
        sa.Column("id", sa.Integer),
        sa.Column("amount", sa.Float),
        sa.Column("status", sa.String(20)),
        sa.Column("order_date", sa.Date),
    )


def order_rows(n: int, seed: int = 1, start_id: int = 1, days: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "id": start_id + i,
            "amount": round(rng.uniform(1, 100), 2),
            "status": rng.choice(["new", "paid", "shipped", None]),
            "order_date": dt.date(2024, 1, 1) + dt.timedelta(days=i % days),
        }
        for i in range(n)
    ]


def create_orders(
    engine: sa.Engine,
    n: int = 200,
    *,
    schema: str | None = None,
    name: str = "orders",
    seed: int = 1,
) -> sa.Table:
    table = orders_table(schema, name)
    with engine.begin() as conn:
        if schema and engine.dialect.name != "sqlite":
            conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        table.create(conn, checkfirst=True)
        if n:
            conn.execute(table.insert(), order_rows(n, seed))
    return table


def insert_orders(engine: sa.Engine, table: sa.Table, n: int, start_id: int, seed: int = 2) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), order_rows(n, seed, start_id))
