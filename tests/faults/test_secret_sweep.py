"""A distinctive password planted in every config position — the password field, URL
userinfo, a URL query parameter, a URL pasted into ``host`` — for the warehouse and
the storage, plus a webhook URL's userinfo and header. Then everything that talks:
every command (text, ``--json``, ``--debug``), a batch whose warehouse goes away
after planning (errors naming the URL), the sensor with the warehouse and with the
storage down, a Dagster materialization that fails. The password is grepped in all
output, every log line, the storage tables, the webhook bodies and the Dagster
instance's event log: it must appear nowhere."""

import json
import logging
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from baselinr.config import load_config
from baselinr.runner import ProfileRunner
from baselinr_dagster import baselinr_plan_sensor, build_baselinr_definitions
from tests.faults.conftest import Victim, cli, write_config
from tests.test_hooks import Endpoint

SECRET = "Zq9-Pl4nt3d-S3cr3t"
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("fresh_dagster_cache")]


def _position(kind: str, url: str) -> dict[str, Any]:
    """A connection block for ``url`` (trust auth: any password connects) with the
    secret in the position ``kind``."""
    u = sa.make_url(url)
    if kind == "field":
        return {"type": "postgres", "host": u.host, "port": u.port, "database": u.database,
                "username": u.username, "password": SECRET}  # fmt: skip
    if kind == "userinfo":
        return {"url": u.set(password=SECRET).render_as_string(hide_password=False)}
    if kind == "query":
        return {
            "url": u.update_query_dict({"password": SECRET}).render_as_string(hide_password=False)
        }
    raise AssertionError(kind)


def _storage_text(url: str) -> str:
    """Every value of every Baselinr table, as text."""
    engine = sa.create_engine(url)
    try:
        out = []
        with engine.connect() as conn:
            for name in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    out.append(repr(tuple(row)))
        return "\n".join(out)
    finally:
        engine.dispose()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


@pytest.mark.parametrize("kind", ["field", "userinfo", "query"])
def test_the_secret_appears_nowhere(
    kind: str,
    victim: Victim,
    pg_server: Any,
    tmp_path: Path,
    endpoint: Endpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tag = f"{os.getpid()}_{random.randrange(10**6)}"
    warehouse_url = victim.create_database(f"sw{tag}")
    storage_url = pg_server.create_database(f"ss{tag}")
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id integer, amount double precision)"))
        conn.execute(sa.text("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 50) g"))
    engine.dispose()
    hook_url = endpoint.url.replace("http://", f"http://bot:{SECRET}@")
    config = write_config(
        tmp_path / "baselinr.yml",
        source=_position(kind, warehouse_url),
        storage={"connection": _position(kind, storage_url)},
        profiling={"tables": [{"table": "orders"}]},
        incremental={"enabled": True},
        hooks={"hooks": [
            {"type": "webhook", "url": hook_url, "headers": {"X-Token": SECRET},
             "event_types": None, "min_severity": "low", "retries": 0, "timeout_seconds": 2},
            {"type": "logging", "level": "INFO"},
        ]},
    )  # fmt: skip
    output: list[str] = []

    def run(*args: str) -> None:
        # --debug prints tracebacks: the places a secret would hide in an exception
        for extra in ([], ["--debug"]) if args[0] in ("profile", "plan") else ([],):
            result = cli(*extra, *args)
            output.append(result.output)

    for command in ("plan", "tables", "profile", "status", "drift"):
        run(command, "-c", str(config))
        run(command, "-c", str(config), "--json")

    # the warehouse goes away after planning: every table fails with a message that
    # names the warehouse's URL
    loaded = load_config(config)
    runner = ProfileRunner(loaded)
    try:
        plan = runner.plan(force_full=[0])
        victim.stop()
        result = runner.execute(plan)
        assert [o.status for o in result.outcomes] == ["failed"]
        output.append(str([o.error for o in result.outcomes]))
        run("profile", "-c", str(config))  # warehouse down from the start
        run("status", "-c", str(config), "--json")

        # Dagster: a failing materialization and sensor ticks, warehouse then storage down
        defs = build_baselinr_definitions(config)
        with dg.instance_for_test() as instance:
            job = defs.resolve_job_def("baselinr_profile_all")
            outcome = job.execute_in_process(instance=instance, raise_on_error=False)
            assert not outcome.success
            sensor = baselinr_plan_sensor(config)
            tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
            output.append(tick.skip_message or "")
            assert "unreachable" in (tick.skip_message or "")
            events = [str(e) for e in instance.all_logs(outcome.run_id)]
            assert any("STEP_FAILURE" in e for e in events)
    finally:
        runner.context.close()
        victim.start()

    # storage down for the sensor (the warehouse is back)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = write_config(
        tmp_path / "down.yml",
        source=_position(kind, warehouse_url),
        storage={"connection": _position(kind, sa.make_url(storage_url).set(port=closed).render_as_string(hide_password=False))},
        profiling={"tables": [{"table": "orders"}]},
        incremental={"enabled": True},
    )  # fmt: skip
    with dg.instance_for_test() as instance:
        tick = baselinr_plan_sensor(down).evaluate_tick(dg.build_sensor_context(instance=instance))
    output.append(tick.skip_message or "")
    assert "result storage unavailable" in (tick.skip_message or "")
    run("profile", "-c", str(down))

    everything = "\n".join(output) + "\n".join(events) + caplog.text
    assert SECRET not in everything
    assert SECRET not in _storage_text(storage_url)
    assert endpoint.bodies and SECRET not in json.dumps(endpoint.bodies)
    failed = [b for b in endpoint.bodies if b["event_type"] == "ProfilingFailed"]
    assert failed and all("***" in b["reason"] or "warehouse" in b["reason"] for b in failed)


def test_a_url_pasted_into_host_is_refused_without_echo(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "baselinr.yml",
        source={"type": "postgres", "host": f"postgresql://bob:{SECRET}@db.example/x",
                "database": "x"},
        storage={"connection": {"type": "postgres", "database": "s",
                                "host": f"db.example/?password={SECRET}"}},
    )  # fmt: skip
    for args in (["plan"], ["--debug", "plan"], ["profile", "--json"]):
        result = cli(*args, "-c", str(config))
        assert result.exit_code == 2
        assert "'host' must be a host name or address" in result.output
        assert SECRET not in result.output
