"""Tables whose data the drift tests control: write them, profile them, change them."""

import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.runner import BatchResult, ProfileRunner
from tests.conftest import source_block

CATEGORIES = ["red", "green", "blue", "black", "white"]


def orders_rows(
    n: int = 600,
    seed: int = 1,
    *,
    null_every: int = 0,
    amount_factor: float = 1.0,
    category: Callable[[int, random.Random], str] | None = None,
) -> list[dict[str, Any]]:
    """Orders with a never-null ``amount`` (unless ``null_every``), a skewed
    ``category`` and unique ids."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        amount = round(rng.gammavariate(4.0, 25.0) * amount_factor, 4)
        pick = category(i, rng) if category else rng.choices(CATEGORIES, [5, 4, 3, 2, 1])[0]
        rows.append(
            {
                "id": i + 1,
                "amount": None if null_every and i % null_every == 0 else amount,
                "category": pick,
            }
        )
    return rows


def write_orders(engine: sa.Engine, rows: list[dict[str, Any]], table: str = "orders") -> None:
    """(Re)create the table with these rows."""
    metadata = sa.MetaData()
    orders = sa.Table(
        table,
        metadata,
        sa.Column("id", sa.Integer),
        sa.Column("amount", sa.Float),
        sa.Column("category", sa.String(20)),
    )
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
        conn.execute(orders.insert(), rows)


def profile(config: BaselinrConfig) -> BatchResult:
    runner = ProfileRunner(config)
    try:
        result = runner.profile()
    finally:
        runner.context.close()
    assert result.ok, [o.error for o in result.failed]
    return result


def config_for(
    make_config: Callable[..., BaselinrConfig],
    engine: sa.Engine,
    table: str = "orders",
    metrics: list[str] | None = None,
    **sections: Any,
) -> BaselinrConfig:
    profiling = {"metrics": metrics} if metrics else {}
    profiling.update(sections.pop("profiling", {}))
    entry = {"table": table, **sections.pop("entry", {})}
    return make_config(source_block(engine), [entry], profiling=profiling, **sections)
