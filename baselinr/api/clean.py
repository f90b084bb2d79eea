"""What the API returns goes through here: free text (driver errors, reasons, notes,
JSON documents, profiled values) is redacted with the one redaction function
(``baselinr.redact.redact``) and non-finite floats become strings (JSON has no NaN).

Identifiers — ids, schema, table, column and metric names, statuses, actions, event
types — are returned as stored: they come from the catalog and from Baselinr itself,
not from credentials.
"""

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from baselinr.redact import redact

#: Columns of each storage table that hold free text (or JSON documents of it).
RUN_TEXT = frozenset({"database_name", "environment", "error", "metadata"})
EVENT_TEXT = frozenset(
    {"reason", "payload", "acknowledged_by", "acknowledged_note", "resolved_by", "resolved_note"}
)
STATE_TEXT = frozenset({"database_name", "decision_reason", "metadata"})


def clean(value: Any, text: Callable[[str], str] = redact) -> Any:
    """``value`` with every string redacted, recursively, and JSON made strict."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {text(str(k)): clean(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, text) for v in value]
    return value


class Redactor:
    """``redact`` with a bounded memo of short strings, for one response or export:
    the keys and labels of JSON documents repeat on every row. (Secrets are registered
    when the API starts, so the memo cannot go stale while a response is built.)"""

    def __init__(self, size: int = 20_000, longest: int = 120) -> None:
        self.size, self.longest = size, longest
        self._seen: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        if len(value) > self.longest:
            return redact(value)
        found = self._seen.get(value)
        if found is None:
            found = redact(value)
            if len(self._seen) < self.size:
                self._seen[value] = found
        return found


def clean_fields(
    row: Mapping[str, Any], text: Iterable[str], redactor: Callable[[str], str] = redact
) -> dict[str, Any]:
    """A stored row with its free-text columns cleaned."""
    out = dict(row)
    for name in text:
        value = out.get(name)
        if value is not None:
            out[name] = clean(value, redactor)
    return out


M = TypeVar("M")


class RowMemo:
    """Models built from stored rows, keyed by the whole row (so never stale: a changed
    row is a new key), least recently used first out. Building a model means decoding
    and redacting its JSON; most rows of a listing did not change since the last one."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._models: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, row: Any, build: Callable[[Any], M]) -> M:
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        model = build(row)
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model
