"""Exports: every run or drift event that matches the list filters, streamed as a JSON
array or as CSV with a header row. Rows are fetched through a server-side cursor and
encoded a chunk at a time, so memory stays flat however many rows there are."""

import csv
import datetime as dt
import io
import json
import math
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.api.clean import clean
from baselinr.redact import redact
from baselinr.storage.schema import events, runs

CHUNK = 2000

RUN_FIELDS: tuple[str, ...] = tuple(c.name for c in runs.columns)
_TRIAGE = ("triage_status",)
DRIFT_FIELDS: tuple[str, ...] = tuple(
    "status" if c.name in _TRIAGE else c.name for c in events.columns
)
_JSON_TEXT = {"metadata", "payload"}  # stored as JSON text: objects in a JSON export


def _rows(engine: Engine, stmt: sa.Select[Any]) -> Iterator[Sequence[Mapping[Any, Any]]]:
    with engine.connect() as conn:
        streamed = conn.execution_options(stream_results=True, max_row_buffer=CHUNK)
        result = streamed.execute(stmt).mappings()
        yield from result.partitions(CHUNK)


def _value(name: str, value: Any, as_json: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        if name in _JSON_TEXT and as_json:
            return clean(jsonutil.loads(value))
        return redact(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _record(row: Mapping[Any, Any], fields: Sequence[str], as_json: bool) -> list[Any]:
    out = []
    for name in fields:
        if name == "status" and "triage_status" in row:
            value = row["triage_status"] or "open"
        else:
            value = row[name]
        out.append(_value(name, value, as_json))
    return out


def json_chunks(
    rows: Iterator[Sequence[Mapping[Any, Any]]], fields: Sequence[str]
) -> Generator[bytes, None, None]:
    yield b"["
    first = True
    for part in rows:
        texts = [
            json.dumps(dict(zip(fields, _record(r, fields, True), strict=True)), default=str)
            for r in part
        ]
        if texts:
            yield (("\n" if first else ",\n") + ",\n".join(texts)).encode()
            first = False
    yield b"]\n" if first else b"\n]\n"


def csv_chunks(
    rows: Iterator[Sequence[Mapping[Any, Any]]], fields: Sequence[str]
) -> Generator[bytes, None, None]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    for part in rows:
        for r in part:
            writer.writerow(["" if v is None else v for v in _record(r, fields, False)])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export(
    engine: Engine, stmt: sa.Select[Any], fields: Sequence[str], fmt: str
) -> Callable[[], AsyncIterator[bytes]]:
    """The body of a ``StreamingResponse``: rows are read and encoded in a worker thread,
    one chunk at a time; a client that goes away closes the cursor."""
    encode = json_chunks if fmt == "json" else csv_chunks

    async def body() -> AsyncIterator[bytes]:
        chunks = encode(_rows(engine, stmt), fields)
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            await anyio.to_thread.run_sync(chunks.close)

    return body
