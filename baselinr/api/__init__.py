"""The dashboard REST API (DESIGN §10): ``baselinr.api:app``, served by ``baselinr
serve`` or ``uvicorn baselinr.api:app``. Needs the ``api`` extra
(``pip install "baselinr[api]"``).

``app`` is built from the environment on first access, so importing this package
(or ``create_app`` for tests) reads no settings and connects nowhere.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["app", "create_app"]

_app: "FastAPI | None" = None


def create_app(*args: Any, **kwargs: Any) -> "FastAPI":
    from baselinr.api.application import create_app as build

    return build(*args, **kwargs)


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
