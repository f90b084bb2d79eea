"""The same rows in SQLite, DuckDB and PostgreSQL, loaded the fast way each engine has
(COPY and read_csv from one CSV file, executemany), with declared types per engine.

A column is ``(name, kind)``; kinds map to one type per engine, chosen so that the
three engines hold the same values: ``real`` is float4 on Postgres and DuckDB and a
double on SQLite (the values are float32 numbers, so all three hold the same doubles);
``money`` is numeric(12,2) / DECIMAL(12,2) / NUMERIC (two-decimal values, which SQLite
keeps as the nearest double); ``text_icu`` is text with an ICU collation on Postgres,
where min/max/order must still be code-point order.
"""

import csv
import datetime as dt
import io
import math
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

TYPES: dict[str, dict[str, str]] = {
    "bigint": {"postgresql": "bigint", "duckdb": "BIGINT", "sqlite": "BIGINT"},
    "int": {"postgresql": "integer", "duckdb": "INTEGER", "sqlite": "INTEGER"},
    "double": {"postgresql": "double precision", "duckdb": "DOUBLE", "sqlite": "DOUBLE"},
    "real": {"postgresql": "real", "duckdb": "FLOAT", "sqlite": "REAL"},
    "money": {"postgresql": "numeric(12,2)", "duckdb": "DECIMAL(12,2)", "sqlite": "NUMERIC"},
    "exact": {"postgresql": "numeric(38,10)", "duckdb": "DECIMAL(38,10)", "sqlite": "NUMERIC"},
    "text": {"postgresql": "text", "duckdb": "VARCHAR", "sqlite": "TEXT"},
    "text_icu": {"postgresql": 'text COLLATE "und-x-icu"', "duckdb": "VARCHAR", "sqlite": "TEXT"},
    "bool": {"postgresql": "boolean", "duckdb": "BOOLEAN", "sqlite": "BOOLEAN"},
    "date": {"postgresql": "date", "duckdb": "DATE", "sqlite": "DATE"},
    "timestamp": {"postgresql": "timestamp", "duckdb": "TIMESTAMP", "sqlite": "TIMESTAMP"},
}

CATEGORIES = [
    "alpha", "Beta", "gamma", "Ωmega", "zürich", "日本", "emoji 👍", "", "x y", "Zulu",
    "éclair", "apple", "Apple", "b", "B", "c1", "c10", "c2", "delta", "Delta",
]  # fmt: skip


def mixed_rows(n: int, seed: int) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Realistic mixed data: keys, small skewed counts, wide floats, float4 ratios,
    prices, categories (Zipf; mixed case and scripts, to test ordering), free text,
    flags, dates and timestamps with microseconds, and nulls in most columns."""
    rng = np.random.default_rng(seed)
    columns = [
        ("id", "bigint"),
        ("qty", "int"),
        ("amount", "double"),
        ("score", "double"),
        ("ratio", "real"),
        ("price", "money"),
        ("category", "text_icu"),
        ("note", "text"),
        ("flag", "bool"),
        ("day", "date"),
        ("ts", "timestamp"),
    ]
    weights = 1.0 / np.arange(1, len(CATEGORIES) + 1) ** 1.2
    weights /= weights.sum()
    nulls = rng.random((8, n)) < np.array(
        [[0.0], [0.02], [0.05], [0.01], [0.1], [0.03], [0.0], [0.3]]
    )

    def with_nulls(values: list[Any], k: int) -> list[Any]:
        return [None if null else v for v, null in zip(values, nulls[k], strict=True)]

    start = dt.datetime(2023, 1, 1)
    day0 = dt.date(2020, 1, 1)
    cents = [Decimal(int(c)).scaleb(-2) for c in rng.integers(1, 200_000, n)]
    data = {
        "id": list(range(1, n + 1)),
        "qty": with_nulls(np.floor(rng.exponential(4.0, n)).astype(int).tolist(), 1),
        "amount": with_nulls(np.round(rng.gamma(2.0, 60.0, n), 2).tolist(), 2),
        "score": with_nulls(rng.normal(50.0, 12.0, n).tolist(), 3),
        "ratio": with_nulls(rng.random(n).astype(np.float32).astype(float).tolist(), 4),
        "price": with_nulls(cents, 5),
        "category": [CATEGORIES[c] for c in rng.choice(len(CATEGORIES), n, p=weights)],
        "note": with_nulls([f"note {k}" for k in rng.integers(0, n // 3, n)], 7),
        "flag": [None if k % 17 == 0 else bool(f) for k, f in enumerate(rng.random(n) < 0.3)],
        "day": [day0 + dt.timedelta(days=d) for d in rng.integers(0, 5 * 365, n).tolist()],
        "ts": [
            start + dt.timedelta(microseconds=m)
            for m in rng.integers(0, 400 * 86_400 * 1_000_000, n).tolist()
        ],
    }
    names = [c for c, _ in columns]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*data.values(), strict=True)]
    return columns, rows


def csv_text(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV (``\\N`` for NULL) that Postgres COPY and DuckDB read_csv parse
    to the same values; made once and loaded into both."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [c for c, _ in columns]
    for row in rows:
        writer.writerow(["\\N" if row[c] is None else _text(row[c]) for c in names])
    return buffer.getvalue()


def load(
    engine: sa.Engine,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    csv_file: Path | None = None,
) -> None:
    """Create ``table`` with the declared types of this engine and insert ``rows``
    (Postgres and DuckDB from ``csv_file``, made by ``csv_text``, when given)."""
    name = engine.dialect.name
    ddl = ", ".join(f'"{c}" {TYPES[kind][name]}' for c, kind in columns)
    names = [c for c, _ in columns]
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
        conn.exec_driver_sql(f'CREATE TABLE "{table}" ({ddl})')
    if name in ("postgresql", "duckdb") and csv_file is None:
        csv_file = Path(tempfile.mkdtemp()) / f"{table}.csv"
        csv_file.write_text(csv_text(columns, rows), encoding="utf-8")
    if name == "postgresql":
        assert csv_file is not None
        raw = engine.raw_connection()
        try:
            with csv_file.open(encoding="utf-8") as handle:
                raw.cursor().copy_expert(
                    f"COPY \"{table}\" FROM STDIN WITH (FORMAT csv, NULL '\\N')", handle
                )
            raw.commit()
        finally:
            raw.close()
        return
    if name == "duckdb":
        assert csv_file is not None
        types = ", ".join(f"'{c}': '{TYPES[kind]['duckdb']}'" for c, kind in columns)
        path = str(csv_file).replace("'", "''")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO \"{table}\" SELECT * FROM read_csv('{path}', header = false, "
                f"nullstr = '\\N', quote = '\"', columns = {{{types}}})"
            )
        return
    marks = ", ".join("?" for _ in names)
    values = [tuple(_sqlite(row[c]) for c in names) for row in rows]
    with engine.begin() as conn:
        conn.exec_driver_sql(f'INSERT INTO "{table}" VALUES ({marks})', values)


def _text(value: Any) -> str:
    """A value as text every engine parses to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _sqlite(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
