"""Wide tables: 72, 334 and 1,600 numeric columns profile correctly on SQLite, DuckDB
and Postgres. The select lists are split into several statements when they exceed the
limit; a column's items are never split across two of them (the bug: ``KeyError:
'c71_h_lt5'`` on SQLite/DuckDB at 72 columns, ``'c333_h_packed'`` on Postgres at 334)."""

import random
import re
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.catalog import TableRef
from baselinr.connectors import ColumnInfo
from baselinr.engines import ENGINES
from baselinr.profiling.metrics import DEFAULT_METRICS
from baselinr.profiling.query import MAX_SELECT_ITEMS, Center, ProfileQuery, ProfileRequest
from tests.support.reference import check_column
from tests.support.warehouse import create_table, metrics_by_column, profile


def _wide(width: int, rows: int = 12) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(width)
    # mostly 4-byte integers: a Postgres row must fit a page (8 kB) at 1,600 columns
    columns = [(f"c{k}", sa.Double() if k % 8 == 0 else sa.Integer()) for k in range(width)]
    data = []
    for _ in range(rows):
        data.append(
            {
                name: None
                if rng.random() < 0.1
                else (rng.randint(-50, 50) if isinstance(kind, sa.Integer) else rng.gauss(5, 2))
                for name, kind in columns
            }
        )
    return columns, data


def _owner(label: str) -> int | None:
    match = re.match(r"c(\d+)_", label)
    return int(match.group(1)) if match else None


@pytest.mark.parametrize(
    ("dialect_name", "width"),
    # the widths where each dialect's distribution pass first splits
    [("sqlite", 72), ("duckdb", 72), ("postgresql", 334)],
)
def test_no_column_is_split_across_statements(dialect_name: str, width: int) -> None:
    """Every statement kind, the real dialects' select lists: each column's items sit
    in exactly one statement, and no statement exceeds the limit."""
    dialect = ENGINES[dialect_name].dialect
    columns = tuple(
        ColumnInfo(f"c{k}", "DOUBLE" if k % 8 == 0 else "INTEGER", "numeric", k % 8 == 0)
        for k in range(width)
    )
    request = ProfileRequest(TableRef(None, "wide"), columns, tuple(DEFAULT_METRICS))
    query = ProfileQuery(dialect, request)
    edges = {c.name: tuple(float(e) for e in range(11)) for c in columns}
    centers = {c.name: Center({None: 3}, not c.floating) for c in columns}
    kinds = {
        "aggregate": query.aggregate_statements(),
        "distribution": query.distribution_statements(edges, centers, 1000),
        "serial": query.serial_statements(),
    }
    for kind, statements in kinds.items():
        home: dict[int, set[int]] = {}
        for n, stmt in enumerate(statements):
            labels = [c.name for c in stmt.selected_columns]
            assert len(labels) <= MAX_SELECT_ITEMS, (kind, n, len(labels))
            for label in labels:
                owner = _owner(label)
                if owner is not None:
                    home.setdefault(owner, set()).add(n)
        split = {i: s for i, s in home.items() if len(s) > 1}
        assert not split, (kind, dict(list(split.items())[:5]))
        if statements:
            assert len(home) == width, kind  # every column is in one of them
    assert len(kinds["distribution"]) > 1  # the limit was really hit


# Every engine at every width. Histograms cost most to build (SQLAlchemy) and, on
# DuckDB, to run (it takes seconds per thousand FILTER aggregates, quadratic in their
# number), so the widest cases profile without them; the test above checks the default
# metrics' statements on every dialect where it splits.
LIGHT = ("count", "null_ratio", "min", "max", "mean", "stddev")
_CASES = [
    ("sqlite", 72, DEFAULT_METRICS),
    ("sqlite", 334, DEFAULT_METRICS),
    ("sqlite", 1600, LIGHT),
    ("duckdb", 72, DEFAULT_METRICS),
    ("duckdb", 334, LIGHT),
    ("duckdb", 1600, LIGHT),
    ("postgres", 72, DEFAULT_METRICS),
    ("postgres", 334, DEFAULT_METRICS),
    ("postgres", 1600, DEFAULT_METRICS),
]


@pytest.mark.parametrize(
    ("warehouse", "width", "metrics"),
    _CASES,
    indirect=["warehouse"],
    ids=[f"{e}-{w}{'' if m is DEFAULT_METRICS else '-light'}" for e, w, m in _CASES],
)
def test_wide_table_profiles_match_the_reference(
    warehouse: sa.Engine, width: int, metrics: tuple[str, ...]
) -> None:
    columns, rows = _wide(width)
    create_table(warehouse, "wide", columns, rows)
    result, seen = profile(warehouse, "wide", metrics)
    assert result.rows == len(rows)
    assert len(result.columns) == width
    assert result.statements == len(seen)
    problems = []
    for name, values in metrics_by_column(result).items():
        problems += check_column(name, values, [r[name] for r in rows])
    assert not problems, "\n".join(problems[:20])
