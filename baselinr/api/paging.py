"""Keyset cursors: an opaque token for "the row after this one" in a list ordered
newest first by (timestamp, id). A cursor that does not decode is bad input (422)."""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    key: str

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.key], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            at, key = json.loads(raw.decode())
            when = dt.datetime.fromisoformat(at)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise BadCursor("cursor: not a cursor returned by this API") from None
        if when.tzinfo is None or not isinstance(key, str) or "\x00" in key:
            raise BadCursor("cursor: not a cursor returned by this API")
        return cls(when.astimezone(dt.timezone.utc), key)
