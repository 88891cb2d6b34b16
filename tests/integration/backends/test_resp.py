"""`RespConnection` against the real Redis: what redis-py did for us, done right."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from metaverse.backends.pubsub import PubSubUnavailable
from metaverse.backends.pubsub_redis import RedisPubSub
from metaverse.backends.resp import RespConnection, RespError
from tests.integration.backends.conftest import sharing, unique
from tests.services import service_url


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f":{password}@{parts.hostname}:{parts.port}"))


async def test_a_password_in_the_url_is_sent_and_a_refusal_is_an_error() -> None:
    url = service_url("redis")
    async with sharing(url):
        # The test Redis has no password: AUTH is refused, which shows that it was sent.
        with pytest.raises(RespError, match="AUTH"):
            await RespConnection.open(with_password(url, "secret"), timeout_s=2)
        client = RedisPubSub(with_password(url, "secret"), timeout_s=2)
        try:
            with pytest.raises(PubSubUnavailable, match="refused"):
                await client.publish(unique("auth"), b"x")
        finally:
            await client.close()


async def test_replies_come_in_order_and_errors_leave_the_connection_usable() -> None:
    url = service_url("redis")
    async with sharing(url):
        connection = await RespConnection.open(url, timeout_s=2)
        try:
            channel = unique("resp")
            connection.send([("PUBLISH", channel, b"a"), ("NOSUCHCOMMAND",), ("PING",)])
            await connection.drain()
            assert await connection.reply() == 0  # nobody subscribed
            with pytest.raises(RespError):
                await connection.reply()
            assert await connection.reply() == b"PONG"
            assert connection.buffered() is False
        finally:
            await connection.aclose()
