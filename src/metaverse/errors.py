"""Errors that reach clients. Each has an HTTP status and a stable machine-readable code.

The HTTP API renders them as `{"code": ..., "message": ..., "details"?: [...]}`; the
gateway as `error {code, message}` frames. Statuses follow the published contract, which
answers unknown ids in requests with 400 rather than 404.
"""

from __future__ import annotations

from typing import Any


class MetaverseError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(MetaverseError):
    """The request is well-formed JSON but asks for something impossible."""


class UnknownId(MetaverseError):
    """A referenced id does not exist (400, as the contract wants for ids in requests)."""

    code = "unknown_id"


class NotFound(MetaverseError):
    """The resource named by the path does not exist (routes outside the original contract)."""

    status = 404
    code = "not_found"


class NotAuthenticated(MetaverseError):
    status = 403
    code = "not_authenticated"


class InvalidCredentials(MetaverseError):
    status = 403
    code = "invalid_credentials"


class InvalidToken(MetaverseError):
    status = 401
    code = "invalid_token"


class RefreshConflict(InvalidToken):
    """The refresh token was rotated moments ago by another request: the caller lost a race
    with itself (two tabs, a retry) and should use the tokens the winner stored."""

    code = "refresh_conflict"


class AccountDisabled(InvalidToken):
    """The account behind the token was disabled by a platform admin."""

    code = "account_disabled"


class Forbidden(MetaverseError):
    status = 403
    code = "forbidden"


class Conflict(MetaverseError):
    """Kept at 400 because the contract answers a taken username with 400."""

    code = "conflict"


class RateLimited(MetaverseError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
