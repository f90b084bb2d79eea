"""Exports: every run or drift event that matches the list filters, streamed as a JSON
array or as CSV with a header row. Rows are fetched through a server-side cursor and
encoded a chunk at a time, so memory stays flat however many rows there are.

A row is one ``baselinr_runs`` or ``baselinr_events`` row, columns by their names (an
event's ``triage_status`` as ``status``, ``open`` when never triaged); free text is
redacted; JSON documents (``metadata``, ``payload``) are objects in a JSON export and
JSON text in a CSV one.
"""

import csv
import datetime as dt
import io
import json
import math
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr import jsonutil
from baselinr.api.clean import EVENT_TEXT, RUN_TEXT, Redactor, clean
from baselinr.storage.schema import UTCDateTime, events, runs

CHUNK = 2000
_JSON_TEXT = frozenset({"metadata", "payload"})  # JSON documents stored as text
_RENAMED = {"triage_status": "status"}

Encoder = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(redactor: Redactor) -> Encoder:
    def encode(value: str | None) -> str | None:
        return redactor(value) if value is not None else None

    return encode


def _document(redactor: Redactor) -> Encoder:
    def encode(value: str | None) -> Any:
        return clean(jsonutil.loads(value), redactor) if value is not None else None

    return encode


def _number(value: float | None) -> Any:
    return value if value is None or math.isfinite(value) else repr(value)


def _triage(value: str | None) -> str:
    return value or "open"


@dataclass(frozen=True)
class Layout:
    """The columns of an export and how each value is encoded."""

    table: sa.Table
    text: frozenset[str]

    @property
    def fields(self) -> list[str]:
        return [_RENAMED.get(c.name, c.name) for c in self.table.columns]

    def encoders(self, as_json: bool) -> list[Encoder]:
        redactor = Redactor()
        out: list[Encoder] = []
        for column in self.table.columns:
            if column.name == "triage_status":
                out.append(_triage)
            elif column.name in _JSON_TEXT and as_json:
                out.append(_document(redactor))
            elif column.name in self.text:
                out.append(_text(redactor))
            elif isinstance(column.type, UTCDateTime):
                out.append(_when)
            elif isinstance(column.type, sa.Double):
                out.append(_number)
            else:
                out.append(_same)
        return out


RUNS = Layout(runs, RUN_TEXT)
DRIFT = Layout(events, EVENT_TEXT)


def _rows(engine: Engine, stmt: sa.Select[Any]) -> Iterator[Sequence[Sequence[Any]]]:
    with engine.connect() as conn:
        streamed = conn.execution_options(stream_results=True, max_row_buffer=CHUNK)
        yield from streamed.execute(stmt).partitions(CHUNK)


def json_chunks(
    rows: Iterator[Sequence[Sequence[Any]]], layout: Layout
) -> Generator[bytes, None, None]:
    fields = layout.fields
    # only the columns whose values need encoding are touched per row
    special = [
        (i, name, encode)
        for i, (name, encode) in enumerate(zip(fields, layout.encoders(as_json=True), strict=True))
        if encode is not _same
    ]
    dumps = json.JSONEncoder(default=str, allow_nan=False).encode

    def record(row: Sequence[Any]) -> str:
        data = dict(zip(fields, row, strict=True))
        for i, name, encode in special:
            data[name] = encode(row[i])
        return dumps(data)

    yield b"["
    first = True
    for part in rows:
        texts = [record(row) for row in part]
        if texts:
            yield (("\n" if first else ",\n") + ",\n".join(texts)).encode()
            first = False
    yield b"]\n" if first else b"\n]\n"


def csv_chunks(
    rows: Iterator[Sequence[Sequence[Any]]], layout: Layout
) -> Generator[bytes, None, None]:
    encoders = layout.encoders(as_json=False)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(layout.fields)
    for part in rows:
        writer.writerows(
            [encode(value) for encode, value in zip(encoders, row, strict=True)] for row in part
        )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export(
    engine: Engine, stmt: sa.Select[Any], layout: Layout, fmt: str
) -> Callable[[], AsyncIterator[bytes]]:
    """The body of a ``StreamingResponse``: rows are read and encoded in a worker thread,
    one chunk at a time; a client that goes away closes the cursor."""
    encode = json_chunks if fmt == "json" else csv_chunks

    async def body() -> AsyncIterator[bytes]:
        chunks = encode(_rows(engine, stmt), layout)
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            await anyio.to_thread.run_sync(chunks.close)

    return body
