"""What a table's stored state depends on in the config.

``profile_signature`` changes when anything that shapes a profile changes (metrics,
columns, partitioning, sampling, histogram bins, what is merged): the next run is
then a full profile (``config_changed``) and replaces the stored aggregates.
"""

import hashlib
import json

from baselinr.config.models import BaselinrConfig, TableEntry


def requested_metrics(config: BaselinrConfig, entry: TableEntry) -> tuple[str, ...]:
    return tuple(entry.metrics or config.profiling.metrics)


def merged_metrics(config: BaselinrConfig, metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The requested metrics that partial runs combine from partition aggregates."""
    mergeable = set(config.incremental.partial_profiling.mergeable_metrics)
    return tuple(m for m in metrics if m in mergeable)


def partial_capable(config: BaselinrConfig, entry: TableEntry) -> bool:
    """Whether this entry's tables can be profiled one partition at a time."""
    partial = config.incremental.partial_profiling
    if not (partial.enabled and partial.allow_partition_pruning):
        return False
    sampling = entry.sampling or config.profiling.sampling
    if sampling.enabled:
        return False
    return entry.partition is None or entry.partition.strategy == "all"


def profile_signature(config: BaselinrConfig, entry: TableEntry) -> str:
    profiling = config.profiling
    partial = config.incremental.partial_profiling
    sampling = entry.sampling or profiling.sampling
    parts = {
        "metrics": list(requested_metrics(config, entry)),
        "columns": entry.columns.model_dump(),
        "partition": entry.partition.model_dump() if entry.partition else None,
        "sampling": sampling.model_dump() if sampling.enabled else None,
        "histogram_bins": profiling.histogram_bins,
        "top_values_k": profiling.top_values_k,
        "mergeable": sorted(partial.mergeable_metrics),
        "partial": partial_capable(config, entry),
        "watermark": entry.watermark_column,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
