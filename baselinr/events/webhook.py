"""The ``webhook`` hook: every event as a JSON POST, delivered in the background.

Why a thread and a bounded queue: events are emitted from the threads that profile
tables. Posting synchronously would add up to ``timeout x attempts`` to a table's
profile for every event whenever the endpoint is slow or down — a dead chat webhook
would stretch a 200-table run by minutes. Here ``handle`` only enqueues (and drops,
with a warning, when the queue is full), one daemon thread posts with a per-request
timeout and a bounded number of retries, and ``close`` waits for the queue to drain
for at most ``drain_timeout_seconds``. A profile is never failed and never waits on
the endpoint; at shutdown the wait is bounded.
"""

import atexit
import base64
import contextlib
import datetime as dt
import http.client
import json
import math
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from baselinr.events.hooks import describe
from baselinr.events.types import Event
from baselinr.logs import get_logger

log = get_logger("baselinr.events.webhook")

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def webhook_body(event: Event) -> dict[str, Any]:
    """The JSON object posted for an event: its fields, plus ``text`` (one line for
    chat tools such as Slack) and ``source``."""
    body: dict[str, Any] = _plain(event.to_dict())
    body["text"] = describe(event)
    body["source"] = "baselinr"
    return body


def redacted(url: str) -> str:
    """The URL without credentials, path and query: chat webhook URLs carry their
    secret there."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "(invalid webhook URL)"
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}/..."


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``https://user:pw@host/x`` -> (``https://host/x``, a Basic ``Authorization``
    header): urllib cannot send userinfo itself."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, {}
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    plain = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return plain, {"Authorization": f"Basic {token}"}


class WebhookHook:
    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float = 5.0,
        retries: int = 2,
        backoff_seconds: float = 0.5,
        drain_timeout_seconds: float = 10.0,
        max_queue: int = 1000,
    ) -> None:
        self.url = url
        self._target, basic = split_credentials(url)
        given = {k.lower() for k in headers or {}}
        self.headers = {
            "Content-Type": "application/json",
            **({} if "authorization" in given else basic),
            **(headers or {}),
        }
        self.timeout = timeout_seconds
        self.retries = retries
        self.backoff = backoff_seconds
        self.drain_timeout = drain_timeout_seconds
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._deadline: float | None = None  # set by close(): stop trying after it
        self._closed = False
        # Counters (read by tests and the closing log line).
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.attempts = 0

    def handle(self, event: Event) -> None:
        if self._closed:
            self.dropped += 1
            return
        self._start()
        try:
            self._queue.put_nowait(webhook_body(event))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning(
                    "webhook %s: queue full, %d event(s) dropped so far",
                    redacted(self.url),
                    self.dropped,
                )

    def close(self) -> None:
        """Wait (at most ``drain_timeout_seconds``) for queued events to be sent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        self._deadline = time.monotonic() + self.drain_timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=self.drain_timeout)
        thread.join(max(0.0, self._deadline - time.monotonic()))
        if thread.is_alive():
            left = self._queue.qsize()
            log.warning(
                "webhook %s: gave up after %.1fs with %d event(s) undelivered",
                redacted(self.url),
                self.drain_timeout,
                left,
            )

    # --- the delivery thread ---------------------------------------------------------
    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="baselinr-webhook", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)

    def _work(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            if self._out_of_time():
                self.failed += 1
                continue
            try:
                self._deliver(body)
            except Exception as exc:  # the thread must outlive any endpoint
                self.failed += 1
                log.warning(
                    "webhook %s: %s not delivered: %s",
                    redacted(self.url),
                    body.get("event_type"),
                    type(exc).__name__,
                )

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _remaining(self) -> float:
        if self._deadline is None:
            return math.inf
        return self._deadline - time.monotonic()

    def _deliver(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        problem = ""
        attempts = self.retries + 1
        tried = 0
        for attempt in range(attempts):
            timeout = min(self.timeout, self._remaining())
            if timeout <= 0:
                problem += " (shutdown budget spent)"
                break
            tried += 1
            self.attempts += 1
            request = urllib.request.Request(self._target, data=data, headers=self.headers)
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    response.read(1024)
                self.delivered += 1
                return
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                if exc.code not in _RETRYABLE_STATUS:
                    break
            except http.client.HTTPException as exc:
                # not HTTP at all (a wrong port, a proxy's garbage); never echo its bytes
                problem = f"invalid HTTP response ({type(exc).__name__})"
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"{type(reason).__name__}: {reason}"
            except ValueError as exc:  # a URL urllib cannot use
                problem = f"{type(exc).__name__}: unusable URL"
                break
            if attempt + 1 < attempts:
                delay = min(self.backoff * (2**attempt), self._remaining())
                if delay > 0:
                    time.sleep(delay)
        self.failed += 1
        log.warning(
            "webhook %s: %s not delivered after %d attempt(s): %s",
            redacted(self.url),
            body.get("event_type"),
            tried,
            problem,
        )
