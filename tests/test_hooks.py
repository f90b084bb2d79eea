"""Hooks built from config, and the webhook against a real local HTTP server that is
fine, slow, failing (500) or not there at all. A hook never fails a profile and never
holds it up beyond its budget."""

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from baselinr.config import BaselinrConfig
from baselinr.events import DataDriftDetected, EventBus, FilteredHook, WebhookHook
from baselinr.runner import ProfileRunner
from baselinr.storage import Storage
from baselinr.storage.schema import events
from tests.support.drift_data import config_for, orders_rows, write_orders

MakeConfig = Callable[..., BaselinrConfig]


class Endpoint:
    """A webhook receiver on 127.0.0.1: ``mode`` is ok, slow or error."""

    def __init__(self, mode: str = "ok", delay: float = 2.0) -> None:
        self.mode, self.delay = mode, delay
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.headers: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.requests += 1
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                endpoint.headers.append(dict(self.headers))
                if endpoint.mode == "slow":
                    time.sleep(endpoint.delay)
                if endpoint.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                endpoint.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Callable[..., Endpoint]]:
    made: list[Endpoint] = []

    def make(mode: str = "ok", delay: float = 2.0) -> Endpoint:
        made.append(Endpoint(mode, delay))
        return made[-1]

    yield make
    for e in made:
        e.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens here: connection refused


def webhook_of(runner: ProfileRunner) -> WebhookHook:
    for hook in runner.context.bus.hooks:
        inner = hook.hook if isinstance(hook, FilteredHook) else hook
        if isinstance(inner, WebhookHook):
            return inner
    raise AssertionError("no webhook hook on the bus")


def webhook_config(
    make_config: MakeConfig, engine: sa.Engine, url: str, **webhook: Any
) -> BaselinrConfig:
    spec = {"type": "webhook", "url": url, "backoff_seconds": 0.01, **webhook}
    return config_for(make_config, engine, hooks={"hooks": [spec]})


def test_webhook_delivers_drift_events(
    sqlite_engine: sa.Engine, make_config: MakeConfig, endpoint: Callable[..., Endpoint]
) -> None:
    server = endpoint("ok")
    config = webhook_config(
        make_config, sqlite_engine, server.url, headers={"X-Token": "abc"}, min_severity="low"
    )
    runner = ProfileRunner(config)
    write_orders(sqlite_engine, orders_rows())
    runner.profile()
    write_orders(sqlite_engine, orders_rows(null_every=5))
    (outcome,) = runner.profile().outcomes
    runner.context.close()  # drains the queue
    assert outcome.drift is not None and outcome.drift.findings
    kinds = {b["event_type"] for b in server.bodies}
    assert kinds == {"DataDriftDetected"}  # the default filter keeps profiling chatter out
    assert len(server.bodies) == len(outcome.drift.findings)
    nulls = next(b for b in server.bodies if b["metric_name"] == "null_ratio")
    assert nulls["column_name"] == "amount" and nulls["severity"] == "medium"
    assert nulls["baseline_value"] == 0.0 and nulls["source"] == "baselinr"
    assert nulls["text"].startswith("[medium] drift in main.orders.amount: null_ratio")
    assert isinstance(nulls["created_at"], str) and nulls["run_id"] == outcome.run_id
    assert server.headers[0]["X-Token"] == "abc"
    assert server.headers[0]["Content-Type"] == "application/json"


