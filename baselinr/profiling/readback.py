"""Rows of the profile statements back into the partial aggregates of each column
(the fields of ``ColumnState``). Labels are positional: ``c3_min`` is column 3's min."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from baselinr.connectors import ColumnInfo
from baselinr.profiling.metrics import BOOLEAN, NUMERIC, QUANTILE_LEVELS
from baselinr.profiling.query import Center, ProfileQuery, to_python
from baselinr.profiling.sketch import DistinctSketch
from baselinr.profiling.state import Histogram
from baselinr.values import Moment, bool_text, number_text


def fields_from_row(
    query: ProfileQuery, row: Mapping[str, Any], i: int, column: ColumnInfo
) -> dict[str, Any]:
    need = query.needs[column.name]
    read = query.read
    f: dict[str, Any] = {"non_null": int(read(row, f"c{i}_non_null") or 0)}
    if "distinct" in need:
        # from this row, or later from a bitmap or the serial statement (0 stays for
        # all-null columns)
        f["distinct"] = int(read(row, f"c{i}_distinct") or 0)
        bitmap_from_row(row, i, f)
    if "sketch" in need:
        # from this row, or filled in from the sketch statement (no rows: no values)
        d = query.dialect
        native = query.native_sketches
        raw = row.get(f"c{i}_sketch")
        f["sketch"] = d.read_sketch(raw) if native else DistinctSketch.empty(d.sketch_family(False))
    if "min" in need:
        f["min"] = query.read_value(row, f"c{i}_min", column)
    if "max" in need:
        f["max"] = query.read_value(row, f"c{i}_max", column)
    if "moments" in need:
        finite = int(read(row, f"c{i}_finite") or 0) if column.floating else f["non_null"]
        f["finite_count"] = finite
        f["sum"] = read(row, f"c{i}_sum") if finite else None
        # the second moment comes from the distribution statement; none is needed for
        # fewer than two values
        f["m2"] = 0.0 if finite == 1 else None
        f["non_finite"] = f["non_null"] - finite
    if "zeros" in need:
        f["zeros"] = int(read(row, f"c{i}_zeros") or 0)
    if "lengths" in need:
        f["length_min"] = read(row, f"c{i}_len_min")
        f["length_max"] = read(row, f"c{i}_len_max")
        length_sum = read(row, f"c{i}_len_sum")
        f["length_sum"] = int(length_sum) if length_sum is not None else None
    values = row.get(f"c{i}_quantiles")
    if values is not None:
        f["quantiles"] = quantile_dict(values)
    return f


def bitmap_from_row(row: Mapping[str, Any], i: int, f: dict[str, Any]) -> None:
    bits = row.get(f"c{i}_bits")
    if f"c{i}_bits" in row:
        f["distinct"] = bin(int(bits or 0) % 2**64).count("1")


def distribution_from_row(
    query: ProfileQuery,
    row: Mapping[str, Any],
    i: int,
    column: ColumnInfo,
    f: dict[str, Any],
    edges: Mapping[str, tuple[float, ...]],
    center: Center | None,
    max_rows: int,
) -> None:
    counted = int(row[f"c{i}_n2"] or 0)
    column_edges = edges.get(column.name)
    if column_edges:
        under, counts, over = query.dialect.histogram_counts(
            row, f"c{i}_h", column_edges, max_rows, counted
        )
        f["histogram"] = Histogram(column_edges, tuple(counts), under, over)
    if center is not None and counted:
        # None only if a NaN or infinity arrived after statement 1
        moment = query.dialect.second_moment(row, f"c{i}_m", counted, center.scale)
        f["m2"], f["m2_exponent"] = moment if moment is not None else (None, 0)


def serial_from_row(
    query: ProfileQuery, row: Mapping[str, Any], i: int, column: ColumnInfo, f: dict[str, Any]
) -> None:
    if f"c{i}_distinct" in row:
        f["distinct"] = int(query.read(row, f"c{i}_distinct") or 0)
    values = row.get(f"c{i}_quantiles")
    if values is not None:
        f["quantiles"] = quantile_dict(values)


def quantile_dict(values: Any) -> dict[str, float]:
    return {
        f"p{round(level * 100):02d}": float(to_python(v))
        for level, v in zip(QUANTILE_LEVELS, values, strict=True)
    }


def value_text(query: ProfileQuery, raw: Any, column: ColumnInfo) -> str:
    """A top value in the canonical text of ``baselinr.values``, whatever the engine
    returned (text on Postgres and DuckDB, the value itself on SQLite)."""
    if column.temporal:
        found = query.dialect.read_temporal(raw, column)
        return found.isoformat() if isinstance(found, Moment) else str(found)
    if column.category == BOOLEAN:
        return bool_text(raw)
    if column.category == NUMERIC:
        number = _number(raw, column)
        return number_text(number) if number is not None else str(raw)
    return raw if isinstance(raw, str) else str(raw)


def _number(raw: Any, column: ColumnInfo) -> int | float | Decimal | None:
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        return float(raw) if column.floating and not column.decimal else raw
    try:
        exact = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if column.floating and not column.decimal:
        return float(exact)  # the engines print doubles in their shortest exact form
    return exact
