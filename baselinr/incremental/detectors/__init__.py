"""Change detectors: what each engine's metadata says about a table since it was last
seen. Which detector an engine uses is registered in ``baselinr.engines``."""

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

__all__ = [
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
]
