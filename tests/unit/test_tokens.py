"""Access tokens: users' and guests' (a guest's names its one space)."""

from __future__ import annotations

import jwt
import pytest

from metaverse.accounts.tokens import ALGORITHM, AccessTokens, InvalidToken
from metaverse.clock import FakeClock

SECRET = "s" * 48


def test_a_guest_token_names_its_space_and_expires_on_its_own_ttl() -> None:
    clock = FakeClock()
    tokens = AccessTokens(SECRET, 900, clock)
    token = tokens.issue("u1", "guest", space_id="space1", ttl_s=7200)
    principal = tokens.verify(token)
    assert principal.is_guest and not principal.is_admin
    assert (principal.user_id, principal.space_id) == ("u1", "space1")
    clock.advance(7199)
    tokens.verify(token)
    clock.advance(1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_only_a_guest_token_names_a_space() -> None:
    tokens = AccessTokens(SECRET, 900, FakeClock())
    assert tokens.verify(tokens.issue("u1", "user")).space_id is None
    with pytest.raises(ValueError, match="guest"):
        tokens.issue("u1", "guest")
    with pytest.raises(ValueError, match="guest"):
        tokens.issue("u1", "admin", space_id="space1")


@pytest.mark.parametrize(
    ("role", "space"), [("guest", None), ("guest", 7), ("user", "space1"), ("owner", None)]
)
def test_tokens_whose_role_and_space_disagree_are_refused(role: str, space: object) -> None:
    clock = FakeClock()
    claims: dict[str, object] = {
        "sub": "u1",
        "role": role,
        "iat": int(clock.now()),
        "exp": int(clock.now()) + 60,
        "jti": "j",
    }
    if space is not None:
        claims["space"] = space
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET, 900, clock).verify(jwt.encode(claims, SECRET, algorithm=ALGORITHM))
