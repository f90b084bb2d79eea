"""The ``api:`` section: settings of the dashboard REST API (``baselinr serve``).

Environment variables (``BASELINR_API_TOKENS``, ``CORS_ORIGINS``) take precedence; see
``baselinr/api/settings.py``. Tokens are secrets: they are registered with the one
redaction function when the API starts, and no message ever echoes one.
"""

from typing import Any

from pydantic import Field, SecretStr, field_validator

from baselinr.config.base import StrictModel

#: What a bearer token may do. ``triage`` includes ``read``.
SCOPES: tuple[str, ...] = ("read", "triage")


def parse_tokens(value: str | list[str] | None) -> dict[str, str]:
    """``"tok1:read,tok2:triage"`` (or a list of ``token:scope`` items) -> token -> scope.

    Raises ``ValueError`` naming the position and the problem, never the token."""
    if value is None:
        return {}
    items = value.split(",") if isinstance(value, str) else list(value)
    tokens: dict[str, str] = {}
    for position, raw in enumerate(items, start=1):
        item = raw.strip()
        if not item:
            continue
        token, sep, scope = item.rpartition(":")
        token, scope = token.strip(), scope.strip()
        if not sep or not token:
            raise ValueError(
                f"API token {position}: write it as token:scope (scope read or triage)"
            )
        if scope not in SCOPES:
            raise ValueError(
                f"API token {position}: unknown scope {scope!r}; use {' or '.join(SCOPES)}"
            )
        if token in tokens and tokens[token] != scope:
            raise ValueError(f"API token {position}: the same token is listed with two scopes")
        tokens[token] = scope
    return tokens


class ApiConfig(StrictModel):
    """``api.tokens``: ``token:scope`` pairs, a list or one comma-separated string;
    ``api.cors_origins``: origins a browser front end may call the API from."""

    tokens: list[SecretStr] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("tokens", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v for v in value.split(",") if v.strip()]
        return value

    @field_validator("tokens")
    @classmethod
    def _scoped(cls, value: list[SecretStr]) -> list[SecretStr]:
        parse_tokens([v.get_secret_value() for v in value])
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def token_scopes(self) -> dict[str, str]:
        return parse_tokens([v.get_secret_value() for v in self.tokens])
