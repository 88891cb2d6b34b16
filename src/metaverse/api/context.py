"""What a running API needs, built once by the process role and handed to `create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from metaverse.accounts.passwords import Passwords
from metaverse.accounts.ratelimit import RateLimiter
from metaverse.accounts.service import Accounts
from metaverse.accounts.tokens import AccessTokens
from metaverse.clock import Clock
from metaverse.db.engine import make_engine, make_sessionmaker
from metaverse.settings import Settings, resolve_jwt_secret


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    accounts: Accounts
    registry: CollectorRegistry

    @classmethod
    def build(cls, settings: Settings, clock: Clock) -> ApiContext:
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
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=make_sessionmaker(engine),
            accounts=accounts,
            registry=CollectorRegistry(),
        )

    async def close(self) -> None:
        await self.engine.dispose()
