"""What Baselinr knows about each SQL engine, in one registry keyed by SQLAlchemy
dialect name: the SQL dialect module (``connectors/``) and the change detector
(``incremental/detectors/``). Engines not listed get ANSI SQL and the fallback
detector. Users can add or replace a detector::

    from baselinr.engines import register_detector
    register_detector("trino", MyTrinoDetector)

or pick one per source in the config, by name or import path::

    incremental:
      change_detection:
        connector_overrides:
          postgresql: {detector: fallback}          # manifests instead of pg_stat
          trino: {detector: "mypkg.detect:TrinoDetector"}
"""

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from baselinr.connectors.base import Dialect
from baselinr.errors import ConfigError
from baselinr.incremental.detectors.base import ChangeDetector
from baselinr.incremental.detectors.fallback import FallbackDetector

# An engine's modules are imported when a config uses it: a SQLite profile does not
# load SQLAlchemy's PostgreSQL dialect (tests/test_startup.py).
_loaded: dict[str, Any] = {}


def _load(spec: str) -> Any:
    """``package.module:Name`` imported once."""
    if spec not in _loaded:
        module_name, _, attr = spec.partition(":")
        _loaded[spec] = getattr(importlib.import_module(module_name), attr)
    return _loaded[spec]


_DIALECTS: dict[str, Dialect] = {}


@dataclass(frozen=True)
class EngineSupport:
    """An engine's dialect module and change detector: objects, or ``module:Name``
    import paths loaded on first use."""

    dialect_spec: Dialect | str
    detector_spec: type[ChangeDetector] | str

    @property
    def dialect(self) -> Dialect:
        spec = self.dialect_spec
        if isinstance(spec, Dialect):
            return spec
        if spec not in _DIALECTS:
            _DIALECTS[spec] = _load(spec)()
        return _DIALECTS[spec]

    @property
    def detector(self) -> type[ChangeDetector]:
        spec = self.detector_spec
        return _load(spec) if isinstance(spec, str) else spec


_GENERIC = EngineSupport(Dialect(), FallbackDetector)
_DETECTORS = "baselinr.incremental.detectors"

ENGINES: dict[str, EngineSupport] = {
    "sqlite": EngineSupport("baselinr.connectors.sqlite:SQLiteDialect", FallbackDetector),
    "postgresql": EngineSupport(
        "baselinr.connectors.postgres:PostgresDialect", f"{_DETECTORS}.postgres:PostgresDetector"
    ),
    "duckdb": EngineSupport("baselinr.connectors.duckdb:DuckDBDialect", FallbackDetector),
    "snowflake": EngineSupport(Dialect(), f"{_DETECTORS}.snowflake:SnowflakeDetector"),
    "bigquery": EngineSupport(Dialect(), f"{_DETECTORS}.bigquery:BigQueryDetector"),
}

# connector_overrides may be keyed by the config's source type as well.
_ALIASES = {"postgres": "postgresql"}


def engine_support(name: str) -> EngineSupport:
    return ENGINES.get(_ALIASES.get(name, name), _GENERIC)


def dialect_for(bind: Engine | Connection) -> Dialect:
    """The dialect module for an engine or connection; unknown engines get ANSI SQL."""
    return engine_support(bind.dialect.name).dialect


def register_detector(dialect: str, detector: type[ChangeDetector]) -> None:
    """Use ``detector`` for sources whose SQLAlchemy dialect is named ``dialect``."""
    if not (isinstance(detector, type) and issubclass(detector, ChangeDetector)):
        raise TypeError("a detector must be a ChangeDetector subclass")
    ENGINES[dialect] = dataclasses.replace(engine_support(dialect), detector_spec=detector)


def _by_name(spec: str) -> type[ChangeDetector]:
    if spec == FallbackDetector.name:
        return FallbackDetector
    name = _ALIASES.get(spec, spec)
    if name in ENGINES:
        return ENGINES[name].detector
    module_name, _, attr = spec.partition(":")
    if not attr:
        known = sorted({*ENGINES, FallbackDetector.name})
        raise ConfigError(
            f"unknown change detector '{spec}': use one of {', '.join(known)} "
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
    """The change detector for a dialect, configured from ``connector_overrides``."""
    options: dict[str, Any] = {}
    for key, value in overrides.items():
        if _ALIASES.get(key, key) == dialect:
            options.update(value)
    spec = options.get("detector")
    if spec is not None and not isinstance(spec, str):
        raise ConfigError("connector_overrides: 'detector' must be a name or 'module:Class'")
    cls = _by_name(spec) if spec else engine_support(dialect).detector
    return cls(options)


__all__ = [
    "ENGINES",
    "EngineSupport",
    "detector_for",
    "dialect_for",
    "engine_support",
    "register_detector",
]
