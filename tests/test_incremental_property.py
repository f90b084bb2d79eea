"""Property: for random data and random partition edits, the table profile that
incremental runs maintain (partial runs merging stored partition aggregates) equals
a full profile of the same data for every mergeable metric.

Tolerance for mean/stddev/sum/null_ratio: 1e-9 relative, with an absolute floor of
1e-9 x the largest magnitude in the column — summing in another order (partition by
partition) legitimately differs by a few ulps of the *terms*, which is more than
1e-9 of a mean that cancels to almost zero.
"""

import datetime as dt
import math
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baselinr.catalog import TableRef
from baselinr.config import BaselinrConfig
from baselinr.connectors import dialect_for
from baselinr.profiling.profiler import TableProfile, profile_table
from baselinr.profiling.query import ProfileRequest
from baselinr.runner import ProfileRunner
from tests.support.incremental import ALL_MERGEABLE, T0, incremental_block, write

KEYS = ["a", "b", "c", "d"]
# More examples for a longer search: BASELINR_PROPERTY_EXAMPLES=500 pytest -k property
EXAMPLES = int(os.environ.get("BASELINR_PROPERTY_EXAMPLES", "30"))
EXACT = {"count", "null_count", "min", "max", "zero_count", "histogram"}

values_x = st.one_of(st.none(), st.integers(-1000, 1000))
values_y = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
row = st.tuples(st.sampled_from(KEYS), values_x, values_y)
edit = st.one_of(
    st.tuples(st.just("insert"), st.lists(row, min_size=1, max_size=8)),
    st.tuples(st.just("update"), st.sampled_from(KEYS), st.floats(-100, 100, allow_nan=False)),
    st.tuples(st.just("delete_partition"), st.sampled_from(KEYS)),
    st.tuples(st.just("delete_some"), st.sampled_from(KEYS), st.integers(0, 2)),
)


class Warehouse:
    """The table under test and the edits, with what each edit touched."""

    def __init__(self, engine: sa.Engine, table: str) -> None:
        self.engine = engine
        self.table = table
        self.next_id = 1
        self.version = 1

    def rows(self) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT p, x, y FROM {self.table}")))

    def insert(self, rows: list[tuple[str, int | None, float | None]]) -> None:
        params = []
        for p, x, y in rows:
            params.append({"id": self.next_id, "p": p, "x": x, "y": y, "v": self.version})
            self.next_id += 1
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {self.table} VALUES (:id, :p, :x, :y, :v)"), params)
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))

    def apply(self, change: tuple[Any, ...]) -> set[str]:
        """Apply an edit; return the partitions whose rows it changed."""
        self.version += 1
        kind = change[0]
        before = {p for p, *_ in self.rows()}
        if kind == "insert":
            self.insert(change[1])
            return {p for p, _, _ in change[1]}
        counts = self._count(change[1])
        if kind == "update":
            write(
                self.engine,
                f"UPDATE {self.table} SET y = y + :d, version = :v WHERE p = :p",
                d=change[2],
                v=self.version,
                p=change[1],
            )
            return {change[1]} if counts else set()
        if kind == "delete_partition":
            write(self.engine, f"DELETE FROM {self.table} WHERE p = :p", p=change[1])
            return {change[1]} & before
        write(
            self.engine,
            f"DELETE FROM {self.table} WHERE p = :p AND id % 3 = :k",
            p=change[1],
            k=change[2],
        )
        return {change[1]} if self._count(change[1]) != counts else set()

    def _count(self, p: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(f"SELECT count(*) FROM {self.table} WHERE p = :p"), {"p": p}
                ).scalar()
            )


def reference(
    runner: ProfileRunner, table: TableRef, edges: dict[str, tuple[float, ...]]
) -> TableProfile:
    dialect = dialect_for(runner.context.warehouse)
    with runner.context.connect() as conn:
        columns = [
            c
            for c in dialect.list_columns(conn, table.schema, table.table)
            if c.name in ("p", "x", "y")
        ]
        request = ProfileRequest(
            table=table, columns=tuple(columns), metrics=tuple(ALL_MERGEABLE), histogram_edges=edges
        )
        return profile_table(conn, dialect, request)


def assert_equal(got: TableProfile, want: TableProfile, data: list[tuple[Any, ...]]) -> None:
    assert got.rows == want.rows
    for g, w in zip(got.columns, want.columns, strict=True):
        index = {"p": 0, "x": 1, "y": 2}[g.column.name]
        scale = max(
            (abs(r[index]) for r in data if isinstance(r[index], (int, float))), default=0.0
        )
        for name in ALL_MERGEABLE:
            if name not in w.metrics:
                continue
            a, b = g.metrics[name], w.metrics[name]
            message = f"{g.column.name}.{name}: incremental {a!r} != full {b!r}"
            if name in EXACT or a is None or b is None:
                assert a == b, message
            else:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(scale, 1e-300)), message


