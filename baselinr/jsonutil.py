"""JSON for values that come out of a warehouse: dates, decimals, bytes, non-finite floats.

``encode_value`` turns a scalar into something ``json`` can write and ``decode_value``
reverses it, so stored partition state round-trips exactly. ``dumps`` is strict JSON
(no bare NaN), so any consumer can read what Baselinr stores. ``exact_number`` is the
storage rule for numeric metrics whose double would lose digits.
"""

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

from baselinr.values import Moment, to_float


def encode_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, Decimal):
        if not value.is_finite():
            return {"$float": repr(float(value))}
        return int(value) if value == value.to_integral_value() else {"$decimal": str(value)}
    if isinstance(value, Moment):
        return {"$moment": [value.isoformat(), value.date_only]}
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
    if tag == "$decimal":
        return Decimal(raw)
    if tag == "$moment":
        text, date_only = raw
        return Moment.parse(text, bool(date_only))
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


def exact_number(value: Any) -> str | None:
    """The JSON text that keeps a numeric metric exact when its double would not (a
    bigint beyond 2**53, a numeric(38,10) extreme or sum, a decimal beyond the double
    range); None when the double is the value. Integers are JSON integers, decimals
    ``{"$decimal": "<text>"}``; ``loads`` reads both back exactly."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # beyond 2**53 doubles no longer hold every integer: keep the integer
        return json.dumps(value) if abs(value) > 2**53 else None
    if isinstance(value, Decimal) and value.is_finite():
        if value == value.to_integral_value():
            return exact_number(int(value))
        return None if Decimal(float(value)) == value else dumps({"$decimal": str(value)})
    return None


def as_double(value: Any) -> float | None:
    """A number as the nearest double; None for a finite number beyond its range
    (``exact_number`` keeps it)."""
    result = to_float(value)
    if math.isinf(result) and not (isinstance(value, float) or _infinite_decimal(value)):
        return None
    return result


def _infinite_decimal(value: Any) -> bool:
    return isinstance(value, Decimal) and value.is_infinite()


def display_value(value: Any) -> Any:
    """A plain JSON rendering for people: dates as ISO strings, not tagged objects."""
    if isinstance(value, Moment):
        return value.isoformat()
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
