"""The `metaverse` command: one subcommand per process role, plus operator tools."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from metaverse import __version__
from metaverse.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metaverse",
        description="A self-hostable 2D virtual space with proximity video calls and spatial "
        "chat. Settings come from environment variables and an optional .env file "
        "(see README.md).",
    )
    parser.add_argument("--version", action="version", version=f"metaverse {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run every role in one process (migrates and seeds the demo set on start)",
        description="Run the whole platform in one process on PORT. Migrates the database "
        "and, on first start, seeds the demo avatars, elements and map.",
    )
    commands.add_parser(
        "api",
        help="run the HTTP API alone (migrates on start)",
        description="Run the HTTP API on PORT. Migrates the database on start.",
    )
    commands.add_parser(
        "gateway",
        help="run the realtime WebSocket gateway alone",
        description="Run the realtime gateway on WS_PORT (WebSocket at / and /ws; "
        "/healthz, /readyz and /metrics over plain HTTP). Run `metaverse migrate` first.",
    )
    commands.add_parser(
        "consumer",
        help="run the consumer: the event log into the database (Kafka → PostgreSQL)",
        description="Read chat messages and domain events from the event log (KAFKA_BROKER) "
        "in batches and store them idempotently; /healthz, /readyz and /metrics on HEALTH_PORT.",
    )
    commands.add_parser(
        "migrate",
        help="bring the database schema up to date and exit",
        description="Apply every pending migration to DATABASE_URL (or the SQLite file in "
        "METAVERSE_DATA_DIR) and exit.",
    )
    admin = commands.add_parser(
        "admin", help="operator tools for accounts", description="Operator tools for accounts."
    )
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = admin_commands.add_parser(
        "create",
        help="create an admin account",
        description="Create an admin account, whatever METAVERSE_ADMIN_SIGNUP says. The "
        "password is asked for on a terminal, or read from the first line of standard input.",
    )
    create.add_argument("username", help="3-64 characters of A-Z a-z 0-9 _ . -")
    return parser


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise SystemExit("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"metaverse: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level != "debug":
        # Alembic narrates every plugin it loads at INFO: noise for an operator.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # Imported here so `metaverse --help` stays fast and never touches the database.
    from metaverse import commands

    try:
        if args.command == "serve":
            asyncio.run(commands.serve(settings))
        elif args.command == "api":
            asyncio.run(commands.api(settings))
        elif args.command == "gateway":
            asyncio.run(commands.gateway(settings))
        elif args.command == "consumer":
            asyncio.run(commands.consumer(settings))
        elif args.command == "migrate":
            asyncio.run(commands.migrate(settings))
            print("database is up to date")
        elif args.command == "admin" and args.admin_command == "create":
            user_id = asyncio.run(commands.create_admin(settings, args.username, _read_password()))
            print(f"created admin {args.username} ({user_id})")
    except KeyboardInterrupt:
        # Ctrl-C is how an operator asks a foreground server to stop: by the time it
        # reaches here the server has shut down gracefully, so this is a normal exit.
        return 0
    except commands.CommandError as exc:
        print(f"metaverse: {exc}", file=sys.stderr)
        return 1
    return 0
