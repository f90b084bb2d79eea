"""Events and hooks."""

from baselinr.events.bus import EventBus, Hook
from baselinr.events.hooks import LoggingHook, SQLHook
from baselinr.events.types import (
    Event,
    ProfileDeferredCostCap,
    ProfileSampledCostCap,
    ProfileSkippedNoChange,
    ProfilingCompleted,
    ProfilingFailed,
    ProfilingSkipped,
    ProfilingStarted,
)

__all__ = [
    "Event",
    "EventBus",
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
]
