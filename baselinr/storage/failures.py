"""SQL errors of the result storage, as Baselinr's own errors."""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.connectors.engine import describe, first_line
from baselinr.errors import StorageError, StorageUnavailableError


@contextmanager
def storage_errors(engine: Engine) -> Iterator[None]:
    """SQL errors of the result storage as ``StorageError`` (``StorageUnavailableError``
    when the server is unreachable or went away), naming the storage, never the
    password — so that no caller mistakes them for the warehouse's."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        unavailable = isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or bool(
            getattr(exc, "connection_invalidated", False)
        )
        error = StorageUnavailableError if unavailable else StorageError
        raise error(f"result storage at {describe(engine.url)} failed: {first_line(exc)}") from None
