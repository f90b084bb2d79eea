"""Where the API's settings come from: the environment, a ``.env`` file, and the
Baselinr config (DESIGN §10).

``BASELINR_DB_URL`` (storage URL; else the config's storage), ``BASELINR_CONFIG``,
``API_HOST`` (default ``127.0.0.1``), ``API_PORT`` (default ``8000``), ``CORS_ORIGINS``
(comma-separated), ``BASELINR_API_TOKENS`` (``token:scope`` pairs, else the config's
``api.tokens``) and ``BASELINR_API_INSECURE`` (serve without tokens on a non-loopback
address). ``ApiOptions`` is what the app runs with once all of them are resolved.
"""

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from baselinr.config.api import parse_tokens
from baselinr.config.models import BaselinrConfig
from baselinr.errors import ConfigError
from baselinr.redact import register_secrets
from baselinr.storage.state import DEFAULT_TABLE


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    db_url: SecretStr | None = Field(default=None, validation_alias="BASELINR_DB_URL")
    config_path: Path | None = Field(default=None, validation_alias="BASELINR_CONFIG")
    host: str = Field(default="127.0.0.1", validation_alias="API_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="API_PORT")
    cors_origins: str = Field(default="", validation_alias="CORS_ORIGINS")
    tokens: SecretStr | None = Field(default=None, validation_alias="BASELINR_API_TOKENS")
    insecure: bool = Field(default=False, validation_alias="BASELINR_API_INSECURE")


@dataclass(frozen=True)
class ApiOptions:
    """Everything the app needs, resolved: the storage URL (a secret), the state table,
    tokens (token -> scope), CORS origins and whether a non-loopback bind without
    tokens is allowed."""

    db_url: str
    state_table: str = DEFAULT_TABLE
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    cors_origins: tuple[str, ...] = ()
    insecure: bool = False
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def secured(self) -> bool:
        return bool(self.tokens)


def resolve_options(
    settings: ApiSettings | None = None, config: BaselinrConfig | None = None
) -> ApiOptions:
    """Combine the environment with the config (loaded from ``BASELINR_CONFIG`` unless
    given). Environment settings win."""
    from baselinr.config import load_config
    from baselinr.connectors.engine import build_url

    settings = settings or ApiSettings()
    if config is None and settings.config_path is not None:
        config = load_config(settings.config_path)
    if settings.db_url is not None:
        db_url = settings.db_url.get_secret_value()
    elif config is not None:
        db_url = build_url(config.storage.connection).render_as_string(hide_password=False)
    else:
        raise ConfigError(
            "the API needs its storage: set BASELINR_DB_URL (a SQLAlchemy URL) or "
            "BASELINR_CONFIG (a baselinr.yml), e.g. in a .env file"
        )
    try:
        if settings.tokens is not None and settings.tokens.get_secret_value().strip():
            tokens = parse_tokens(settings.tokens.get_secret_value())
        else:
            tokens = config.api.token_scopes() if config is not None else {}
    except ValueError as exc:
        raise ConfigError(f"BASELINR_API_TOKENS: {exc}") from None
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if not origins and config is not None:
        origins = list(config.api.cors_origins)
    state_table = (
        config.incremental.change_detection.metadata_table if config is not None else DEFAULT_TABLE
    )
    register_secrets([*tokens, _url_password(db_url)])
    return ApiOptions(
        db_url=db_url,
        state_table=state_table,
        tokens=tokens,
        cors_origins=tuple(origins),
        insecure=settings.insecure,
        host=settings.host,
        port=settings.port,
    )


def _url_password(url: str) -> str | None:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).password
    except Exception:  # not a URL: the engine will say so, without echoing it
        return None


def is_loopback(host: str) -> bool:
    """``127.0.0.0/8``, ``::1`` and ``localhost``; anything else may be reachable from
    other machines."""
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
