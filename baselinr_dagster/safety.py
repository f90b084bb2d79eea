"""Dagster stores and shows every error message (step failures, sensor ticks): none
may carry a secret. ``redacted_errors`` lets no exception leave with its raw text."""

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from baselinr.display import printable
from baselinr.redact import redact


@contextmanager
def redacted_errors(*, as_failure: bool = True) -> Iterator[None]:
    """Any exception but ``dg.Failure`` (whose description we redact when we build
    it) becomes a redacted one: a ``dg.Failure`` for steps, with the redacted
    traceback as metadata, or a ``RuntimeError`` for sensors."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        message = redact(f"{type(exc).__name__}: {exc}")
        if not as_failure:
            raise RuntimeError(message) from None
        text = printable("".join(traceback.format_exception(exc)), keep_newlines=True)
        raise dg.Failure(
            description=message, metadata={"traceback": dg.MetadataValue.text(text)}
        ) from None
