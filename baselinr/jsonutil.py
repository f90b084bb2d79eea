"""JSON for values that come out of a warehouse: dates, decimals, bytes, non-finite floats.

``encode_value`` turns a scalar into something ``json`` can write and ``decode_value``
reverses it, so stored partition state round-trips exactly. ``dumps`` is strict JSON
(no bare NaN), so any consumer can read what Baselinr stores.
"""

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any


def encode_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def decode_value(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((tag, raw),) = value.items()
    if tag == "$float":
        return float(raw)
    if tag == "$datetime":
        return dt.datetime.fromisoformat(raw)
    if tag == "$date":
        return dt.date.fromisoformat(raw)
    if tag == "$time":
        return dt.time.fromisoformat(raw)
    if tag == "$seconds":
        return dt.timedelta(seconds=raw)
    if tag == "$bytes":
        return base64.b64decode(raw)
    return value


def display_value(value: Any) -> Any:
    """A plain JSON rendering for people: dates as ISO strings, not tagged objects."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    encoded = encode_value(value)
    return encoded if not isinstance(encoded, dict) else str(value)


def _default(value: Any) -> Any:
    encoded = encode_value(value)
    if encoded is value:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return encoded


def dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(_finite(obj), default=_default, allow_nan=False, **kwargs)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"$float": repr(obj)}
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def loads(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text, object_hook=decode_value)
