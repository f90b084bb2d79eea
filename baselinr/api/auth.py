"""Bearer tokens with a scope each (``read``, or ``triage`` which includes read).

When any token is configured every ``/api/*`` request needs ``Authorization: Bearer
<token>``: 401 without a valid one, 403 when its scope does not allow the request.
Presented tokens are compared with every configured one in constant time (digests of
equal length, no early exit), so timing does not tell how much of a token was right.
"""

import hashlib
import hmac
from collections.abc import Callable, Mapping

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_GRANTS = {"read": frozenset({"read"}), "triage": frozenset({"read", "triage"})}
bearer = HTTPBearer(auto_error=False, description="A token from BASELINR_API_TOKENS")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Tokens:
    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._known = [(_digest(t), scope) for t, scope in tokens.items()]

    @property
    def enabled(self) -> bool:
        return bool(self._known)

    def scope_of(self, presented: str) -> str | None:
        digest = _digest(presented)
        found = None
        for known, scope in self._known:
            if hmac.compare_digest(known, digest):
                found = scope
        return found


def require(scope: str) -> Callable[..., None]:
    """A dependency: the request's token must allow ``scope``."""

    def check(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> None:
        tokens: Tokens = request.app.state.tokens
        if not tokens.enabled:
            return
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        granted = tokens.scope_of(credentials.credentials)
        if granted is None:
            raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
        if scope not in _GRANTS[granted]:
            raise HTTPException(403, f"this token's scope ({granted}) does not allow {scope}")

    return check
