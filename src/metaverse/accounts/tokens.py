"""Access tokens (HS256 JWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import Literal, NewType

import jwt

from metaverse.clock import Clock

UserId = NewType("UserId", str)
Role = Literal["user", "admin", "guest"]
ROLES: tuple[Role, ...] = ("user", "admin", "guest")
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid access token speaks for. A guest's token names the one space
    (`space_id`) it may enter."""

    user_id: UserId
    role: Role
    token_id: str
    space_id: str | None = None
    expires_at: int | None = None  # the token's `exp` (seconds since the epoch)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_guest(self) -> bool:
        return self.role == "guest"

    def with_stored_role(self, role: str) -> Principal:
        """This principal with the account's role as stored now (`users.role`), whatever
        the token says: a demoted admin is a user, a promoted one an admin. A guest stays
        a guest."""
        if self.is_guest or role == self.role:
            return self
        return replace(self, role="admin" if role == "admin" else "user")


class InvalidToken(Exception):
    """The token is malformed, tampered with, signed with another secret or expired."""


class AccessTokens:
    def __init__(self, secret: str, ttl_s: int, clock: Clock) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def issue(
        self, user_id: str, role: Role, *, space_id: str | None = None, ttl_s: int | None = None
    ) -> str:
        """A token for `user_id`; a guest's (`role="guest"`) needs the `space_id` it is for."""
        if (role == "guest") != (space_id is not None):
            raise ValueError("a guest token, and only a guest token, names a space")
        now = int(self._clock.now())
        claims: dict[str, object] = {
            "sub": user_id,
            "role": role,
            "iat": now,
            "exp": now + (self.ttl_s if ttl_s is None else ttl_s),
            "jti": uuid.uuid4().hex,
        }
        if space_id is not None:
            claims["space"] = space_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            # Times are checked against the injected clock below, not PyJWT's own.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={
                    "require": ["sub", "role", "iat", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        exp, sub, role, jti = claims["exp"], claims["sub"], claims["role"], claims["jti"]
        if not isinstance(exp, int) or exp <= self._clock.now():
            raise InvalidToken("token expired")
        if not isinstance(sub, str) or role not in ROLES or not isinstance(jti, str):
            raise InvalidToken("token claims are invalid")
        space = claims.get("space")
        if (role == "guest") != isinstance(space, str):
            raise InvalidToken("token claims are invalid")
        return Principal(
            user_id=UserId(sub), role=role, token_id=jti, space_id=space, expires_at=exp
        )


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are stored only as their SHA-256: a leaked table grants nothing.

    A fast hash is right here: the token has 256 random bits, unlike a password.
    """
    return hashlib.sha256(token.encode()).hexdigest()
