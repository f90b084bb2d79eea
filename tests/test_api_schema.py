"""Schemathesis against the API's OpenAPI schema (ASGI, in process): generated
requests, positive and negative, for every operation, over SQLite and Postgres storage
filled by real profiling runs. No input may cause a server error, and every response
must match the schema (status codes, content types, bodies)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.types import ASGIApp, Receive, Scope, Send

from baselinr.api import create_app
from baselinr.api.settings import ApiOptions
from tests.support.api_data import fill

TOKEN = "schema-test-token"
EXAMPLES = 12  # per operation and storage: the module stays well under a minute of CPU


class Target:
    """The app under test, chosen by a fixture. Schemathesis reads the schema while
    collecting, before any storage exists; the schema does not depend on storage."""

    def __init__(self) -> None:
        self.app: ASGIApp = create_app(ApiOptions(db_url="sqlite://", tokens={TOKEN: "triage"}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


target = Target()
schema = schemathesis.openapi.from_asgi("/openapi.json", target)


@schema.auth()
class BearerToken:
    def get(self, case: Any, context: Any) -> str:
        return TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _serve(storage: dict[str, Any], directory: Path) -> Iterator[None]:
    filled = fill(directory, {"connection": storage})
    app = create_app(ApiOptions(db_url=filled.storage_url, tokens={TOKEN: "triage"}))
    previous, target.app = target.app, app
    yield
    target.app = previous
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    directory = tmp_path_factory.mktemp("schema_sqlite")
    yield from _serve({"type": "sqlite", "filepath": str(directory / "s.db")}, directory)


@pytest.fixture(scope="module")
def on_postgres(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    directory = tmp_path_factory.mktemp("schema_pg")
    yield from _serve({"url": pg_server.create_database("api_schema")}, directory)


def _validate(case: Any) -> None:
    # Every check but "schema-valid data is accepted": a `cursor` is any base64url
    # string to the schema, but only one this API issued means anything (422 else).
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])


_settings = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@_settings
def test_api_conforms_on_sqlite(case: Any, on_sqlite: None) -> None:
    _validate(case)


@schema.parametrize()
@_settings
def test_api_conforms_on_postgres(case: Any, on_postgres: None) -> None:
    _validate(case)
