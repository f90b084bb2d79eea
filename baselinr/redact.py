"""The one redaction function: every message Baselinr prints, stores, emits, posts or
hands to Dagster or the API goes through ``redact`` first.

What it removes: the password of a URL's userinfo (``scheme://user:pw@host``),
credential-looking query parameters (``?password=…``, ``token``, ``secret``, ``key``
…), and every secret value registered with ``register_secrets`` (the loader registers
the passwords and URLs of each config it loads), wherever they appear in the text.
"""

import re
import threading
from collections.abc import Iterable

MASK = "***"
_MIN_SECRET = 3  # shorter values would mask ordinary words

# user:password@ in any URL-like text (the user part stays: it helps debugging)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)(?P<secret>[^@\s/]+)@")
# credential-looking parameters in query strings and key=value text
_PARAM = re.compile(
    r"(?P<head>(?:^|[?&;\s,(\"'])(?:[A-Za-z_]*(?:password|passwd|pwd|secret|token|api[_-]?key"
    r"|access[_-]?key|private[_-]?key|credentials?)[A-Za-z_]*)\s*[=:]\s*)(?P<secret>[^&\s,;)\"']+)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (passwords, tokens) so that ``redact`` masks them
    wherever they appear, e.g. inside a driver's error message."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= _MIN_SECRET)


def redact(text: str) -> str:
    """``text`` with every credential masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _PARAM.sub(lambda m: f"{m.group('head')}{MASK}", text)