def config_for(
    engine_url: str, storage: Path, entry: dict[str, Any], **partial: Any
) -> BaselinrConfig:
    return BaselinrConfig.model_validate(
        {
            "environment": "test",
            "source": {"url": engine_url},
            "storage": {"connection": {"type": "sqlite", "filepath": str(storage)}},
            "profiling": {
                "metrics": ALL_MERGEABLE,
                "tables": [{**entry, "columns": {"include": ["p", "x", "y"]}}],
            },
            "incremental": incremental_block(
                partial_profiling={"mergeable_metrics": ALL_MERGEABLE, **partial}
            ),
        }
    )


def check_sequence(
    runner: ProfileRunner,
    warehouse: Warehouse,
    table: TableRef,
    edits: list[tuple[Any, ...]],
) -> None:
    at = T0
    first = runner.profile(now=at)
    assert first.ok, first.failed
    for change in edits:
        before = {p for p, *_ in warehouse.rows()}
        touched = warehouse.apply(change)
        at += dt.timedelta(hours=1)
        result = runner.profile(now=at)
        assert result.ok, [o.error for o in result.failed]
        (outcome,) = result.outcomes
        if not touched:
            assert outcome.decision.reason == "snapshot_match", change
            continue
        assert outcome.status == "completed", change
        after = {p for p, *_ in warehouse.rows()}
        untouched = (before | after) - touched
        if before and untouched & after and touched & after:
            # some partitions moved, others did not: only the moved ones are scanned
            assert outcome.decision.action == "partial", (change, outcome.decision)
        state = runner.context.state.table_state(outcome.decision.database, table)
        assert state is not None
        edges = {k: tuple(v) for k, v in state.metadata["histogram_edges"].items()}
        assert_equal(outcome.profile, reference(runner, table, edges), warehouse.rows())


@pytest.fixture(scope="module")
def shared_dir() -> Any:
    """One warehouse file and one result storage for all examples (a new table per
    example): storage migrations run once, not per example."""
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None  # no fsync per commit
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        yield Path(tmp)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(initial=st.lists(row, min_size=0, max_size=30), edits=st.lists(edit, min_size=1, max_size=5))
def test_incremental_equals_full_sqlite(
    shared_dir: Path, initial: list[Any], edits: list[Any]
) -> None:
    name = f"data_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(f"sqlite:///{shared_dir / 'w.db'}")
    write(engine, f"CREATE TABLE {name} (id integer, p text, x integer, y real, version integer)")
    warehouse = Warehouse(engine, name)
    if initial:
        warehouse.insert(initial)
    entry = {"table": name, "partition": {"key": "p"}, "watermark_column": "version"}
    runner = ProfileRunner(config_for(str(engine.url), shared_dir / "s.db", entry))
    try:
        check_sequence(runner, warehouse, TableRef("main", name), edits)
    finally:
        runner.context.close()
        engine.dispose()


@pytest.fixture(scope="module")
def shared_pg(pg_server: Any) -> Any:
    return pg_server.create_database(f"prop_{uuid.uuid4().hex[:12]}")


@pytest.mark.postgres
@settings(
    max_examples=max(1, EXAMPLES // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(initial=st.lists(row, min_size=0, max_size=30), edits=st.lists(edit, min_size=1, max_size=4))
def test_incremental_equals_full_postgres_partitions(
    shared_pg: str, shared_dir: Path, initial: list[Any], edits: list[Any]
) -> None:
    schema = f"s_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(shared_pg)
    statements = [
        f"CREATE SCHEMA {schema}",
        f"CREATE TABLE {schema}.data (id integer, p text, x integer, y float8, version integer) "
        "PARTITION BY LIST (p)",
    ]
    statements += [
        f"CREATE TABLE {schema}.data_{k} PARTITION OF {schema}.data FOR VALUES IN ('{k}')"
        for k in KEYS
    ]
    write(engine, *statements)
    warehouse = Warehouse(engine, f"{schema}.data")
    if initial:
        warehouse.insert(initial)
    entry = {"table": "data", "schema": schema}
    runner = ProfileRunner(config_for(shared_pg, shared_dir / "pg_storage.db", entry))
    try:
        check_sequence(runner, warehouse, TableRef(schema, "data"), edits)
    finally:
        runner.context.close()
        engine.dispose()
