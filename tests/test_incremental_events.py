"""Incremental events reach every hook and ``baselinr_events``, in one transaction
when batched; a failing hook never breaks the others."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from baselinr.events import (
    EventBus,
    ProfileDeferredCostCap,
    ProfileSampledCostCap,
    ProfileSkippedNoChange,
    ProfilingSkipped,
    SQLHook,
)
from baselinr.events.types import Event
from baselinr.storage import Storage
from baselinr.storage.schema import events


class Collect:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def handle(self, event: Event) -> None:
        self.seen.append(event)


class Broken:
    def handle(self, event: Event) -> None:
        raise RuntimeError("endpoint down")

    def handle_many(self, batch: list[Event]) -> None:
        raise RuntimeError("endpoint down")


def test_emit_many_batches_sql_and_survives_broken_hooks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 's.db'}")
    Storage.from_engine(engine)
    collect, statements = Collect(), []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    bus = EventBus([Broken(), SQLHook(engine), collect])
    batch = [
        ProfilingSkipped(
            schema_name="s",
            table_name="t",
            action="skip",
            reason="snapshot_match",
            snapshot_id="pg:1",
            details={"last_run_id": "r1"},
        ),
        ProfileSkippedNoChange(
            schema_name="s", table_name="t", snapshot_id="pg:1", last_run_id="r1"
        ),
        ProfileDeferredCostCap(
            schema_name="s",
            table_name="u",
            reason="cost_cap_rows",
            cost_cap={"limit": "max_rows_scanned"},
        ),
        ProfileSampledCostCap(
            schema_name="s",
            table_name="v",
            run_id="r2",
            reason="cost_cap_bytes",
            sample_fraction=0.01,
        ),
    ]
    bus.emit_many(batch)
    assert collect.seen == batch
    assert len([s for s in statements if s.startswith("INSERT INTO baselinr_events")]) == 1
    assert "endpoint down" in caplog.text
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(sa.select(events).order_by(events.c.event_type)).mappings()
        ]
    assert [r["event_type"] for r in rows] == [
        "ProfilingSkipped",
        "profile_deferred_cost_cap",
        "profile_sampled_cost_cap",
        "profile_skipped_no_change",
    ]
    skipped = rows[0]
    assert (skipped["action"], skipped["reason"], skipped["snapshot_id"]) == (
        "skip",
        "snapshot_match",
        "pg:1",
    )
    assert json.loads(skipped["payload"]) == {"details": {"last_run_id": "r1"}}
    sampled = rows[2]
    assert (sampled["action"], sampled["run_id"]) == ("sample", "r2")
    assert json.loads(sampled["payload"])["sample_fraction"] == 0.01
    bus.emit_many([])  # nothing to do, no error
    engine.dispose()
