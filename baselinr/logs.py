"""Baselinr's loggers: every line they emit is redacted and printable (``display``),
whatever handler — a terminal, a file, Dagster's log capture — receives it."""

import logging

from baselinr.display import printable

_FORMATTER = logging.Formatter()


class SafeLogFilter(logging.Filter):
    """Rewrites a record in place: message, traceback and stack made printable, every
    secret masked. Attached to the logger itself, so it runs before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_baselinr_safe", False):
            return True
        record.msg = printable(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = printable(record.exc_text, keep_newlines=True)
        if record.stack_info:
            record.stack_info = printable(record.stack_info, keep_newlines=True)
        record._baselinr_safe = True
        return True


_FILTER = SafeLogFilter()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the safe-text filter attached."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
