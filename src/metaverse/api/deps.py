"""Request dependencies: the context, a database session, and who is calling.

Authentication runs before the request body is read or validated (`AuthFirstRoute`):
a caller without a valid token learns nothing about what the body should have been, and
an admin route answers a non-admin with 403 before looking at its input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts import tokens
from metaverse.accounts.tokens import Principal
from metaverse.api.context import ApiContext
from metaverse.errors import Forbidden, InvalidToken, NotAuthenticated


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_session(context: Context) -> AsyncIterator[AsyncSession]:
    async with context.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def authenticate(request: Request, *, admin: bool) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        header = request.headers.get("authorization")
        if not header:
            raise NotAuthenticated("the authorization header is missing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated('the authorization header must be "Bearer <token>"')
        try:
            principal = get_context(request).accounts.access_tokens.verify(token.strip())
        except tokens.InvalidToken as exc:
            raise InvalidToken("the token is invalid or expired") from exc
        request.state.principal = principal
    if admin and not principal.is_admin:
        raise Forbidden("this needs an admin account")
    return principal


def require_user(request: Request) -> Principal:
    return authenticate(request, admin=False)


def require_admin(request: Request) -> Principal:
    return authenticate(request, admin=True)


CurrentUser = Annotated[Principal, Depends(require_user)]
AdminUser = Annotated[Principal, Depends(require_admin)]


def auth_requirement(dependant: Dependant) -> bool | None:
    """None: no auth; False: any signed-in user; True: an admin."""
    found: bool | None = None
    for sub in dependant.dependencies:
        if sub.call is require_admin:
            return True
        if sub.call is require_user:
            found = False
        deeper = auth_requirement(sub)
        if deeper:
            return True
        if deeper is False:
            found = False
    return found


class AuthFirstRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        requirement = auth_requirement(self.dependant)
        if requirement is None:
            return handler

        async def authenticated_first(request: Request) -> Response:
            authenticate(request, admin=requirement)
            return await handler(request)

        return authenticated_first
