"""approx_distinct_count: HyperLogLog sketches built in the warehouse (the Postgres hll
extension where installed, one GROUP BY of value hashes elsewhere), merged register by
register — the merge of the partitions' sketches is exactly the sketch of the whole —
and kept fresh by partial runs that read only the changed partitions."""

import datetime as dt
import os
import random
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baselinr.config import BaselinrConfig
from baselinr.connectors import dialect_for
from baselinr.profiling.profiler import profile_groups, profile_table
from baselinr.profiling.sketch import REGISTERS, DistinctSketch, hash_rank
from baselinr.profiling.state import ColumnState
from baselinr.runner import ProfileRunner
from tests.support.incremental import ALL_MERGEABLE, incremental_block, make_incremental
from tests.support.warehouse import create_table, request_for

APPROX = ("count", "approx_distinct_count", "unique_ratio")
COLUMNS = [("k", sa.Integer()), ("i", sa.BigInteger()), ("f", sa.Double()), ("s", sa.Text())]


def sketch_of(hashes: list[int], family: str = "test") -> DistinctSketch:
    registers = bytearray(REGISTERS)
    for h in hashes:
        index, found = hash_rank(h)
        registers[index] = max(registers[index], found)
    return DistinctSketch(family, bytes(registers))


@pytest.mark.parametrize("n", [0, 1, 7, 300, 5_000, 60_000, 400_000])
def test_the_estimate_is_within_the_standard_error(n: int) -> None:
    rng = random.Random(n)
    estimate = sketch_of([rng.getrandbits(64) for _ in range(n)]).estimate()
    # small sets are counted almost exactly; beyond, 0.81% standard error (4 of them)
    assert abs(estimate - n) <= max(0.5, 0.033 * n), (estimate, n)


def test_sketches_merge_by_register_and_survive_json() -> None:
    rng = random.Random(3)
    a = [rng.getrandbits(64) for _ in range(20_000)]
    b = [rng.getrandbits(64) for _ in range(20_000)] + a[:5_000]
    merged = sketch_of(a).merge(sketch_of(b))
    assert merged == sketch_of(a + b) == sketch_of(b).merge(sketch_of(a))
    assert DistinctSketch.from_json(merged.to_json()) == merged
    with pytest.raises(ValueError, match="cannot merge"):
        sketch_of(a, "postgresql").merge(sketch_of(a, "postgresql-hll"))


def _exact_distinct(rows: list[dict[str, Any]], name: str) -> int:
    return len({r[name] for r in rows if r[name] is not None})


def _profile_both(engine: sa.Engine, table: str) -> tuple[Any, Any]:
    """The table's profile, and its profile grouped by ``k``."""
    dialect = dialect_for(engine)
    with engine.connect() as conn:
        whole = profile_table(conn, dialect, request_for(engine, table, APPROX))
        groups, _ = profile_groups(conn, dialect, request_for(engine, table, APPROX, group_by="k"))
    return whole, groups


def _assert_merged_equals_whole(whole: Any, groups: Any, rows: list[dict[str, Any]]) -> None:
    for name in ("i", "f", "s"):
        parts: list[ColumnState] = [g.column(name).state for g in groups.values()]
        merged = reduce(ColumnState.merge, parts)
        assert merged.sketch is not None and merged.sketch == whole.column(name).state.sketch
        exact = _exact_distinct(rows, name)
        assert abs(whole.column(name).metrics["approx_distinct_count"] - exact) <= max(
            1, 0.033 * exact
        )


ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
floats = st.floats(allow_nan=False, min_value=-1e300, max_value=1e300)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "k": st.integers(0, 4),
                "i": st.one_of(st.none(), ints, st.integers(0, 9)),
                "f": st.one_of(st.none(), floats, st.sampled_from([0.0, -0.0, 1.0])),
                "s": st.one_of(st.none(), texts),
            }
        ),
        min_size=1,
        max_size=60,
    )
)
def test_merged_sketches_are_the_sketch_of_the_whole(
    warehouse: sa.Engine, rows: list[dict[str, Any]]
) -> None:
    create_table(warehouse, "sk", COLUMNS, rows)
    whole, groups = _profile_both(warehouse, "sk")
    _assert_merged_equals_whole(whole, groups, rows)


def test_many_values_are_estimated_within_two_percent(warehouse: sa.Engine) -> None:
    rng = random.Random(11)
    rows = [
        {
            "k": n % 7,
            "i": rng.randrange(40_000),
            "f": rng.random() if n % 5 else None,
            "s": f"s{rng.randrange(900)}",
        }
        for n in range(30_000)
    ]
    create_table(warehouse, "many", COLUMNS, rows)
    whole, groups = _profile_both(warehouse, "many")
    _assert_merged_equals_whole(whole, groups, rows)
    for name in ("i", "f", "s"):
        got, exact = (
            whole.column(name).metrics["approx_distinct_count"],
            _exact_distinct(rows, name),
        )
        assert abs(got - exact) <= 0.02 * exact, (name, got, exact)
        non_null = whole.column(name).metrics["count"]
        assert whole.column(name).metrics["unique_ratio"] == pytest.approx(got / non_null)