def test_webhook_500_is_retried_a_bounded_number_of_times(
    sqlite_engine: sa.Engine,
    make_config: MakeConfig,
    endpoint: Callable[..., Endpoint],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = endpoint("error")
    config = webhook_config(
        make_config, sqlite_engine, server.url, retries=2, event_types=["ProfilingCompleted"]
    )
    write_orders(sqlite_engine, orders_rows())
    runner = ProfileRunner(config)
    with caplog.at_level(logging.WARNING, logger="baselinr.events.webhook"):
        (outcome,) = runner.profile().outcomes
        hook = webhook_of(runner)
        runner.context.close()
    assert outcome.status == "completed"
    assert server.requests == 3  # one try and two retries, then it gives up
    assert (hook.delivered, hook.failed, hook.attempts) == (0, 1, 3)
    assert "not delivered after 3 attempt(s): HTTP 500" in caplog.text
    assert "secret-token" not in caplog.text  # the URL's secret part is never logged


def test_webhook_refused_connection(
    sqlite_engine: sa.Engine, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    config = webhook_config(
        make_config,
        sqlite_engine,
        closed_port_url(),
        retries=1,
        event_types=["ProfilingStarted", "ProfilingCompleted"],
    )
    write_orders(sqlite_engine, orders_rows())
    runner = ProfileRunner(config)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="baselinr.events.webhook"):
        (outcome,) = runner.profile().outcomes
        hook = webhook_of(runner)
        runner.context.close()
    assert outcome.status == "completed"
    assert time.monotonic() - started < 5
    assert (hook.delivered, hook.failed, hook.attempts) == (0, 2, 4)
    assert "ConnectionRefusedError" in caplog.text


def test_slow_webhook_never_holds_up_a_profile(
    sqlite_engine: sa.Engine,
    make_config: MakeConfig,
    endpoint: Callable[..., Endpoint],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = endpoint("slow", delay=3.0)
    config = webhook_config(
        make_config,
        sqlite_engine,
        server.url,
        timeout_seconds=0.3,
        retries=1,
        drain_timeout_seconds=1.0,
        event_types=["ProfilingStarted", "ProfilingCompleted"],
    )
    write_orders(sqlite_engine, orders_rows())
    runner = ProfileRunner(config)
    _ = runner.context.storage
    with caplog.at_level(logging.WARNING, logger="baselinr.events.webhook"):
        started = time.monotonic()
        (outcome,) = runner.profile().outcomes
        profiled = time.monotonic() - started
        hook = webhook_of(runner)
        closing = time.monotonic()
        runner.context.close()
        closed = time.monotonic() - closing
    assert outcome.status == "completed"
    assert profiled < 0.3 * 2  # the profile did not wait for a single POST
    assert closed <= 1.0 + 0.5  # shutdown waited at most the drain budget
    assert hook.delivered == 0
    assert hook.attempts <= 4 and server.requests <= 4  # bounded: 2 events x 2 attempts
    assert "webhook http://127.0.0.1" in caplog.text


def test_webhook_queue_full_drops_without_blocking(endpoint: Callable[..., Endpoint]) -> None:
    server = endpoint("slow", delay=1.0)
    hook = WebhookHook(
        server.url, timeout_seconds=2, retries=0, max_queue=1, drain_timeout_seconds=0.2
    )
    started = time.monotonic()
    for _ in range(20):
        hook.handle(DataDriftDetected(table_name="t", severity="high"))
    assert time.monotonic() - started < 0.5
    hook.close()
    assert hook.dropped >= 17  # one in flight, one queued, the rest dropped
    assert time.monotonic() - started < 2


# --- the bus and the other hooks ------------------------------------------------------------


class Boom:
    def handle(self, event: Any) -> None:
        raise RuntimeError("boom")


def test_failing_hook_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Keep:
        def handle(self, event: Any) -> None:
            seen.append(event.event_type)

    bus = EventBus([Boom(), Keep()])
    with caplog.at_level(logging.WARNING):
        bus.emit(DataDriftDetected(table_name="t"))
    assert seen == ["DataDriftDetected"]
    assert "hook Boom failed on DataDriftDetected: boom" in caplog.text


def test_filtered_hook() -> None:
    seen: list[str] = []

    class Keep:
        def handle(self, event: Any) -> None:
            seen.append(f"{event.event_type}:{getattr(event, 'severity', '-')}")

    hook = FilteredHook(Keep(), ["DataDriftDetected"], "medium")
    for severity in ("low", "medium", "high"):
        hook.handle(DataDriftDetected(severity=severity))
    assert seen == ["DataDriftDetected:medium", "DataDriftDetected:high"]


def _stored(config: BaselinrConfig) -> list[str]:
    storage = Storage.open(config.storage)
    try:
        with storage.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(events.c.event_type))]
    finally:
        storage.engine.dispose()


def test_sql_hook_on_by_default_and_logging_hook(
    sqlite_engine: sa.Engine, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    write_orders(sqlite_engine, orders_rows())
    config = config_for(make_config, sqlite_engine, hooks={"hooks": [{"type": "logging"}]})
    runner = ProfileRunner(config)
    with caplog.at_level(logging.INFO, logger="baselinr.events"):
        runner.profile()
        write_orders(sqlite_engine, orders_rows(null_every=5))
        runner.profile()
    runner.context.close()
    assert sorted(set(_stored(config))) == [
        "DataDriftDetected",
        "ProfilingCompleted",
        "ProfilingStarted",
    ]
    assert "[medium] drift in main.orders.amount: null_ratio 0.0% -> 20.0%" in caplog.text


def test_sql_hook_can_be_turned_off(sqlite_engine: sa.Engine, make_config: MakeConfig) -> None:
    write_orders(sqlite_engine, orders_rows())
    config = config_for(
        make_config, sqlite_engine, hooks={"hooks": [{"type": "sql", "enabled": False}]}
    )
    runner = ProfileRunner(config)
    (outcome,) = runner.profile().outcomes
    runner.context.close()
    assert outcome.status == "completed"
    assert _stored(config) == []
