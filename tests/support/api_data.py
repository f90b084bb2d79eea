"""A result store filled by real profiling runs, for the API tests.

Two SQLite warehouses (``warehouse`` and ``other``: the same table name in two
databases) are profiled by ``ProfileRunner`` through five batches while their tables
change: first profiles, an all-skipped batch, appended partitions (partial runs), a
null burst, a dropped column and a shifted mean (drift and schema-change events), a
table deferred by a cost cap on every batch, a sampled table, and one failed run.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from baselinr.config import BaselinrConfig, load_config
from baselinr.runner import BatchResult, ProfileRunner
from baselinr.storage.writer import RunRecord, RunWriter
from tests.support.warehouse import create_table

FAILED_ERROR = "OperationalError: could not reach the warehouse"


@dataclass
class Filled:
    config: BaselinrConfig
    config_path: Path
    storage_url: str
    batches: list[BatchResult] = field(default_factory=list)
    failed_run_id: str = ""

    @property
    def storage(self) -> sa.Engine:
        return sa.create_engine(self.storage_url)


def _orders(
    rng: random.Random, first_id: int, day: dt.date, n: int, scale: float = 1.0
) -> list[dict[str, Any]]:
    return [
        {
            "id": first_id + i,
            "day": day.isoformat(),
            "amount": round(rng.uniform(10, 100) * scale, 2),
            "qty": rng.randint(1, 9),
        }
        for i in range(n)
    ]


def _config(
    path: Path,
    warehouse: Path,
    storage: dict[str, Any],
    environment: str,
    tables: list[dict[str, Any]],
) -> Path:
    data = {
        "environment": environment,
        "source": {"type": "sqlite", "filepath": str(warehouse)},
        "storage": storage,
        "profiling": {
            "max_workers": 2,
            "metrics": ["count", "null_count", "null_ratio", "distinct_count", "unique_ratio",
                        "min", "max", "mean", "stddev", "histogram"],
            "tables": tables,
        },
        "incremental": {
            "enabled": True,
            "partial_profiling": {
                "mergeable_metrics": ["count", "null_count", "null_ratio", "min", "max", "mean",
                                      "stddev", "histogram"],
                "recompute_non_mergeable_max_rows": 100,
            },
            "cost_controls": {"enabled": True, "max_rows_scanned": 3_500, "fallback_strategy": "defer"},
        },
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return path


def _rebuild_without(engine: sa.Engine, table: str, column: str, keep: list[str]) -> None:
    with engine.begin() as conn:
        names = ", ".join(keep)
        conn.exec_driver_sql(f"CREATE TABLE {table}_new AS SELECT {names} FROM {table}")
        conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql(f"ALTER TABLE {table}_new RENAME TO {table}")


def fill(
    directory: Path, storage: dict[str, Any], *, before_batch: Callable[[int], None] | None = None
) -> Filled:
    """Profile the two warehouses into ``storage`` (a config ``storage`` block)."""
    rng = random.Random(7)
    main_db = directory / "warehouse.db"
    other_db = directory / "other.db"
    main = sa.create_engine(f"sqlite:///{main_db}")
    other = sa.create_engine(f"sqlite:///{other_db}")
    start = dt.date(2025, 3, 1)
    orders_cols = [
        ("id", sa.Integer),
        ("day", sa.String(10)),
        ("amount", sa.Float),
        ("qty", sa.Integer),
    ]
    orders = create_table(
        main,
        "orders",
        orders_cols,
        [r for d in range(8) for r in _orders(rng, d * 300, start + dt.timedelta(d), 300)],
    )
    users_rows = [
        {"id": i, "email": f"u{i}@example.com", "country": rng.choice("ABC")} for i in range(400)
    ]
    create_table(
        main,
        "users",
        [("id", sa.Integer), ("email", sa.String(40)), ("country", sa.String(2))],
        users_rows,
    )
    create_table(
        main,
        "clicks",
        [("id", sa.Integer), ("url", sa.String(20))],
        [{"id": i, "url": f"/p/{i % 50}"} for i in range(4_000)],
    )
    create_table(
        main,
        "sampled",
        [("id", sa.Integer), ("v", sa.Float)],
        [{"id": i, "v": rng.gauss(5, 1)} for i in range(1_000)],
    )
    create_table(other, "orders", orders_cols, _orders(rng, 0, start, 200))
    path = _config(directory / "baselinr.yml", main_db, storage, "test", [
        {"table": "orders", "partition": {"key": "day"}},
        {"table": "users"},
        {"table": "clicks"},
        {"table": "sampled", "sampling": {"enabled": True, "fraction": 0.5}},
    ])  # fmt: skip
    other_path = _config(
        directory / "other.yml", other_db, storage, "staging", [{"table": "orders"}]
    )
    config = load_config(path)
    filled = Filled(config, path, _url(config))
    runner = ProfileRunner(config)
    other_runner = ProfileRunner(load_config(other_path))
    next_id = 8 * 300
    try:
        for batch in range(5):
            if before_batch is not None:
                before_batch(batch)
            if batch == 2:  # a new day of orders; a null burst in users
                with main.begin() as conn:
                    conn.execute(
                        orders.insert(), _orders(rng, next_id, start + dt.timedelta(8), 300)
                    )
                    conn.exec_driver_sql("UPDATE users SET email = NULL WHERE id % 4 = 0")
                    conn.exec_driver_sql("INSERT INTO users VALUES (1000, NULL, 'A')")
                next_id += 300
            if batch == 3:  # users.country dropped; a day of expensive orders
                _rebuild_without(main, "users", "country", ["id", "email"])
                with main.begin() as conn:
                    conn.exec_driver_sql("INSERT INTO users VALUES (1001, 'x@example.com')")
                    conn.execute(
                        orders.insert(),
                        _orders(rng, next_id, start + dt.timedelta(9), 300, scale=6),
                    )
                next_id += 300
            filled.batches.append(runner.profile())
            if batch in (0, 3):
                filled.batches.append(other_runner.profile())
        writer = RunWriter(runner.context.storage.engine)
        started = writer.start(
            RunRecord(
                run_id="failedrun0001",
                batch_id="manual-batch",
                database_name="warehouse",
                schema_name="main",
                table_name="users",
                environment="test",
                action="full",
                started_at=dt.datetime.now(dt.timezone.utc),
            )
        )
        filled.failed_run_id = writer.fail(started, FAILED_ERROR).run_id
    finally:
        runner.context.close()
        other_runner.context.close()
        main.dispose()
        other.dispose()
    return filled


def _url(config: BaselinrConfig) -> str:
    from baselinr.connectors.engine import build_url

    return build_url(config.storage.connection).render_as_string(hide_password=False)
