"""The folded second pass: on a re-profile, histograms against the fixed edges and the
second moment around the last mean come from statement 1 — exact to 1e-9 relative even
where the mean is huge against the spread, and back to statement 2 whenever the mean
moved too far, the counts outgrew their packing or a deviation overflowed."""

import dataclasses
import math
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.connectors import dialect_for
from baselinr.profiling.metrics import DEFAULT_METRICS
from baselinr.profiling.profiler import TableProfile, profile_table
from baselinr.profiling.query import ProfileRequest
from tests.support.warehouse import create_table, request_for

COLUMNS = [("i", sa.BigInteger()), ("f", sa.Double())]


def exact_stddev(values: list[Any]) -> float:
    xs = [Fraction(v) for v in values if v is not None]
    mean = sum(xs) / len(xs)
    return math.sqrt(float(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)))


def run(engine: sa.Engine, request: ProfileRequest) -> TableProfile:
    with engine.connect() as conn:
        return profile_table(conn, dialect_for(engine), request)


def again(request: ProfileRequest, first: TableProfile, **changes: Any) -> ProfileRequest:
    """The request of the next profile, knowing what ``first`` found."""
    known = {
        "histogram_edges": first.histogram_edges,
        "centers": first.means(),
        "expected_rows": first.rows,
    }
    return dataclasses.replace(request, **{**known, **changes})


def rows_around(mean: float, spread: float, n: int, shift: float = 0.0) -> list[dict[str, Any]]:
    return [
        {"i": 10**12 + k % 97 + round(shift), "f": mean + spread * ((k * 37) % 101 - 50) + shift}
        for k in range(n)
    ]


def assert_close_to_exact(profile: TableProfile, rows: list[dict[str, Any]]) -> None:
    for name in ("i", "f"):
        want = exact_stddev([r[name] for r in rows])
        got = profile.column(name).metrics["stddev"]
        assert got == pytest.approx(want, rel=1e-9), name


def profiled_twice(
    engine: sa.Engine, table: str, rows: list[dict[str, Any]]
) -> tuple[ProfileRequest, TableProfile, TableProfile]:
    """The request, a first profile, and a second one that knows only its edges."""
    create_table(engine, table, COLUMNS, rows)
    request = request_for(engine, table, DEFAULT_METRICS)
    first = run(engine, request)
    plain = run(engine, dataclasses.replace(request, histogram_edges=first.histogram_edges))
    return request, first, plain


def test_a_reprofile_takes_one_statement_less(warehouse: sa.Engine) -> None:
    rows = rows_around(1e9, 1e-3, 3000)
    request, first, plain = profiled_twice(warehouse, "fold", rows)

    spread = exact_stddev([r["f"] for r in rows])
    moved = rows_around(1e9, 1e-3, 3000, shift=3 * spread)  # the mean moved 3 sigma
    with warehouse.begin() as conn:
        conn.execute(sa.text("DELETE FROM fold"))
        conn.execute(sa.table("fold", sa.column("i"), sa.column("f")).insert(), moved)
    folded = run(warehouse, again(request, first))
    assert folded.statements == plain.statements - 1
    assert_close_to_exact(folded, moved)
    unfolded = run(warehouse, dataclasses.replace(request, histogram_edges=first.histogram_edges))
    for name in ("i", "f"):
        a, b = folded.column(name).metrics, unfolded.column(name).metrics
        assert a["histogram"] == b["histogram"], name
        # (Postgres's parallel workers add floats in any order)
        assert a["mean"] == pytest.approx(b["mean"], rel=1e-12), name


def test_a_mean_far_from_the_center_falls_back_to_statement_two(warehouse: sa.Engine) -> None:
    rows = rows_around(1e9, 1e-3, 2000)
    request, first, plain = profiled_twice(warehouse, "far", rows)
    # the last mean 1000 standard deviations away from today's
    far = {"i": first.means()["i"] - 5_000, "f": first.means()["f"] - 30.0}
    folded = run(warehouse, again(request, first, centers=far))
    assert folded.statements == plain.statements  # statement 2 took the moments after all
    assert_close_to_exact(folded, rows)


def test_counts_beyond_the_packing_are_recounted(warehouse: sa.Engine) -> None:
    rows = rows_around(50.0, 3.0, 2500)
    create_table(warehouse, "grown", COLUMNS, rows)
    request = request_for(warehouse, "grown", DEFAULT_METRICS)
    first = run(warehouse, request)
    # the last profile saw one row: Postgres packs each bin's count in one digit
    folded = run(warehouse, again(request, first, expected_rows=1))
    assert folded.column("f").metrics["histogram"] == first.column("f").metrics["histogram"]
    assert folded.column("i").metrics["histogram"] == first.column("i").metrics["histogram"]
    assert_close_to_exact(folded, rows)


def test_a_deviation_that_overflows_is_taken_again(warehouse: sa.Engine) -> None:
    rows = [{"i": 2**63 - 1 - k, "f": float(k)} for k in range(50)]
    create_table(warehouse, "huge", COLUMNS, rows)
    request = request_for(warehouse, "huge", DEFAULT_METRICS)
    first = run(warehouse, request)
    # a center of -2**61: value - center leaves 64 bits (Postgres and DuckDB raise)
    folded = run(warehouse, again(request, first, centers={"i": -(2.0**61), "f": 0.0}))
    assert folded.column("i").metrics["stddev"] == pytest.approx(
        exact_stddev([r["i"] for r in rows]), rel=1e-9
    )
    assert folded.column("i").metrics["max"] == 2**63 - 1


def full_run(runner: Any) -> Any:
    """A full profile, changed or not (an incremental plan would skip the table)."""
    try:
        return runner.execute(runner.plan(force_full=[0])).outcomes[0]
    finally:
        runner.context.close()


def test_the_runner_folds_from_the_last_run_and_from_state(
    warehouse: sa.Engine, make_config: Any
) -> None:
    from baselinr.runner import ProfileRunner
    from tests.conftest import source_block
    from tests.support.incremental import incremental_block

    rows = rows_around(20.0, 4.0, 1500)
    create_table(warehouse, "ran", COLUMNS, rows)
    for incremental in ({}, {"incremental": incremental_block()}):
        config = make_config(source_block(warehouse), [{"table": "ran"}], **incremental)
        first, second = (full_run(ProfileRunner(config)) for _ in range(2))
        assert first.status == second.status == "completed", (first.error, second.error)
        # the stored figure: no statement 2 (the first of these two runs may fold
        # already, from the run before it); on Postgres the distinct counts are split
        # over the spare sessions (max_workers 4: three of them; two columns here)
        assert second.run.metadata["statements"] <= first.run.metadata["statements"]
        distinct_parts = min(3, len(COLUMNS)) if warehouse.dialect.name == "postgresql" else 0
        assert second.run.metadata["statements"] == 1 + distinct_parts
        assert second.profile.column("f").metrics["stddev"] == pytest.approx(
            exact_stddev([r["f"] for r in rows]), rel=1e-9
        )
