"""What each CLI subcommand does, separated from argument parsing."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from metaverse import roles
from metaverse.api.context import ApiContext
from metaverse.api.fields import Username
from metaverse.clock import SystemClock
from metaverse.db.migrate import upgrade
from metaverse.errors import MetaverseError
from metaverse.settings import Settings


class CommandError(Exception):
    """A failure to report to the operator in one line, without a traceback."""


async def serve(settings: Settings) -> None:
    await roles.run_serve(settings)


async def api(settings: Settings) -> None:
    await roles.run_api(settings)


async def gateway(settings: Settings) -> None:
    await roles.run_gateway(settings)


async def consumer(settings: Settings) -> None:
    await roles.run_consumer(settings)


async def migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    context = ApiContext.build(settings, SystemClock())
    try:
        await upgrade(context.engine)
    finally:
        await context.close()


async def create_admin(settings: Settings, username: str, password: str) -> str:
    try:
        TypeAdapter(Username).validate_python(username)
    except ValidationError as exc:
        raise CommandError("a username has 3-64 characters of A-Z a-z 0-9 _ . -") from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    context = ApiContext.build(settings, SystemClock())
    try:
        await upgrade(context.engine)
        async with context.sessions() as session:
            return await context.accounts.signup(session, username, password, "admin", force=True)
    except MetaverseError as exc:
        raise CommandError(exc.message) from exc
    finally:
        await context.close()
