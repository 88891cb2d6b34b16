"""Request dependencies: the context, a database session, and who is calling.

Authentication runs before the request body is read or validated (`AuthFirstRoute`):
a caller without a valid token learns nothing about what the body should have been, and
an admin route answers a non-admin with 403 before looking at its input.

Besides the token's signature and expiry, each request reads the account's row (one
lookup by primary key): a disabled account's tokens stop working at once, and the role
is the account's current one, so a demoted admin is no admin from the next request on.

A guest's token (`Principal.is_guest`) is refused with 403 `guest_forbidden` everywhere
but on the routes that ask for a `Participant`: what a guest needs inside their space.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts import tokens
from metaverse.accounts.tokens import Principal
from metaverse.api.context import ApiContext
from metaverse.db.models import User
from metaverse.errors import AccountDisabled, Forbidden, InvalidToken, NotAuthenticated


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_session(context: Context) -> AsyncIterator[AsyncSession]:
    async with context.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def authenticate(request: Request, *, admin: bool, guests: bool = False) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        header = request.headers.get("authorization")
        if not header:
            raise NotAuthenticated("the authorization header is missing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated('the authorization header must be "Bearer <token>"')
        context = get_context(request)
        try:
            principal = context.accounts.access_tokens.verify(token.strip())
        except tokens.InvalidToken as exc:
            raise InvalidToken("the token is invalid or expired") from exc
        principal = await check_account(context, principal)
        request.state.principal = principal
    if principal.is_guest and not guests:
        raise Forbidden("guests may not do this", code="guest_forbidden")
    if admin and not principal.is_admin:
        raise Forbidden("this needs an admin account")
    return principal


async def check_account(context: ApiContext, principal: Principal) -> Principal:
    """The principal as the account stands now: refused when it is gone or disabled, with
    its current role."""
    async with context.sessions() as session:
        row = (
            await session.execute(
                select(User.role, User.disabled_at).where(User.id == principal.user_id)
            )
        ).one_or_none()
    if row is None:
        raise InvalidToken("the account behind this token no longer exists")
    role, disabled_at = row
    if disabled_at is not None:
        raise AccountDisabled("this account was disabled")
    return principal.with_stored_role(role)


async def require_user(request: Request) -> Principal:
    return await authenticate(request, admin=False)


async def require_admin(request: Request) -> Principal:
    return await authenticate(request, admin=True)


async def require_participant(request: Request) -> Principal:
    return await authenticate(request, admin=False, guests=True)


CurrentUser = Annotated[Principal, Depends(require_user)]
AdminUser = Annotated[Principal, Depends(require_admin)]
# A signed-in user or a guest (whose token is good for their one space only).
Participant = Annotated[Principal, Depends(require_participant)]


def auth_requirement(dependant: Dependant) -> bool | None:
    """None: no auth; False: any signed-in user; True: an admin."""
    found: bool | None = None
    for sub in dependant.dependencies:
        if sub.call is require_admin:
            return True
        if sub.call is require_user or sub.call is require_participant:
            found = False
        deeper = auth_requirement(sub)
        if deeper:
            return True
        if deeper is False:
            found = False
    return found


def _allows_guests(dependant: Dependant) -> bool:
    """Whether a route asks for a `Participant` and for nothing that refuses guests."""
    calls: list[object] = []

    def walk(node: Dependant) -> None:
        for sub in node.dependencies:
            calls.append(sub.call)
            walk(sub)

    walk(dependant)
    return require_participant in calls and require_user not in calls


class AuthFirstRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        requirement = auth_requirement(self.dependant)
        if requirement is None:
            return handler
        guests = requirement is False and _allows_guests(self.dependant)

        async def authenticated_first(request: Request) -> Response:
            await authenticate(request, admin=requirement, guests=guests)
            return await handler(request)

        return authenticated_first
