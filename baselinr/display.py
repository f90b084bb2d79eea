"""Text shown to people: names and messages from the warehouse or a config are
untrusted. ``printable`` makes any text safe to put on a terminal or in a log line:
control characters (escape sequences such as ``ESC[2J``, carriage returns, newlines,
NUL), bidirectional overrides and other invisible format characters become visible
escapes (``\\x1b``, ``\\n``, ``\\u202e``), and every secret is masked (``redact``).
The CLI adds markup escaping on top (``cli.shown``)."""

import unicodedata

from baselinr.redact import redact

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls and DEL; Cf: format characters (bidi overrides, zero-width
    # joiners) that can make a name read as another; Zl/Zp: line and paragraph breaks
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` redacted, with every character that could move the cursor, change
    colours or hide itself shown as an escape. ``keep_newlines``: for multi-line text
    (a traceback), newlines stay."""
    text = redact(str(text))
    if text.isprintable():
        return text
    return "".join(
        _visible(ch) if _unsafe(ch) and not (keep_newlines and ch == "\n") else ch for ch in text
    )
