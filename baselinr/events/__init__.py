"""Events and hooks."""

from baselinr.events.bus import EventBus, Hook
from baselinr.events.factory import build_bus
from baselinr.events.hooks import FilteredHook, LoggingHook, SQLHook, describe
from baselinr.events.types import (
    DataDriftDetected,
    Event,
    ProfileDeferredCostCap,
    ProfileSampledCostCap,
    ProfileSkippedNoChange,
    ProfilingCompleted,
    ProfilingFailed,
    ProfilingSkipped,
    ProfilingStarted,
    SchemaChangeDetected,
)
from baselinr.events.webhook import WebhookHook

__all__ = [
    "DataDriftDetected",
    "Event",
    "EventBus",
    "FilteredHook",
    "Hook",
    "LoggingHook",
    "ProfileDeferredCostCap",
    "ProfileSampledCostCap",
    "ProfileSkippedNoChange",
    "ProfilingCompleted",
    "ProfilingFailed",
    "ProfilingSkipped",
    "ProfilingStarted",
    "SQLHook",
    "SchemaChangeDetected",
    "WebhookHook",
    "build_bus",
    "describe",
]
