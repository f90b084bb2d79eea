"""Change detectors, keyed by SQLAlchemy dialect name. Users can add their own:

    from baselinr.incremental.detectors import ChangeDetector, register_detector
    register_detector("trino", MyTrinoDetector)

or pick one per source in the config, by registry key or import path::

    incremental:
      change_detection:
        connector_overrides:
          postgresql: {detector: fallback}          # manifests instead of pg_stat
          trino: {detector: "mypkg.detect:TrinoDetector"}

Dialects without a registered detector use ``fallback``.
"""

import importlib
from collections.abc import Mapping
from typing import Any

from baselinr.errors import ConfigError
from baselinr.incremental.detectors.base import (
    KEY,
    RELATION,
    ChangeDetector,
    DetectTarget,
    PartitionSnapshot,
    TableSnapshot,
)
from baselinr.incremental.detectors.bigquery import BigQueryDetector
from baselinr.incremental.detectors.fallback import FallbackDetector
from baselinr.incremental.detectors.postgres import PostgresDetector
from baselinr.incremental.detectors.snowflake import SnowflakeDetector

DETECTORS: dict[str, type[ChangeDetector]] = {
    "postgresql": PostgresDetector,
    "snowflake": SnowflakeDetector,
    "bigquery": BigQueryDetector,
    "fallback": FallbackDetector,
}

# connector_overrides may be keyed by the config's source type as well.
_ALIASES = {"postgres": "postgresql"}


def register_detector(dialect: str, detector: type[ChangeDetector]) -> None:
    """Use ``detector`` for sources whose SQLAlchemy dialect is named ``dialect``."""
    if not (isinstance(detector, type) and issubclass(detector, ChangeDetector)):
        raise TypeError("a detector must be a ChangeDetector subclass")
    DETECTORS[dialect] = detector


def _load(spec: str) -> type[ChangeDetector]:
    if spec in DETECTORS:
        return DETECTORS[spec]
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ConfigError(
            f"unknown change detector '{spec}': use one of {', '.join(sorted(DETECTORS))} "
            "or an import path 'package.module:Class'"
        )
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load change detector '{spec}': {exc}") from None
    if not (isinstance(found, type) and issubclass(found, ChangeDetector)):
        raise ConfigError(f"change detector '{spec}' is not a ChangeDetector subclass")
    return found


def detector_for(dialect: str, overrides: Mapping[str, Mapping[str, Any]]) -> ChangeDetector:
    """The detector for a dialect, configured from ``connector_overrides``."""
    options: dict[str, Any] = {}
    for key, value in overrides.items():
        if _ALIASES.get(key, key) == dialect:
            options.update(value)
    spec = options.get("detector")
    if spec is not None and not isinstance(spec, str):
        raise ConfigError("connector_overrides: 'detector' must be a name or 'module:Class'")
    cls = _load(spec) if spec else DETECTORS.get(dialect, FallbackDetector)
    return cls(options)


__all__ = [
    "DETECTORS",
    "KEY",
    "RELATION",
    "BigQueryDetector",
    "ChangeDetector",
    "DetectTarget",
    "FallbackDetector",
    "PartitionSnapshot",
    "PostgresDetector",
    "SnowflakeDetector",
    "TableSnapshot",
    "detector_for",
    "register_detector",
]
