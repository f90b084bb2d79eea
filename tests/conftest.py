"""Shared fixtures: a real PostgreSQL cluster started by the suite, SQLite files,
DuckDB files, and a factory for configs that point at them.

Under CI (``CI`` set), a test that needs Postgres fails when no cluster can be
started; elsewhere it is skipped with the reason.
"""

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from baselinr.config import BaselinrConfig, load_config
from tests.support.pgcluster import ExistingServer, cluster_for_tests

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    if os.environ.get("BASELINR_TEST_PG_URL"):
        yield ExistingServer(os.environ["BASELINR_TEST_PG_URL"])
        return
    cluster = cluster_for_tests()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh, empty database in the test cluster."""
    return pg_server.create_database(f"t{os.getpid()}_{next(_counter)}")


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.db"


@pytest.fixture
def sqlite_engine(sqlite_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres", "duckdb"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The same test against each warehouse engine (Postgres from the test cluster)."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    elif request.param == "duckdb":
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    else:
        url = request.getfixturevalue("pg_url")
        engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def source_block(engine: sa.Engine) -> dict[str, Any]:
    """The config ``source`` section for an engine created by these fixtures."""
    return {"url": engine.url.render_as_string(hide_password=False)}


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., BaselinrConfig]:
    """Write a config file into tmp_path and load it like a user would."""

    def make(
        source: dict[str, Any], tables: list[dict[str, Any]], **sections: Any
    ) -> BaselinrConfig:
        data: dict[str, Any] = {
            "environment": "test",
            "source": source,
            "storage": sections.pop(
                "storage",
                {
                    "connection": {"type": "sqlite", "filepath": str(tmp_path / "storage.db")},
                    "create_tables": True,
                },
            ),
            "profiling": {"tables": tables, **sections.pop("profiling", {})},
            **sections,
        }
        path = tmp_path / f"baselinr_{next(_counter)}.yml"
        path.write_text(yaml.safe_dump(data))
        return load_config(path)

    return make


@pytest.fixture
def fresh_dagster_cache() -> Iterator[None]:
    """Dagster tests: no BaselinrResource context cached from another test."""
    from baselinr_dagster.resource import clear_cache

    clear_cache()
    yield
    clear_cache()
