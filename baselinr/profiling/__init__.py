"""The push-down profiler.

``metrics`` (definitions) and ``state`` (mergeable aggregates) have no dependencies
and are used by the config schema; the SQL lives in ``query``, execution in
``profiler`` and reading rows back in ``readback`` — import those modules directly.
"""

from baselinr.profiling.metrics import DEFAULT_METRICS, METRICS, Metric
from baselinr.profiling.state import ColumnState, Histogram

__all__ = ["DEFAULT_METRICS", "METRICS", "ColumnState", "Histogram", "Metric"]
