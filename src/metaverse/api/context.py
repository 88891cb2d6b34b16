"""What a running API needs, built once by the process role and handed to `create_app`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from metaverse.accounts.passwords import Passwords
from metaverse.accounts.ratelimit import RateLimiter
from metaverse.accounts.service import Accounts
from metaverse.accounts.tokens import AccessTokens
from metaverse.backends.eventlog import EventLog, MemoryEventLog
from metaverse.backends.pubsub import MemoryBroker, MemoryPubSub, PubSub, PubSubUnavailable
from metaverse.chat.pipeline import ChatPipeline
from metaverse.clock import Clock
from metaverse.db.engine import make_engine, make_sessionmaker
from metaverse.health import Check
from metaverse.protocol.control import CONTROL_CHANNEL, ControlMessage, encode_control
from metaverse.settings import Settings, resolve_jwt_secret

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    accounts: Accounts
    registry: CollectorRegistry
    event_log: EventLog
    pubsub: PubSub
    chat: ChatPipeline

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock,
        *,
        event_log: EventLog | None = None,
        pubsub: PubSub | None = None,
    ) -> ApiContext:
        """`event_log` and `pubsub` default to in-memory ones of this process alone."""
        engine = make_engine(settings.resolved_database_url)
        rate_per_s = settings.auth_rate_per_minute / 60
        burst = settings.auth_rate_burst
        accounts = Accounts(
            settings=settings,
            passwords=Passwords(
                time_cost=settings.argon2_time_cost,
                memory_kib=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
            access_tokens=AccessTokens(
                resolve_jwt_secret(settings), settings.access_token_ttl_s, clock
            ),
            clock=clock,
            address_limiter=RateLimiter(rate_per_s=rate_per_s, burst=burst, clock=clock),
            username_limiter=RateLimiter(rate_per_s=rate_per_s, burst=burst, clock=clock),
        )
        event_log = event_log or MemoryEventLog()
        pubsub = pubsub or MemoryPubSub(MemoryBroker())
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=make_sessionmaker(engine),
            accounts=accounts,
            registry=CollectorRegistry(),
            event_log=event_log,
            pubsub=pubsub,
            chat=ChatPipeline(event_log, pubsub),
        )

    async def announce(self, message: ControlMessage) -> None:
        """Tell the gateways about a change just committed (see `gateway.control`). When
        pub/sub is down the change still stands (logged): live spaces show it once their
        people join again."""
        try:
            await self.pubsub.publish(CONTROL_CHANNEL, encode_control(message))
        except PubSubUnavailable:
            log.warning("could not tell the gateways: %s", message, exc_info=True)

    async def ping_database(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def readiness_checks(self) -> dict[str, Check]:
        """What this process depends on: the database, and Redis and Kafka when configured."""
        checks: dict[str, Check] = {"database": self.ping_database}
        if self.settings.redis_url:
            checks["redis"] = self.pubsub.ping
        if self.settings.kafka_broker:
            checks["kafka"] = self.event_log.ping
        return checks

    async def close(self) -> None:
        await self.engine.dispose()
