"""A small synchronous event bus. A failing hook is logged and never fatal."""

from collections.abc import Iterable
from typing import Protocol

from baselinr.events.types import Event
from baselinr.logs import get_logger

log = get_logger(__name__)


class Hook(Protocol):
    def handle(self, event: Event) -> None: ...


class EventBus:
    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.hooks: list[Hook] = list(hooks)

    def emit(self, event: Event) -> None:
        for hook in self.hooks:
            try:
                hook.handle(event)
            except Exception as exc:  # a hook must never break profiling
                log.warning("hook %s failed on %s: %s", type(hook).__name__, event.event_type, exc)

    def emit_many(self, events: Iterable[Event]) -> None:
        """Several events at once. Hooks that have ``handle_many`` get the batch in one
        call (the SQL hook writes it in one transaction); others get one at a time."""
        batch = list(events)
        if not batch:
            return
        for hook in self.hooks:
            handle_many = getattr(hook, "handle_many", None)
            if handle_many is None:
                for event in batch:
                    try:
                        hook.handle(event)
                    except Exception as exc:
                        log.warning(
                            "hook %s failed on %s: %s", type(hook).__name__, event.event_type, exc
                        )
                continue
            try:
                handle_many(batch)
            except Exception as exc:  # a hook must never break profiling
                log.warning("hook %s failed on %d events: %s", type(hook).__name__, len(batch), exc)

    def close(self) -> None:
        for hook in self.hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:
                    log.warning("hook %s failed to close: %s", type(hook).__name__, exc)
