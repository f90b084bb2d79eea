"""A profile's independent statements run side by side on spare warehouse sessions
(Postgres), never more sessions than ``max_workers`` across the run, with the same
results as one after the other."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.connectors import dialect_for
from baselinr.profiling.metrics import DEFAULT_METRICS
from baselinr.profiling.profiler import profile_table
from baselinr.profiling.sessions import SessionBudget
from tests.support.warehouse import create_table, request_for

METRICS = (*DEFAULT_METRICS, "top_values", "quantiles")


def test_a_budget_lends_only_free_sessions_and_waits_for_one() -> None:
    budget = SessionBudget(2)
    with budget.held():
        assert budget.borrow() and not budget.borrow()
        budget.give_back()
    assert budget.free == 2
    budget.borrow(), budget.borrow()
    entered = threading.Event()

    def wait() -> None:
        with budget.held():
            entered.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    assert not entered.is_set()  # every session lent: the table waits
    budget.give_back()
    waiter.join(5)
    assert entered.is_set()


@contextmanager
def checked_out(engine: sa.Engine) -> Iterator[dict[str, int]]:
    """The most connections of ``engine`` in use at once while the block runs."""
    seen = {"now": 0, "most": 0, "distinct": 0}
    lock = threading.Lock()
    ids: set[int] = set()

    def out(dbapi: Any, record: Any, proxy: Any) -> None:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
            ids.add(id(dbapi))
            seen["distinct"] = len(ids)

    def back(dbapi: Any, record: Any) -> None:
        with lock:
            seen["now"] -= 1

    sa.event.listen(engine, "checkout", out)
    sa.event.listen(engine, "checkin", back)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", out)
        sa.event.remove(engine, "checkin", back)


def _table(engine: sa.Engine) -> None:
    rows = [
        {"i": (n * 7919) % 3000, "f": n / 7 if n % 9 else None, "s": f"v{n % 400}", "b": n % 2 == 0}
        for n in range(20_000)
    ]
    columns = [("i", sa.BigInteger()), ("f", sa.Double()), ("s", sa.Text()), ("b", sa.Boolean())]
    create_table(engine, "wide", columns, rows)


def _profile(engine: sa.Engine, budget: SessionBudget | None) -> Any:
    dialect, request = dialect_for(engine), request_for(engine, "wide", METRICS)
    if budget is None:
        with engine.connect() as conn:
            return profile_table(conn, dialect, request)
    with budget.held(), engine.connect() as conn:
        return profile_table(conn, dialect, request, budget)


@pytest.mark.postgres
def test_side_by_side_statements_give_the_same_profile(pg_engine: sa.Engine) -> None:
    _table(pg_engine)
    alone = _profile(pg_engine, None)
    with checked_out(pg_engine) as seen:
        together = _profile(pg_engine, SessionBudget(4))
    assert seen["most"] >= 2  # the distinct counts and top values ran on other sessions
    assert seen["most"] <= 4
    for a, b in zip(alone.columns, together.columns, strict=True):
        for metric, value in a.metrics.items():
            if isinstance(value, float):
                assert b.metrics[metric] == pytest.approx(value, rel=1e-12), metric
            else:
                assert b.metrics[metric] == value, (a.column.name, metric)


@pytest.mark.postgres
def test_no_spare_session_means_one_connection(pg_engine: sa.Engine) -> None:
    _table(pg_engine)
    with checked_out(pg_engine) as seen:
        profile = _profile(pg_engine, SessionBudget(1))  # the table holds the only one
    assert seen["most"] == 1
    assert profile.column("i").metrics["distinct_count"] == 3000


@pytest.mark.postgres
def test_a_run_never_holds_more_sessions_than_max_workers(
    pg_engine: sa.Engine, make_config: Any
) -> None:
    from baselinr.runner import ProfileRunner
    from tests.conftest import source_block

    _table(pg_engine)
    with pg_engine.begin() as conn:
        for k in range(3):
            conn.execute(sa.text(f"CREATE TABLE wide{k} AS SELECT * FROM wide"))
    config = make_config(
        source_block(pg_engine),
        [{"table": f"wide{k}"} for k in range(3)],
        profiling={"metrics": list(METRICS), "max_workers": 2},
    )
    runner = ProfileRunner(config)
    with checked_out(runner.context.warehouse) as seen:
        result = runner.profile()
    assert result.ok and len(result.outcomes) == 3
    assert seen["most"] <= 2
    runner.context.close()