@pytest.mark.postgres
def test_the_hll_extension_builds_sketches_in_the_aggregate_statement(
    pg_engine: sa.Engine,
) -> None:
    with pg_engine.begin() as conn:
        available = "SELECT 1 FROM pg_available_extensions WHERE name = 'hll'"
        if conn.execute(sa.text(available)).first() is None:
            # scripts/ensure-postgres.sh installs it (make test) where it can
            if os.environ.get("CI"):
                pytest.fail("CI needs the Postgres hll extension (postgresql-15-hll)")
            pytest.skip("the Postgres hll extension is not installed")
        conn.execute(sa.text("CREATE EXTENSION hll"))
    rows = [
        {"k": n % 5, "i": (n * 7919) % 20_000, "f": n / 3 if n % 4 else None, "s": f"v{n % 500}"}
        for n in range(25_000)
    ]
    create_table(pg_engine, "native", COLUMNS, rows)
    whole, groups = _profile_both(pg_engine, "native")
    assert whole.statements == 1  # sketches, counts and all in one statement
    assert whole.column("i").state.sketch.family == "postgresql-hll"
    _assert_merged_equals_whole(whole, groups, rows)


@pytest.mark.postgres
def test_without_the_extension_postgres_hashes_in_sql(pg_engine: sa.Engine) -> None:
    rows = [{"k": n % 3, "i": n % 1000, "f": None, "s": None} for n in range(5_000)]
    create_table(pg_engine, "portable", COLUMNS, rows)
    whole, groups = _profile_both(pg_engine, "portable")
    assert whole.column("i").state.sketch.family == "postgresql"
    assert whole.column("f").metrics["approx_distinct_count"] == 0
    assert whole.column("f").metrics["unique_ratio"] is None
    _assert_merged_equals_whole(whole, groups, rows)


# --- partial runs keep distinct counts fresh -------------------------------------------
DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=d) for d in range(50)]
PARTIAL_METRICS = [*ALL_MERGEABLE, "approx_distinct_count", "unique_ratio"]


def _fill(engine: sa.Engine, start: int, count: int, day: dt.date) -> list[dict[str, Any]]:
    rows = [
        {"id": n, "day": day, "user_id": (n * 7919) % 30_011, "tag": f"t{n % 250}"}
        for n in range(start, start + count)
    ]
    with engine.begin() as conn:
        conn.execute(sa.table("events", *[sa.column(c) for c in rows[0]]).insert(), rows)
    return rows


@pytest.fixture(params=["sqlite", "duckdb"])
def local(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[sa.Engine]:
    """Engines whose change detection sees which key partitions changed (on Postgres,
    declaratively partitioned tables: tests/test_incremental_partial.py)."""
    suffix = "db" if request.param == "sqlite" else "duckdb"
    engine = sa.create_engine(f"{request.param}:///{tmp_path / f'p.{suffix}'}")
    yield engine
    engine.dispose()


def test_a_partial_run_reads_one_partition_and_keeps_the_estimate_fresh(
    local: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    warehouse = local
    columns = [("id", sa.BigInteger()), ("day", sa.Date()), ("user_id", sa.BigInteger()),
               ("tag", sa.Text())]  # fmt: skip
    create_table(warehouse, "events", columns, [])
    rows = [r for k, day in enumerate(DAYS) for r in _fill(warehouse, k * 200, 200, day)]
    block = incremental_block(
        # an estimated unique_ratio merges with the sketch: it need not be listed
        partial_profiling={"mergeable_metrics": [*ALL_MERGEABLE, "approx_distinct_count"]},
    )
    config = make_incremental(
        make_config,
        warehouse,
        [{"table": "events", "partition": {"key": "day", "strategy": "all"}}],
        block,
        profiling={"metrics": PARTIAL_METRICS},
    )
    t0 = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    first = ProfileRunner(config).profile(now=t0).outcomes[0]
    assert first.status == "completed", first.error

    rows += _fill(warehouse, 1_000_000, 400, DAYS[17])  # 400 new users and tags in one day
    second = ProfileRunner(config).profile(now=t0 + dt.timedelta(hours=1)).outcomes[0]
    assert (second.status, second.action) == ("completed", "partial"), second.decision.reason
    assert second.rows_scanned == 600  # the changed day only: 600 of 10,400 rows
    assert second.estimated_metrics == ("approx_distinct_count", "unique_ratio")
    for name in ("user_id", "tag", "id"):
        got = second.profile.column(name).metrics["approx_distinct_count"]
        exact = _exact_distinct(rows, name)
        assert abs(got - exact) <= 0.02 * exact, (name, got, exact)
    assert second.profile.column("id").metrics["count"] == len(rows)


def test_only_the_estimated_metrics_are_flagged(
    warehouse: sa.Engine, make_config: Callable[..., BaselinrConfig]
) -> None:
    create_table(warehouse, "small", COLUMNS, [{"k": 1, "i": 2, "f": 3.0, "s": "x"}])
    for metrics, estimated in [
        (["count", "distinct_count", "unique_ratio"], ()),
        (["approx_distinct_count", "distinct_count", "unique_ratio"], ("approx_distinct_count",)),
        (["approx_distinct_count", "unique_ratio"], ("approx_distinct_count", "unique_ratio")),
    ]:
        config = make_incremental(
            make_config, warehouse, [{"table": "small"}], profiling={"metrics": metrics}
        )
        (outcome,) = ProfileRunner(config).profile().outcomes
        assert outcome.status == "completed", outcome.error
        assert outcome.estimated_metrics == estimated
        assert outcome.to_dict()["estimated_metrics"] == list(estimated)
