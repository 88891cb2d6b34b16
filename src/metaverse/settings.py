"""One typed settings object, read from the environment and an optional `.env` file.

Names an operator of the original system already knows keep their bare form (`PORT`,
`DATABASE_URL`, ...); everything else is `METAVERSE_*`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AdminSignup = Literal["first-user", "open", "closed"]

JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret


def _bare(name: str) -> AliasChoices:
    return AliasChoices(name, f"METAVERSE_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="METAVERSE_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    port: int = Field(3000, ge=1, le=65535, validation_alias=_bare("PORT"))
    ws_port: int = Field(3001, ge=1, le=65535, validation_alias=_bare("WS_PORT"))
    health_port: int = Field(3002, ge=1, le=65535, validation_alias=_bare("HEALTH_PORT"))
    database_url: str | None = Field(None, validation_alias=_bare("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_bare("REDIS_URL"))
    jwt_secret: SecretStr | None = Field(None, validation_alias=_bare("JWT_SECRET"))
    kafka_broker: str | None = Field(None, validation_alias=_bare("KAFKA_BROKER"))
    service_id: str = Field(
        default_factory=lambda: os.uname().nodename, validation_alias=_bare("SERVICE_ID")
    )

    host: str = "127.0.0.1"
    data_dir: Path = Path("./data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    seed_demo: bool = True
    public_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = []
    forwarded_allow_ips: str = "127.0.0.1"

    admin_signup: AdminSignup = "first-user"
    password_min_length: int = Field(6, ge=6, le=1024)
    access_token_ttl_s: int = Field(15 * 60, ge=30)
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, ge=60)
    # A refresh token presented again less than this long after it was rotated is answered
    # `refresh_conflict` (a client's tabs or retries racing each other) instead of revoking
    # its whole sign-in as stolen; 0 treats every reuse as theft.
    refresh_reuse_grace_s: int = Field(5, ge=0, le=300)
    # Sign-up and sign-in attempts: a token bucket per client address and per username.
    # 0 per minute turns the limit off (for running contract suites from one address).
    auth_rate_per_minute: int = Field(10, ge=0)
    auth_rate_burst: int = Field(5, ge=1)

    # argon2id cost: about 20 ms per hash on a 2-core machine (OWASP's minimum profile).
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_kib: int = Field(19 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(1, ge=1)

    # The realtime gateway. The proximity names are the ones the protocol documents.
    proximity_radius: float = Field(2.0, gt=0, le=50, validation_alias=_bare("PROXIMITY_RADIUS"))
    proximity_leave_radius: float = Field(
        3.0, gt=0, le=60, validation_alias=_bare("PROXIMITY_LEAVE_RADIUS")
    )
    max_call_size: int = Field(6, ge=2, le=50, validation_alias=_bare("MAX_CALL_SIZE"))
    interest_margin: int = Field(4, ge=0, le=100)
    # Origins allowed to open WebSockets besides the platform's own; "*" allows any.
    # Clients that send no Origin (SDKs, bots) are always allowed: the token protects them.
    ws_origins: Annotated[list[str], NoDecode] = []
    move_rate_per_s: float = Field(20, gt=0)
    frame_rate_per_s: float = Field(100, gt=0)
    frame_burst: int = Field(200, ge=1)
    outbox_frames: int = Field(1024, ge=16)
    batch_tick_ms: int = Field(50, ge=1, le=1000)
    ping_interval_s: float = Field(20, gt=0)
    # Several gateways on one Redis: a space's host holds a lease this long and renews it
    # three times as often; when its host is gone, another gateway takes the space over
    # within about this long.
    lease_ttl_s: float = Field(3.0, ge=0.5, le=60)
    # A gateway whose load (users connected, relative to `gateway_capacity`) is above this
    # share hands a new space to the least-loaded live gateway instead of hosting it.
    host_load_threshold: float = Field(0.8, gt=0, le=1)
    gateway_capacity: int = Field(2000, ge=1)
    # What one gateway sends another (a host's frames, a bridge's commands) waits at most
    # this long under load, to leave in one message with what follows (0: every loop turn).
    gateway_linger_ms: float = Field(1.0, ge=0, le=50)
    # How long a stopping gateway (SIGTERM) may take to hand its spaces over before it
    # closes its connections with 1012 (service restart).
    drain_timeout_s: float = Field(10.0, ge=0, le=300)

    @field_validator("cors_origins", "ws_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    # Chat and the event pipeline.
    chat_radius: float = Field(5.0, gt=0, le=100, validation_alias=_bare("CHAT_RADIUS"))
    chat_rate_per_s: float = Field(5, gt=0)
    chat_burst: int = Field(10, ge=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_bare("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: str | None = Field(None, validation_alias=_bare("KAFKA_SASL_MECHANISM"))
    kafka_username: str | None = Field(None, validation_alias=_bare("KAFKA_USERNAME"))
    kafka_password: SecretStr | None = Field(None, validation_alias=_bare("KAFKA_PASSWORD"))
    kafka_ca_file: Path | None = Field(None, validation_alias=_bare("KAFKA_CA_FILE"))
    consumer_group: str = "metaverse-consumer"
    # Records per database transaction at most: a consumer that keeps up writes what came
    # in the last batch wait; one that fell behind catches up in few, large transactions
    # (in `serve` each transaction waits for turns of the busy event loop).
    consumer_batch_size: int = Field(5000, ge=1, le=10_000)
    consumer_batch_wait_ms: int = Field(50, ge=1, le=5_000)
    # How long Kafka waits for a consumer that stopped without leaving its group (killed,
    # its machine lost) before giving its partitions to another; within the broker's
    # group.min/max.session.timeout.ms (6 s to 30 min by default).
    consumer_session_timeout_ms: int = Field(10_000, ge=1_000, le=1_800_000)
    # How long the Kafka producer gathers records into one request: every chat message
    # waits up to this long before it is acked and shown, and the broker does about half
    # the work per message at 10 ms that it does at 5 ms.
    kafka_linger_ms: int = Field(10, ge=0, le=1_000)

    # The browser client. The gateway URL the page is told; unset: built from the request.
    gateway_url: str | None = None
    # ICE servers handed to browsers. TURN credentials are coturn's REST-API ones, made
    # with the secret coturn has as `static-auth-secret`, valid `turn_ttl_s` seconds.
    stun_urls: Annotated[list[str], NoDecode] = []
    turn_urls: Annotated[list[str], NoDecode] = []
    turn_secret: SecretStr | None = None
    turn_ttl_s: int = Field(3600, ge=60, le=7 * 24 * 3600)
    ice_transport_policy: Literal["all", "relay"] = "all"

    @field_validator("stun_urls", "turn_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @model_validator(mode="after")
    def _check_turn(self) -> Settings:
        # A URL a browser refuses makes RTCPeerConnection throw: refuse it at start-up.
        for urls, schemes in (
            (self.stun_urls, ("stun:", "stuns:")),
            (self.turn_urls, ("turn:", "turns:")),
        ):
            for url in urls:
                if not url.startswith(schemes):
                    raise ValueError(f"{url!r} must start with {' or '.join(schemes)}")
        if self.turn_urls and not self.turn_secret:
            raise ValueError("METAVERSE_TURN_URLS needs METAVERSE_TURN_SECRET")
        if self.ice_transport_policy == "relay" and not self.turn_urls:
            raise ValueError("METAVERSE_ICE_TRANSPORT_POLICY=relay needs METAVERSE_TURN_URLS")
        return self

    @model_validator(mode="after")
    def _check_radii(self) -> Settings:
        if self.proximity_leave_radius < self.proximity_radius:
            raise ValueError("PROXIMITY_LEAVE_RADIUS must be at least PROXIMITY_RADIUS")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL; a SQLite file in the data dir when none is set."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'metaverse.db').resolve()}"
        return normalise_database_url(self.database_url)

    def web_origin(self) -> str:
        """The origin the platform's own pages are served from."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def web_origins(self) -> list[str]:
        """Every origin the platform's own pages may be opened from.

        Without a public URL the pages are reachable by each loopback name, and a browser
        sends whichever one the address bar shows.
        """
        origins = [self.web_origin()]
        if not self.public_url:
            for host in ("localhost", "127.0.0.1", "[::1]"):
                origin = f"http://{host}:{self.port}"
                if origin not in origins:
                    origins.append(origin)
        return origins


def normalise_database_url(url: str) -> str:
    """Accept the URL forms operators use and pick the async driver for each."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def resolve_jwt_secret(settings: Settings) -> str:
    """The configured secret, or one generated once and kept (mode 0600) in the data dir.

    There is deliberately no built-in default: a guessable secret lets anyone mint tokens.
    """
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters long")
        return secret
    path = settings.data_dir / JWT_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not both write; the loser reads.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
