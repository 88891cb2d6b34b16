"""Settings: names operators know, defaults, URL forms and the generated JWT secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from metaverse.settings import Settings, normalise_database_url, resolve_jwt_secret


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PORT",
        "WS_PORT",
        "HEALTH_PORT",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "KAFKA_BROKER",
        "SERVICE_ID",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"METAVERSE_{name}", raising=False)


def test_defaults() -> None:
    settings = Settings(_env_file=None)
    assert (settings.port, settings.ws_port, settings.health_port) == (3000, 3001, 3002)
    assert settings.data_dir == Path("./data")
    assert settings.admin_signup == "first-user"
    assert settings.access_token_ttl_s == 15 * 60
    assert settings.refresh_token_ttl_s == 30 * 24 * 3600
    assert settings.jwt_secret is None
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("/data/metaverse.db")


def test_bare_and_prefixed_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("WS_PORT", "8081")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/metaverse")
    monkeypatch.setenv("KAFKA_BROKER", "kafka:9092")
    monkeypatch.setenv("SERVICE_ID", "gateway-7")
    monkeypatch.setenv("METAVERSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METAVERSE_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("METAVERSE_ADMIN_SIGNUP", "closed")
    settings = Settings(_env_file=None)
    assert settings.port == 8080 and settings.ws_port == 8081
    assert settings.resolved_database_url == "postgresql+asyncpg://u:p@db/metaverse"
    assert settings.kafka_broker == "kafka:9092" and settings.service_id == "gateway-7"
    assert settings.data_dir == tmp_path
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.admin_signup == "closed"


def test_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PORT=4321\nMETAVERSE_PASSWORD_MIN_LENGTH=10\n")
    settings = Settings(_env_file=env)
    assert settings.port == 4321 and settings.password_min_length == 10


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("PORT", "0"),
        ("PORT", "70000"),
        ("METAVERSE_ADMIN_SIGNUP", "sometimes"),
        ("METAVERSE_PASSWORD_MIN_LENGTH", "3"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str, value: str) -> None:
    monkeypatch.setenv(raw, value)
    with pytest.raises(ValueError):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_database_url_forms(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_generated_jwt_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    first = resolve_jwt_secret(settings)
    path = tmp_path / "data" / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 48
    assert resolve_jwt_secret(settings) == first
    other = Settings(_env_file=None, data_dir=tmp_path / "other")
    assert resolve_jwt_secret(other) != first


def test_configured_jwt_secret_wins_and_must_be_long(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, jwt_secret="s" * 32)
    assert resolve_jwt_secret(settings) == "s" * 32
    assert not (tmp_path / "jwt_secret").exists()
    short = Settings(_env_file=None, data_dir=tmp_path, jwt_secret="short")
    with pytest.raises(ValueError, match="at least 32"):
        resolve_jwt_secret(short)


def test_web_origin() -> None:
    assert Settings(_env_file=None).web_origin() == "http://localhost:3000"
    public = Settings(_env_file=None, public_url="https://meet.example.org/")
    assert public.web_origin() == "https://meet.example.org"
