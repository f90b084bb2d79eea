"""Webhooks that sleep, answer 500, refuse connections, or answer garbage that is not
HTTP: every event is attempted, the extra time is bounded by the timeouts and the
drain budget, the delivery thread survives, and nothing prints a traceback or the
server's bytes. A port that is not a number is a config error; ``user:pass@`` URLs
deliver with Basic auth."""

import base64
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baselinr.events import ProfilingFailed, WebhookHook
from tests.faults.conftest import cli, write_config
from tests.test_hooks import Endpoint

GARBAGE = b"\x00\xff\x1b[2J SSH-2.0-not-http \xfe\r\n\r\n"


class RawServer:
    """A TCP server that answers every connection with ``GARBAGE`` and closes it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.recv(65536)
                conn.sendall(GARBAGE)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Exceptions that escape any thread (a dying delivery thread)."""
    seen: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    return seen


@pytest.fixture
def servers() -> Iterator[dict[str, str]]:
    slow, failing, raw = Endpoint("slow", delay=3.0), Endpoint("error"), RawServer()
    yield {
        "sleeps": slow.url,
        "500s": failing.url,
        "refuses": f"http://127.0.0.1:{_closed_port()}/hook",
        "garbage": f"http://127.0.0.1:{raw.port}/hook",
    }
    for server in (slow, failing):
        server.close()
    raw.close()


EVENTS = 4
TIMEOUT, RETRIES, DRAIN = 0.5, 1, 10.0


@pytest.mark.parametrize("kind", ["sleeps", "500s", "refuses", "garbage"])
def test_a_bad_endpoint_costs_bounded_time_and_every_event_is_attempted(
    kind: str,
    servers: dict[str, str],
    thread_errors: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = WebhookHook(
        servers[kind],
        timeout_seconds=TIMEOUT,
        retries=RETRIES,
        backoff_seconds=0.05,
        drain_timeout_seconds=DRAIN,
    )
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    for k in range(EVENTS):
        hook.handle(ProfilingFailed(table_name=f"t{k}", reason="boom"))
    emitted = time.monotonic() - started
    hook.close()
    total = time.monotonic() - started
    assert emitted < 0.5  # emitting only enqueues
    # each attempt is bounded by its timeout (plus backoff); closing by the drain budget
    assert total <= min(DRAIN, EVENTS * (RETRIES + 1) * (TIMEOUT + 0.2)) + 2.0
    assert hook.attempts == EVENTS * (RETRIES + 1)  # every event, every retry
    assert hook.delivered == 0 and hook.failed == EVENTS
    assert not thread_errors  # the delivery thread never died
    text = caplog.text
    assert "Traceback" not in text and "SSH-2.0" not in text and "\x1b" not in text
    assert text.count("not delivered after 2 attempt(s)") == EVENTS
    assert "/hook" not in text  # the URL's path (chat tools' secret) is never logged


def test_a_profile_with_four_bad_webhooks_is_not_held_up(
    servers: dict[str, str], tmp_path: Path, thread_errors: list[Any]
) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a integer)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2)")
    engine.dispose()
    hooks = [
        {"type": "webhook", "url": url, "timeout_seconds": TIMEOUT, "retries": RETRIES,
         "backoff_seconds": 0.05, "drain_timeout_seconds": 3,
         "event_types": ["ProfilingStarted", "ProfilingCompleted"]}
        for url in servers.values()
    ]  # fmt: skip
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={"tables": [{"table": "t"}]},
        hooks={"hooks": hooks},
    )
    started = time.monotonic()
    result = cli("profile", "-c", str(config))
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and not thread_errors
    # the drain budget (3 s) for the four hooks, closed one after another, at most
    assert took < 4 * 3 + 10


def test_a_webhook_port_that_is_not_a_number_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        hooks={"hooks": [{"type": "webhook", "url": "https://hooks.example:abc/T0K3N-path"}]},
    )
    result = cli("plan", "-c", str(config))
    assert result.exit_code == 2
    assert "port must be a number" in result.output and "T0K3N" not in result.output


def test_userinfo_in_a_webhook_url_becomes_basic_auth(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = Endpoint()
    try:
        url = endpoint.url.replace("http://", "http://bot:Hook-Pa55%40word@")
        hook = WebhookHook(url, timeout_seconds=2, retries=0)
        hook.handle(ProfilingFailed(table_name="t", reason="x"))
        hook.close()
    finally:
        endpoint.close()
    assert hook.delivered == 1
    auth = endpoint.headers[0]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == "bot:Hook-Pa55@word"
    assert "Pa55" not in caplog.text
