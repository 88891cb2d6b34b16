"""Sign-up, sign-in, token refresh with rotation, sign-out, and admin creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NoReturn

from sqlalchemy import ColumnElement, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.passwords import Passwords
from metaverse.accounts.ratelimit import RateLimiter
from metaverse.accounts.tokens import AccessTokens, hash_refresh_token, new_refresh_token
from metaverse.clock import Clock
from metaverse.db.atomic import lock_table
from metaverse.db.ids import new_id
from metaverse.db.models import RefreshToken, User
from metaverse.errors import (
    AccountDisabled,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    RateLimited,
    RefreshConflict,
)
from metaverse.settings import Settings

Role = Literal["user", "admin"]


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in_s: int


@dataclass(frozen=True, slots=True)
class _Token:
    """A stored refresh token, as read before rotating it."""

    id: str
    user_id: str
    family_id: str
    expires_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    disabled: bool  # the account's


@dataclass(slots=True)
class Accounts:
    settings: Settings
    passwords: Passwords
    access_tokens: AccessTokens
    clock: Clock
    address_limiter: RateLimiter
    username_limiter: RateLimiter

    def throttle(self, address: str, username: str) -> None:
        """Count one sign-up or sign-in attempt against the address and the username."""
        wait_s = max(
            self.address_limiter.try_acquire(address),
            self.username_limiter.try_acquire(username.lower()),
        )
        if wait_s > 0:
            raise RateLimited("too many attempts; try again later", retry_after_s=wait_s)

    def check_password(self, password: str) -> None:
        if len(password) < self.settings.password_min_length:
            raise InvalidInput(
                f"the password must have at least {self.settings.password_min_length} characters",
                code="password_too_short",
            )

    async def check_admin_signup(self, session: AsyncSession) -> None:
        policy = self.settings.admin_signup
        if policy == "open":
            return
        if policy == "first-user":
            # Held until the sign-up commits: of several first sign-ups at once, one is first.
            await lock_table(session, User)
            users = await session.scalar(select(func.count()).select_from(User))
            if not users:
                return
            raise Forbidden(
                "only the first account may sign up as admin; ask an admin", code="admin_signup"
            )
        raise Forbidden("admin sign-up is closed on this platform", code="admin_signup")

    async def signup(
        self,
        session: AsyncSession,
        username: str,
        password: str,
        role: Role,
        *,
        force: bool = False,
    ) -> str:
        """Create an account and return its id. `force` skips the admin sign-up policy
        (for `metaverse admin create`, which runs with the operator's authority)."""
        self.check_password(password)
        if role == "admin" and not force:
            await self.check_admin_signup(session)
        taken = await session.scalar(select(User.id).where(_username_is(username)))
        if taken is not None:
            raise Conflict("that username is taken", code="username_taken")
        user = User(
            id=new_id(),
            username=username,
            password_hash=await self.passwords.hash(password),
            role=role,
        )
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as exc:  # lost a race for the same username
            await session.rollback()
            raise Conflict("that username is taken", code="username_taken") from exc
        return user.id

    async def signin(self, session: AsyncSession, username: str, password: str) -> TokenPair:
        user = await session.scalar(select(User).where(_username_is(username)))
        hashed = user.password_hash if user is not None else None
        if not await self.passwords.verify(hashed, password) or user is None:
            raise InvalidCredentials("wrong username or password")
        # Said only to whoever knows the password.
        if user.disabled_at is not None:
            raise Forbidden("this account was disabled by an admin", code="account_disabled")
        return await self._issue(session, user, family_id=new_id())

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        """Rotate a refresh token: retire it and issue its successor in the same family.

        The token is retired by one conditional UPDATE, so of several requests presenting
        it at once exactly one wins; the others find it retired and are told so with
        `refresh_conflict` while it was retired less than `refresh_reuse_grace_s` ago.
        """
        now = self._now()
        token = await self._token(session, refresh_token)
        if token is None:
            raise InvalidToken("the refresh token is invalid")
        if token.disabled:
            raise AccountDisabled("this account was disabled")
        if token.revoked_at is None and token.retired_at is None:
            if _aware(token.expires_at) <= now:
                raise InvalidToken("the refresh token has expired")
            retired = await session.scalar(
                update(RefreshToken)
                .where(
                    RefreshToken.id == token.id,
                    RefreshToken.retired_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                )
                .values(retired_at=now)
                .returning(RefreshToken.id)
                .execution_options(synchronize_session=False)
            )
            if retired is not None:
                user = await session.get(User, token.user_id)
                if user is None:  # pragma: no cover - cascades delete tokens with their user
                    raise InvalidToken("the refresh token is invalid")
                return await self._issue(session, user, family_id=token.family_id)
            # Another request retired or revoked it since it was read.
            await session.rollback()
            token = await self._token(session, refresh_token)
            assert token is not None  # tokens are deleted only with their user
        await self._refuse_reuse(session, token, now)

    async def _token(self, session: AsyncSession, refresh_token: str) -> _Token | None:
        row = (
            await session.execute(
                select(
                    RefreshToken.id,
                    RefreshToken.user_id,
                    RefreshToken.family_id,
                    RefreshToken.expires_at,
                    RefreshToken.retired_at,
                    RefreshToken.revoked_at,
                    User.disabled_at.is_not(None),
                )
                .join(User, User.id == RefreshToken.user_id)
                .where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
            )
        ).one_or_none()
        return _Token(*row) if row is not None else None

    async def _refuse_reuse(self, session: AsyncSession, token: _Token, now: datetime) -> NoReturn:
        """A retired or revoked token presented again."""
        grace = timedelta(seconds=self.settings.refresh_reuse_grace_s)
        retired_at = token.retired_at
        if token.revoked_at is None and retired_at is not None and now - _aware(retired_at) < grace:
            raise RefreshConflict(
                "the refresh token was just rotated by another request; use the new tokens"
            )
        # A retired token presented again means two parties hold the family:
        # revoke all of it so the thief's copy stops working too.
        await self._revoke_family(session, token.family_id, now)
        await session.commit()
        raise InvalidToken("the refresh token was already used; please sign in again")

    async def signout(self, session: AsyncSession, refresh_token: str) -> None:
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
        )
        if row is not None:
            await self._revoke_family(session, row.family_id, self._now())
            await session.commit()

    async def _issue(self, session: AsyncSession, user: User, family_id: str) -> TokenPair:
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                id=new_id(),
                user_id=user.id,
                family_id=family_id,
                token_hash=hash_refresh_token(refresh),
                expires_at=self._now() + timedelta(seconds=self.settings.refresh_token_ttl_s),
            )
        )
        await session.commit()
        role: Role = "admin" if user.role == "admin" else "user"
        return TokenPair(
            access_token=self.access_tokens.issue(user.id, role),
            refresh_token=refresh,
            expires_in_s=self.access_tokens.ttl_s,
        )

    async def _revoke_family(self, session: AsyncSession, family_id: str, now: datetime) -> None:
        # Lock the family's rows first: a rotation in flight holds the row it retires until
        # it commits, and the UPDATE below, a statement of its own, then also sees the
        # successor that rotation issued (PostgreSQL; SQLite runs one writer at a time).
        await session.execute(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == family_id)
            .order_by(RefreshToken.id)
            .with_for_update()
        )
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _username_is(username: str) -> ColumnElement[bool]:
    """Usernames match whatever their case (`alice` signs in as `Alice`); they are ASCII,
    so a name with any other character matches no one (Python would lower the Kelvin
    sign to `k`)."""
    if not username.isascii():
        return false()
    return func.lower(User.username) == username.lower()
