"""Three ``baselinr profile`` processes at once on one config, on fresh storage (they
race to create the tables too), with Postgres and with SQLite storage: all three
finish, every run is completed, and storage keeps its invariants."""

import os
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import check_invariants, rows_of, spawn, write_config


@pytest.mark.postgres
@pytest.mark.parametrize("storage_kind", ["sqlite", "postgres"])
def test_three_concurrent_profiles(pg_server: object, tmp_path: Path, storage_kind: str) -> None:
    tag = f"{os.getpid()}_{random.randrange(10**6)}"
    warehouse = sa.create_engine(pg_server.create_database(f"cw{tag}"))  # type: ignore[attr-defined]
    with warehouse.begin() as conn:
        for k in range(6):
            conn.execute(sa.text(f"CREATE TABLE t{k} (a integer, b double precision)"))
            conn.execute(
                sa.text(f"INSERT INTO t{k} SELECT g, g / 3.0 FROM generate_series(1, 300) g")
            )
    storage_url = (
        f"sqlite:///{tmp_path / 'storage.db'}"
        if storage_kind == "sqlite"
        else pg_server.create_database(f"cs{tag}")  # type: ignore[attr-defined]
    )
    config = write_config(
        tmp_path / "baselinr.yml",
        source={"url": warehouse.url.render_as_string(hide_password=False)},
        storage={"connection": {"url": storage_url}},
        profiling={"max_workers": 2, "tables": [{"pattern": "t*"}]},
        incremental={"enabled": True},
    )
    processes = [spawn("profile", "-c", str(config), "--json") for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
    storage = sa.create_engine(storage_url)
    status = check_invariants(storage, 10)
    assert set(status.values()) == {"completed"} and len(status) >= 6
    assert len(rows_of(storage, "baselinr_batches")) == 3
    states = rows_of(storage, "baselinr_table_state")
    assert sorted(s["table_name"] for s in states) == [f"t{k}" for k in range(6)]
    storage.dispose()
    warehouse.dispose()
