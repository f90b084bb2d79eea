"""Events and hooks."""

from baselinr.events.bus import EventBus, Hook
from baselinr.events.hooks import LoggingHook, SQLHook
from baselinr.events.types import Event, ProfilingCompleted, ProfilingFailed, ProfilingStarted

__all__ = [
    "Event",
    "EventBus",
    "Hook",
    "LoggingHook",
    "ProfilingCompleted",
    "ProfilingFailed",
    "ProfilingStarted",
    "SQLHook",
]
