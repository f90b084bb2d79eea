"""Canonical values: how a profile holds and prints what comes out of a warehouse, the
same way on every engine.

- **Dates and timestamps** are ``Moment``s: microseconds since 1970-01-01T00:00:00 UTC
  in the proleptic Gregorian calendar, any year, or +-infinity. Python's ``datetime``
  holds years 1..9999 and no infinity; Postgres and DuckDB hold both (a BC date, a
  ``'infinity'`` valid-to date), so a profile must not depend on it. Timestamps without
  a time zone are taken as UTC. Printed as ISO 8601: ``2013-01-01`` (a date),
  ``2013-01-01T10:00:00+00:00`` (a timestamp), ``-0043-03-15`` (44 BC: astronomical
  year numbering, 1 BC is year 0), ``+10000-01-01``, ``infinity``, ``-infinity``.
- **Numbers as text** (top values): the shortest decimal that reads back as the same
  value, without trailing zeros (``-5``, ``0.1``, ``12.5``, ``1e-07``), ``NaN``,
  ``Infinity``, ``-Infinity``; an integral float prints like the integer.
- **Booleans** as ``true`` / ``false`` (SQLite stores them as 1 and 0).
"""

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_MICROS_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01 (inverse of the above)."""
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year_of_era + era * 400 + (month <= 2), month, day


@dataclass(frozen=True, order=True)
class Moment:
    """A date or a UTC timestamp of any year, or +-infinity (``micros`` +-inf).
    Ordered in time; ``date_only`` only changes how it prints."""

    micros: int | float
    date_only: bool = field(default=False, compare=False)

    @property
    def finite(self) -> bool:
        return not isinstance(self.micros, float)

    @classmethod
    def infinity(cls, negative: bool, date_only: bool) -> "Moment":
        return cls(-math.inf if negative else math.inf, date_only)

    @classmethod
    def from_python(cls, value: dt.date, date_only: bool | None = None) -> "Moment":
        """From a ``date`` or ``datetime`` (naive means UTC)."""
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
            delta = aware - _EPOCH
            micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            return cls(micros, bool(date_only))
        days = days_from_civil(value.year, value.month, value.day)
        return cls(days * _MICROS_PER_DAY, True if date_only is None else date_only)

    @classmethod
    def from_epoch(cls, seconds: Any, date_only: bool) -> "Moment | None":
        """From seconds since the epoch as exact text or a number (Postgres
        ``extract(epoch ...)``, which says ``Infinity`` for infinite values)."""
        try:
            exact = Decimal(str(seconds).strip())
        except InvalidOperation:
            return None
        if exact.is_nan():
            return None
        if exact.is_infinite():
            return cls.infinity(exact < 0, date_only)
        return cls(int((exact * 1_000_000).to_integral_value()), date_only)

    @classmethod
    def from_micros(cls, micros: Any, date_only: bool) -> "Moment | None":
        """From microseconds since the epoch, or ``infinity`` / ``-infinity`` (DuckDB)."""
        text = str(micros).strip().lower()
        if text in ("infinity", "-infinity"):
            return cls.infinity(text.startswith("-"), date_only)
        try:
            return cls(int(text), date_only)
        except ValueError:
            return None

    @classmethod
    def parse(cls, text: str, date_only: bool) -> "Moment | None":
        """ISO 8601 text as SQLite holds it (``2013-01-01 10:00:00``, a ``T``, a
        fraction, ``Z`` or an offset, an expanded year such as ``-0043``); None for
        text that is not a date."""
        lowered = text.strip().lower()
        if lowered in ("infinity", "+infinity", "-infinity"):
            return cls.infinity(lowered.startswith("-"), date_only)
        match = _ISO.fullmatch(text.strip())
        if match is None:
            return None
        g = match.groupdict()
        year, month, day = int(g["year"]), int(g["month"]), int(g["day"])
        if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
            return None
        hour, minute = int(g["hour"] or 0), int(g["minute"] or 0)
        second = int(g["second"] or 0)
        if hour > 24 or minute > 59 or second > 60:
            return None
        fraction = (g["fraction"] or "").ljust(6, "0")[:6]
        micros = days_from_civil(year, month, day) * _MICROS_PER_DAY
        micros += ((hour * 60 + minute) * 60 + second) * 1_000_000 + int(fraction or 0)
        zone = g["zone"]
        if zone and zone not in ("Z", "z"):
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[-2:]) if len(zone) > 3 else 0
            micros -= sign * (hours * 60 + minutes) * 60 * 1_000_000
        return cls(micros, date_only)

    def isoformat(self) -> str:
        if not self.finite:
            return "-infinity" if self.micros < 0 else "infinity"
        micros = int(self.micros)
        days, rest = divmod(micros, _MICROS_PER_DAY)
        year, month, day = civil_from_days(days)
        if 0 <= year <= 9999:
            date = f"{year:04d}-{month:02d}-{day:02d}"
        else:
            date = f"{'-' if year < 0 else '+'}{abs(year):04d}-{month:02d}-{day:02d}"
        if self.date_only and rest == 0:
            return date
        seconds, fraction = divmod(rest, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        time = f"{hour:02d}:{minute:02d}:{second:02d}" + (f".{fraction:06d}" if fraction else "")
        return f"{date}T{time}+00:00"

    def to_python(self) -> dt.date | dt.datetime | None:
        """As a ``date`` / aware ``datetime`` when Python can hold it, else None."""
        if not self.finite:
            return None
        try:
            moment = _EPOCH + dt.timedelta(microseconds=int(self.micros))
        except OverflowError:
            return None
        return moment.date() if self.date_only else moment

    def __str__(self) -> str:
        return self.isoformat()


_ISO = re.compile(
    r"(?P<year>[+-]?\d{4,6})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


# --- numbers -------------------------------------------------------------------------


def to_float(value: Any) -> float:
    """A number as a double; +-infinity beyond the double range (``float`` raises for
    such integers)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def exact_decimal(value: int | float | Decimal) -> Decimal:
    """The shortest decimal that reads back as ``value`` (exact for int and Decimal)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def number_text(value: int | float | Decimal) -> str:
    """A number in its canonical text: the shortest round-trip decimal, no trailing
    zeros, an exponent only beyond 1e21 or below 1e-6 (as JavaScript prints)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    exact = exact_decimal(value)
    if exact.is_nan():
        return "NaN"
    if exact.is_infinite():
        return "Infinity" if exact > 0 else "-Infinity"
    if exact == exact.to_integral_value() and abs(exact) < Decimal(10) ** 21:
        return str(int(exact))
    exact = exact.normalize()
    if -7 < exact.adjusted() < 21:
        return format(exact, "f")
    digits, exponent = format(exact, "e").split("e")
    return f"{digits}e{int(exponent):+03d}"


def bool_text(value: Any) -> str:
    if isinstance(value, str):
        return "true" if value.strip().lower() in ("true", "t", "1", "yes") else "false"
    return "true" if value else "false"
