"""Run the API under uvicorn (``baselinr serve``, ``python -m baselinr.api``).

Without tokens it refuses to bind to anything but a loopback address unless told
``insecure``. Access logs are JSON lines on stderr; SIGTERM/SIGINT stop it gracefully
(requests in flight get ``GRACE_SECONDS`` to finish, then the storage pool closes).
"""

import dataclasses
import logging
import signal
import sys
from types import FrameType

from baselinr.api.settings import ApiOptions, is_loopback, resolve_options
from baselinr.errors import UsageError

GRACE_SECONDS = 10


def check_bind(options: ApiOptions, host: str, insecure: bool) -> None:
    if not options.secured and not insecure and not is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without API tokens: anyone who can reach it could "
            "read the results and triage drift. Set BASELINR_API_TOKENS (or api.tokens), "
            "bind to 127.0.0.1, or pass --insecure"
        )


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("baselinr.api.access", "baselinr.api"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def serve(
    options: ApiOptions, *, host: str, port: int, insecure: bool = False, log_level: str = "info"
) -> None:
    import uvicorn

    from baselinr.api.application import create_app

    check_bind(options, host, insecure)
    options = dataclasses.replace(options, insecure=insecure or options.insecure)
    configure_logging(log_level)
    app = create_app(options)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again once it has
    # restored the previous handler: make that handler a clean exit (status 0).
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,  # ours: baselinr.api.access
        log_level=log_level,
        timeout_graceful_shutdown=GRACE_SECONDS,
        server_header=False,
    )


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_from_environment() -> None:
    options = resolve_options()
    serve(options, host=options.host, port=options.port, insecure=options.insecure)
