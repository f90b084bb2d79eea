"""Severity levels, ordered: ``none`` < ``low`` < ``medium`` < ``high``."""

from collections.abc import Iterable

SEVERITIES: tuple[str, ...] = ("none", "low", "medium", "high")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}


def rank(severity: str) -> int:
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r}; known: {', '.join(SEVERITIES)}") from None


def highest(severities: Iterable[str]) -> str:
    """The most severe of ``severities`` (``none`` when empty)."""
    return max(severities, key=rank, default="none")


def at_least(severity: str, level: str) -> bool:
    """True when ``severity`` is ``level`` or worse (``none`` never is)."""
    return severity != "none" and rank(severity) >= rank(level)
