"""Errors a user can cause. Each carries a message that says what to do.

Programming errors are not wrapped: they stay loud.
"""


class BaselinrError(Exception):
    """Base class for every error Baselinr raises on purpose."""

    exit_code = 1


class ConfigError(BaselinrError):
    """The config file is missing, unreadable or invalid."""

    exit_code = 2


class UsageError(BaselinrError):
    """A command was asked for something it cannot do (an unknown --table)."""

    exit_code = 2


class WarehouseUnavailableError(BaselinrError):
    """A database (warehouse or storage) could not be reached."""


class TableNotFoundError(BaselinrError):
    """A table named in the config does not exist in the warehouse."""


class ProfilingError(BaselinrError):
    """A table could not be profiled (the SQL failed)."""


class StorageError(BaselinrError):
    """Results could not be written to or read from storage."""


class StorageUnavailableError(StorageError):
    """The result storage could not be reached (not the warehouse: the sensor and the
    CLI say which)."""


class DriftError(BaselinrError):
    """Drift detection cannot judge what was asked (unknown table or run, unfinished
    run): bad usage."""

    exit_code = 2
