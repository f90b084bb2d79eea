"""Table and column patterns — wildcards (``fct_*``) and regexes (``pattern_type:
regex``) — matched by RE2, whose running time is linear in the name whatever the
pattern: ``(a+)+$`` against a long table name cannot hang planning, profiling or the
sensor as it does with backtracking engines. RE2 has no backreferences or lookaround;
a pattern that uses them (or needs more memory than allowed) is a config error.
"""

from functools import lru_cache
from typing import Literal

import re2

PatternType = Literal["wildcard", "regex"]
# compiled programs are bounded: a pattern like (a{999}){999} is refused, not built
_MAX_MEMORY = 8 << 20


class PatternError(ValueError):
    """A pattern RE2 cannot compile (the message says why)."""


class Matcher:
    """A compiled pattern; ``matches(name)`` is true when the whole name matches."""

    def __init__(self, pattern: str, kind: PatternType) -> None:
        self.pattern, self.kind = pattern, kind
        regex = wildcard_regex(pattern) if kind == "wildcard" else pattern
        options = re2.Options()
        options.log_errors = False  # RE2 would print parse errors to stderr itself
        options.max_mem = _MAX_MEMORY
        try:
            self._regex = re2.compile(regex, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise PatternError(
                f"{reason} (regexes are matched by RE2: no backreferences or lookaround)"
            ) from None

    def matches(self, name: str) -> bool:
        return self._regex.fullmatch(name) is not None


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str, kind: PatternType = "wildcard") -> Matcher:
    """The matcher for a pattern (cached); ``PatternError`` if it cannot compile."""
    return Matcher(pattern, kind)


def matches_any(name: str, patterns: list[str], kind: PatternType = "wildcard") -> bool:
    return any(compile_pattern(p, kind).matches(name) for p in patterns)


def wildcard_regex(pattern: str) -> str:
    """A shell wildcard as a regex (case-sensitive, like ``fnmatch.fnmatchcase``):
    ``*`` any run, ``?`` one character, ``[abc]`` / ``[!abc]`` / ``[a-z]`` classes;
    everything else literal."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if not out or out[-1] != ".*":  # ** is *
                out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = _class_end(pattern, i)
            if end is None:
                out.append(_literal("["))
                continue
            out.append(_char_class(pattern[i:end]))
            i = end + 1
        else:
            out.append(_literal(ch))
    return "(?s:" + "".join(out) + ")"


def _class_end(pattern: str, start: int) -> int | None:
    """Index of the ``]`` closing a class opened before ``start`` (a ``]`` right after
    ``[`` or ``[!`` is literal), or None when the class never closes."""
    j = start
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    return end if end >= 0 else None


def _char_class(body: str) -> str:
    """``[...]`` of a wildcard: single characters and ``a-z`` ranges (reversed ranges
    match nothing, as in ``fnmatch``), every character as a hex escape."""
    negate = body.startswith("!")
    body = body[1:] if negate else body
    items, k = [], 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low <= high:
                items.append(f"{_hex(low)}-{_hex(high)}")
            k += 3
        else:
            items.append(_hex(body[k]))
            k += 1
    if not items:
        return "." if negate else r"[^\x{0}-\x{10ffff}]"  # any / no character
    return f"[{'^' if negate else ''}{''.join(items)}]"


def _hex(ch: str) -> str:
    return f"\\x{{{ord(ch):x}}}"


def _literal(ch: str) -> str:
    # ASCII punctuation, spaces and controls as hex escapes: always valid in RE2
    return ch if ch.isalnum() or ch == "_" or ord(ch) > 127 else _hex(ch)
