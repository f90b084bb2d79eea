"""Build the event bus a config asks for (``hooks:``)."""

from collections.abc import Callable

from sqlalchemy.engine import Engine

from baselinr.config.hooks import HooksConfig, LoggingHookConfig, SQLHookConfig, WebhookHookConfig
from baselinr.events.bus import EventBus, Hook
from baselinr.events.hooks import FilteredHook, LoggingHook, SQLHook
from baselinr.events.webhook import WebhookHook


def build_hook(
    spec: LoggingHookConfig | SQLHookConfig | WebhookHookConfig,
    storage_engine: Callable[[], Engine],
) -> Hook:
    hook: Hook
    if isinstance(spec, SQLHookConfig):
        hook = SQLHook(storage_engine())
    elif isinstance(spec, LoggingHookConfig):
        hook = LoggingHook(spec.level)
    else:
        hook = WebhookHook(
            spec.url,
            headers=spec.headers,
            timeout_seconds=spec.timeout_seconds,
            retries=spec.retries,
            backoff_seconds=spec.backoff_seconds,
            drain_timeout_seconds=spec.drain_timeout_seconds,
            max_queue=spec.max_queue,
        )
    if spec.event_types is None and spec.min_severity == "low":
        return hook
    return FilteredHook(hook, spec.event_types, spec.min_severity)


def build_bus(config: HooksConfig, storage_engine: Callable[[], Engine]) -> EventBus:
    """The hooks of ``config`` on one bus. ``storage_engine`` is called only when the
    ``sql`` hook is on."""
    return EventBus(build_hook(spec, storage_engine) for spec in config.effective)
