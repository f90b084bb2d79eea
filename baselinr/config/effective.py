"""What a ``profiling.tables`` entry's settings come to once the defaults apply, and
the one signature of everything that shapes its profile.

Functions of config sections (not of a whole ``BaselinrConfig``), so that the Dagster
code location can use them from the config file alone, without credentials.
"""

import hashlib
import json

from baselinr.config.drift import DriftDetectionConfig
from baselinr.config.models import IncrementalConfig, ProfilingConfig, SamplingConfig, TableEntry
from baselinr.profiling.metrics import APPROX_DISTINCT, estimated_metrics


def requested_metrics(profiling: ProfilingConfig, entry: TableEntry) -> tuple[str, ...]:
    """The entry's metrics, else the profiling default."""
    return tuple(entry.metrics or profiling.metrics)


def effective_sampling(profiling: ProfilingConfig, entry: TableEntry) -> SamplingConfig | None:
    """The entry's sampling, else the profiling default, when enabled."""
    sampling = entry.sampling or profiling.sampling
    return sampling if sampling.enabled else None


def merged_metrics(incremental: IncrementalConfig, metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The requested metrics that partial runs combine from partition aggregates."""
    mergeable = set(incremental.partial_profiling.mergeable_metrics)
    if APPROX_DISTINCT in mergeable:  # an estimated unique_ratio merges with the sketch
        mergeable |= set(estimated_metrics(metrics))
    return tuple(m for m in metrics if m in mergeable)


def unmerged_metrics(
    profiling: ProfilingConfig, incremental: IncrementalConfig, entry: TableEntry
) -> tuple[str, ...]:
    """The requested metrics that partition aggregates do not give."""
    metrics = requested_metrics(profiling, entry)
    merged = set(merged_metrics(incremental, metrics))
    return tuple(m for m in metrics if m not in merged)


def partial_capable(
    profiling: ProfilingConfig, incremental: IncrementalConfig, entry: TableEntry
) -> bool:
    """Whether this entry's tables can be profiled one partition at a time."""
    partial = incremental.partial_profiling
    if not (partial.enabled and partial.allow_partition_pruning):
        return False
    if effective_sampling(profiling, entry) is not None:
        return False
    return entry.partition is None or entry.partition.strategy == "all"


def profile_signature(
    profiling: ProfilingConfig, incremental: IncrementalConfig, entry: TableEntry
) -> str:
    """A short hash of what changes an entry's profile: metrics, columns, sampling,
    partitioning, histogram bins, top-k, what partial runs merge, the watermark.

    The planner compares it with the state (a change means a full profile,
    ``config_changed``), the sensor keeps it in its cursor, and Dagster specs use it
    as ``code_version``. Drift settings, ``deps``, tags, owners and hooks are not
    part of it: changing them never forces a profile.
    """
    partial = incremental.partial_profiling
    sampling = effective_sampling(profiling, entry)
    parts = {
        "metrics": list(requested_metrics(profiling, entry)),
        "columns": entry.columns.model_dump(),
        "partition": entry.partition.model_dump() if entry.partition else None,
        "sampling": sampling.model_dump() if sampling is not None else None,
        "histogram_bins": profiling.histogram_bins,
        "top_values_k": profiling.top_values_k,
        "mergeable": sorted(partial.mergeable_metrics),
        "partial": partial_capable(profiling, incremental, entry),
        "watermark": entry.watermark_column,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def drift_signature(drift: DriftDetectionConfig) -> str:
    """A short hash of the drift settings: a change re-judges stored runs (the checks),
    it never re-profiles."""
    text = json.dumps(drift.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
