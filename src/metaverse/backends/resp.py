"""One connection to Redis, spoken to directly: commands written as RESP2, replies parsed
by hiredis.

Pub/sub between gateways is a hot path: every move of a user on another gateway crosses
it twice. redis-py spends about 100 µs of Python on each pipeline and each message read
(its retry, pool, timeout and instrumentation layers), more than the core spends on the
move; here a round of publishes is one write and its replies one parse, and a read of the
subscriber's socket yields every message it holds. Everything else (readiness pings,
leases) goes through redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from typing import Any, Final

import hiredis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url

_READ_BYTES: Final = 1 << 16

Argument = bytes | str | int


class RespError(Exception):
    """Redis answered with an error."""


def pack(command: Sequence[Argument]) -> bytes:
    """`command` as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        if isinstance(argument, str):
            data = argument.encode()
        elif isinstance(argument, int):
            data = b"%d" % argument
        else:
            data = argument
        parts += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(parts)


class RespConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()

    @classmethod
    async def open(cls, url: str, timeout_s: float) -> RespConnection:
        """Connect to the Redis of a `redis://`, `rediss://` or `unix://` URL (with its
        user and password) within `timeout_s`; raises `OSError` or `TimeoutError`."""
        options: dict[str, Any] = dict(parse_url(url))
        async with asyncio.timeout(timeout_s):
            kind = options.get("connection_class")
            if kind is UnixDomainSocketConnection:
                reader, writer = await asyncio.open_unix_connection(options["path"])
            else:
                reader, writer = await asyncio.open_connection(
                    options.get("host", "localhost"),
                    options.get("port", 6379),
                    ssl=_tls(options) if kind is SSLConnection else None,
                )
            connection = cls(reader, writer)
            try:
                if options.get("password") is not None:
                    user = options.get("username")
                    connection.send(
                        [
                            ("AUTH", user, options["password"])
                            if user
                            else ("AUTH", options["password"])
                        ]
                    )
                    await connection.reply()
            except BaseException:
                connection.close()
                raise
        return connection

    def send(self, commands: Iterable[Sequence[Argument]]) -> None:
        """Write `commands` (one write for them all); their replies come in order."""
        self._writer.write(b"".join(pack(command) for command in commands))

    async def reply(self) -> Any:
        """The next reply, or message of a subscription; raises `RespError` for an
        error reply and `ConnectionError` when Redis closed the connection."""
        while (reply := self._parser.gets()) is False:
            data = await self._reader.read(_READ_BYTES)
            if not data:
                raise ConnectionError("Redis closed the connection")
            self._parser.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise RespError(str(reply))
        return reply

    def buffered(self) -> Any:
        """A reply already received, or False: no wait, no read."""
        reply = self._parser.gets()
        if isinstance(reply, hiredis.ReplyError):
            raise RespError(str(reply))
        return reply

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # ConnectionError is an OSError
            await self._writer.wait_closed()


def _tls(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    if str(options.get("ssl_cert_reqs", "required")).lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif str(options.get("ssl_check_hostname", "true")).lower() in ("false", "0", "no"):
        context.check_hostname = False
    return context
