"""The FastAPI application: settings, storage engine, auth, CORS, access logs, errors.

``create_app(options)`` builds an app; ``baselinr.api:app`` is one built from the
environment (``.env`` included) on first use. Building it never connects: storage is
reached on the first request (``/ready`` says whether it is usable).
"""

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import baselinr
from baselinr.api.auth import Tokens
from baselinr.api.clean import RowMemo, clean
from baselinr.api.dashboard import BatchSummaries
from baselinr.api.db import open_engine
from baselinr.api.routes import api, public
from baselinr.api.settings import ApiOptions, is_loopback, resolve_options
from baselinr.connectors import first_line
from baselinr.redact import redact
from baselinr.storage.state import state_table

access_log = logging.getLogger("baselinr.api.access")
log = logging.getLogger("baselinr.api")

DESCRIPTION = """\
The result store of Baselinr over HTTP: what ran and why, what drifted and who is on
it, how each table's columns moved, what the incremental planner decided, and how many
rows and bytes incremental profiling saved. Every timestamp is ISO-8601 UTC.

When tokens are configured (`BASELINR_API_TOKENS`), every `/api/*` request needs
`Authorization: Bearer <token>`; triage needs a token with the `triage` scope.
"""


def create_app(options: ApiOptions | None = None) -> FastAPI:
    options = options or resolve_options()
    engine = open_engine(options.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("baselinr API %s serving %s storage", baselinr.__version__, engine.dialect.name)
        yield
        engine.dispose()
        log.info("baselinr API stopped")

    app = FastAPI(
        title="Baselinr API",
        version=baselinr.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.options = options
    app.state.engine = engine
    app.state.tokens = Tokens(options.tokens)
    app.state.state_table = state_table(options.state_table)
    app.state.batch_summaries = BatchSummaries()
    app.state.row_memo = RowMemo()
    app.include_router(public)
    app.include_router(api)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _storage_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    if not options.secured and not options.insecure:
        app.add_middleware(LoopbackOnly)
    app.add_middleware(AccessLog)
    return app


async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
    message = redact(f"storage error: {first_line(exc)}")
    log.warning("%s %s: %s", request.method, request.url.path, message)
    return JSONResponse({"detail": message}, status_code=503)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Errors echo what was asked for (an id, a table name): redacted like the rest."""
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"detail": clean(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": clean(list(e.get("loc", ()))),
            "msg": redact(str(e.get("msg", ""))),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


class LoopbackOnly:
    """Without tokens, answer only on loopback sockets: a server bound to another
    address (``uvicorn --host 0.0.0.0``) refuses every request until tokens are set
    or ``BASELINR_API_INSECURE=true``. (``baselinr serve`` refuses to bind at all.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") if scope["type"] == "http" else None
        host = str(server[0]) if server else ""
        if host and _is_ip(host) and not is_loopback(host):
            response = JSONResponse(
                {
                    "detail": "no API tokens are configured, so this server answers on "
                    "loopback addresses only: set BASELINR_API_TOKENS, or "
                    "BASELINR_API_INSECURE=true"
                },
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AccessLog:
    """One JSON line per request on the ``baselinr.api.access`` logger."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0

        async def sending(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(json.dumps(_access_record(scope, status, sent, started)))


def _access_record(scope: Scope, status: int, sent: int, started: float) -> dict[str, Any]:
    client = scope.get("client")
    query = scope.get("query_string", b"").decode("latin-1")
    return {
        "event": "request",
        "method": scope.get("method"),
        "path": redact(scope.get("path", "")),
        "query": redact(query) if query else None,
        "status": status,
        "bytes": sent,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "client": f"{client[0]}:{client[1]}" if client else None,
    }
