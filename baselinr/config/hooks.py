"""The ``hooks:`` section: where events go.

The ``sql`` hook (rows in ``baselinr_events``) is on unless the list turns it off with
``{type: sql, enabled: false}``: the events table is part of storage. ``logging`` and
``webhook`` hooks run only when listed.
"""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from baselinr.config.base import StrictModel
from baselinr.config.drift import Severity

#: Event types a hook may subscribe to.
EVENT_TYPES: tuple[str, ...] = (
    "ProfilingStarted",
    "ProfilingCompleted",
    "ProfilingFailed",
    "ProfilingSkipped",
    "DataDriftDetected",
    "SchemaChangeDetected",
)


def _check_event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    return value


class _HookBase(StrictModel):
    enabled: bool = True
    # Only these event types (all when unset).
    event_types: list[str] | None = None
    # Drift and schema-change events below this severity are not passed on.
    min_severity: Severity = "low"

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return _check_event_types(value)


class LoggingHookConfig(_HookBase):
    type: Literal["logging"]
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class SQLHookConfig(_HookBase):
    type: Literal["sql"]


class WebhookHookConfig(_HookBase):
    """JSON POST per event, delivered by a background thread: a slow or dead endpoint
    never slows a profile down. Each POST gets ``timeout_seconds``; failures (connection
    errors, timeouts, 5xx, 429) are retried ``retries`` times with exponential backoff;
    at shutdown undelivered events get at most ``drain_timeout_seconds``."""

    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    drain_timeout_seconds: float = Field(default=10.0, ge=0, le=600)
    max_queue: int = Field(default=1000, ge=1)
    # Profiling chatter stays out of a chat channel unless asked for.
    event_types: list[str] | None = Field(
        default_factory=lambda: ["DataDriftDetected", "SchemaChangeDetected", "ProfilingFailed"]
    )
    min_severity: Severity = "medium"

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        # the URL itself never appears in a message: chat webhooks carry secrets in it
        import urllib.parse

        if not value.startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError("webhook url contains spaces or control characters")
        try:
            parts = urllib.parse.urlsplit(value)
            if parts.port == 0:  # raises ValueError for a port that is not a number
                raise ValueError
        except ValueError:
            raise ValueError(
                "webhook url is not a valid URL (its port must be a number from 1 to 65535)"
            ) from None
        if not parts.hostname:
            raise ValueError("webhook url has no host name")
        return value


HookConfig = Annotated[
    LoggingHookConfig | SQLHookConfig | WebhookHookConfig, Field(discriminator="type")
]


class HooksConfig(StrictModel):
    enabled: bool = True  # false: no hook at all, not even sql
    hooks: list[HookConfig] = Field(default_factory=list)

    @property
    def effective(self) -> list[LoggingHookConfig | SQLHookConfig | WebhookHookConfig]:
        """The hooks that run: the enabled listed ones, plus ``sql`` unless listed."""
        if not self.enabled:
            return []
        listed = list(self.hooks)
        if not any(h.type == "sql" for h in listed):
            listed.insert(0, SQLHookConfig(type="sql"))
        return [h for h in listed if h.enabled]
