"""The one redaction function: every message Baselinr prints, stores, emits, posts or
hands to Dagster or the API goes through ``redact`` first.

What it removes: the password of a URL's userinfo (``scheme://user:pw@host``),
credential-looking parameters (``?password=…``, ``token``, ``secret``, ``key`` …, in
query strings, ``key=value`` text and JSON), bearer/basic credentials, and every secret
value registered with ``register_secrets`` (the loader registers the passwords, URL
credentials and header values of each config it loads), wherever they appear in the
text. ``redact_data`` applies it to every string inside a JSON-like value;
``url_secrets`` finds the credentials in a text that holds URLs.
"""

import re
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
_MIN_SECRET = 3  # shorter values would mask ordinary words

# user:password@ in any URL-like text (the user part stays: it helps debugging). The
# password runs to the last "@" before the host, so "u:p@ss@host" loses all of "p@ss".
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)(?P<secret>[^\s/]+)@")
_CREDENTIAL_KEY = (
    r"[A-Za-z_]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?)[A-Za-z_]*"
)
# credential-looking parameters in query strings, key=value text and JSON
_PARAM = re.compile(
    rf"(?P<head>(?:^|[?&;\s,({{\"'])(?:{_CREDENTIAL_KEY})[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<secret>[^&\s,;)\"'}]+)",
    re.IGNORECASE,
)
# HTTP authorization values: "Bearer <token>", "Basic <base64>"
_AUTH = re.compile(r"(?P<head>\b(?:Bearer|Basic|Token)\s+)(?P<secret>[A-Za-z0-9._~+/=\-]{8,})")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+")

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: list[str] = []


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (passwords, tokens) so that ``redact`` masks them
    wherever they appear, e.g. inside a driver's error message. A value is also
    remembered as it reads percent-decoded and percent-encoded."""
    found = set()
    for value in values:
        if not value:
            continue
        found |= {value, urllib.parse.unquote(value), urllib.parse.quote(value, safe="")}
    with _lock:
        new = {v for v in found if len(v) >= _MIN_SECRET} - _secrets
        if new:
            _secrets.update(new)
            _ordered[:] = sorted(_secrets, key=len, reverse=True)


def url_secrets(text: str) -> set[str]:
    """The credentials in the URLs a text holds: userinfo passwords and the values of
    credential-looking query parameters."""
    found: set[str] = set()
    for match in _URL.finditer(text):
        url = match.group(0)
        try:
            parts = urllib.parse.urlsplit(url)
            if parts.password:
                found.add(parts.password)
            found.update(
                value
                for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=False)
                if re.fullmatch(_CREDENTIAL_KEY, key, re.IGNORECASE)
            )
        except ValueError:  # not a URL after all (a bad port, brackets)
            pass
        found.update(m.group("secret") for m in _USERINFO.finditer(url))
    return found


def redact(text: str) -> str:
    """``text`` with every credential masked."""
    if not text:
        return text
    with _lock:
        known = list(_ordered)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _AUTH.sub(lambda m: f"{m.group('head')}{MASK}", text)
    return _PARAM.sub(lambda m: f"{m.group('head')}{MASK}", text)


def redact_data(value: Any) -> Any:
    """``value`` (dicts, lists, tuples, strings, anything else left as is) with every
    string redacted; mapping keys too."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v) for v in value)
    return value
