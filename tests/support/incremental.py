"""Helpers for the incremental-profiling tests: configs, writes whose statistics are
visible at once on Postgres, clocks, and reading state back."""

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.storage.schema import events, partition_state, runs
from baselinr.storage.state import StateStore, TableState

T0 = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.timezone.utc)

# The `incremental:` block of seed 002, verbatim.
SEED_BLOCK: dict[str, Any] = {
    "enabled": True,
    "change_detection": {
        "metadata_table": "baselinr_table_state",
        "snapshot_ttl_minutes": 1440,
    },
    "partial_profiling": {
        "enabled": True,
        "allow_partition_pruning": True,
        "max_partitions_per_run": 64,
        "mergeable_metrics": ["count", "null_count", "min", "max"],
    },
    "adaptive_scheduling": {
        "enabled": True,
        "default_interval_minutes": 1440,
        "min_interval_minutes": 60,
        "max_interval_minutes": 10080,
        "priority_overrides": {"analytics.daily_orders": 180},
    },
    "cost_controls": {
        "enabled": True,
        "max_rows_scanned": 100000000,
        "fallback_strategy": "sample",
        "sample_fraction": 0.05,
    },
}

# Every metric that has merge rules.
ALL_MERGEABLE = [
    "count",
    "null_count",
    "null_ratio",
    "min",
    "max",
    "mean",
    "stddev",
    "sum",
    "zero_count",
    "histogram",
]


def incremental_block(**changes: Any) -> dict[str, Any]:
    """A plain incremental block (no adaptive scheduling, no cost caps), with
    ``changes`` merged into its sections."""
    block: dict[str, Any] = {
        "enabled": True,
        "change_detection": {"snapshot_ttl_minutes": 100_000},
        "partial_profiling": {"mergeable_metrics": list(ALL_MERGEABLE)},
    }
    for key, value in changes.items():
        if isinstance(value, dict):
            block[key] = {**block.get(key, {}), **value}
        else:
            block[key] = value
    return block


def seed_block(**changes: Any) -> dict[str, Any]:
    block = copy.deepcopy(SEED_BLOCK)
    for key, value in changes.items():
        block[key] = {**block[key], **value} if isinstance(value, dict) else value
    return block


def source_block(engine: sa.Engine) -> dict[str, Any]:
    return {"url": engine.url.render_as_string(hide_password=False)}


def make_incremental(
    make_config: Callable[..., BaselinrConfig],
    engine: sa.Engine,
    tables: list[dict[str, Any]],
    incremental: dict[str, Any] | None = None,
    **sections: Any,
) -> BaselinrConfig:
    return make_config(
        source_block(engine), tables, incremental=incremental or incremental_block(), **sections
    )


def write(engine: sa.Engine, *statements: str, **params: Any) -> None:
    """Run statements in one transaction. On Postgres the session's statistics are
    flushed when it goes idle, so the next plan sees the counters move."""
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))


def analyze(engine: sa.Engine, *tables: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(sa.text(f"ANALYZE {table}"))


def state_of(config: BaselinrConfig, table: str, schema: str | None = None) -> TableState | None:
    engine = sa.create_engine(_storage_url(config))
    try:
        store = StateStore(engine, config.incremental.change_detection.metadata_table)
        for state in _all_states(store):
            if state.table_name == table and (schema is None or state.schema_name == schema):
                return state
        return None
    finally:
        engine.dispose()


def _all_states(store: StateStore) -> list[TableState]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(store.table)).mappings().all()
    return [TableState.from_row(r) for r in rows]


def storage_rows(config: BaselinrConfig, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
    engine = sa.create_engine(_storage_url(config))
    try:
        stmt = sa.select(table)
        for key, value in where.items():
            stmt = stmt.where(table.c[key] == value)
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()


def event_types(config: BaselinrConfig, table: str) -> list[str]:
    return [r["event_type"] for r in storage_rows(config, events, table_name=table)]


def partitions_of(config: BaselinrConfig, table: str) -> dict[str, dict[str, Any]]:
    return {
        r["partition_label"]: r for r in storage_rows(config, partition_state, table_name=table)
    }


def runs_of(config: BaselinrConfig, table: str) -> list[dict[str, Any]]:
    rows = storage_rows(config, runs, table_name=table)
    return sorted(rows, key=lambda r: r["started_at"])


def _storage_url(config: BaselinrConfig) -> str:
    from baselinr.connectors import build_url

    return build_url(config.storage.connection).render_as_string(hide_password=False)


class StatementLog:
    """Every SQL statement an engine runs, for asserting on what was (not) scanned."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def clear(self) -> None:
        self.statements.clear()

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def touching(self, word: str) -> list[str]:
        return [s for s in self.statements if word in s]
