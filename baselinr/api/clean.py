"""What every value the API returns goes through: strings are redacted (the one
redaction function, ``baselinr.redact.redact``), non-finite floats become strings
(JSON has no NaN), nested JSON is cleaned throughout."""

import math
from collections.abc import Mapping
from typing import Any

from baselinr.redact import redact


def clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def clean_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row with its strings redacted and its JSON made strict."""
    return {k: clean(v) for k, v in row.items()}
