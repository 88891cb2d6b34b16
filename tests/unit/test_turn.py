"""TURN credentials in coturn's REST-API scheme, and the ICE servers handed to browsers."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from metaverse.clock import FakeClock
from metaverse.rtc import ice_servers, turn_credential
from metaverse.settings import Settings

ICE_ENV = (
    "METAVERSE_STUN_URLS",
    "METAVERSE_TURN_URLS",
    "METAVERSE_TURN_SECRET",
    "METAVERSE_TURN_TTL_S",
    "METAVERSE_ICE_TRANSPORT_POLICY",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ICE_ENV:
        monkeypatch.delenv(name, raising=False)


def coturn_password(secret: str, username: str) -> str:
    # coturn (turnserver.conf, "use-auth-secret"): base64(hmac-sha1(secret, username)).
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def test_credential_follows_coturns_scheme() -> None:
    turn = turn_credential("north", "user-42", 1_700_003_600)
    assert turn.username == "1700003600:user-42"
    assert turn.credential == coturn_password("north", "1700003600:user-42")
    # A SHA-1 MAC is 20 bytes: 28 base64 characters with one pad.
    assert len(turn.credential) == 28 and turn.credential.endswith("=")


def test_credential_depends_on_secret_user_and_expiry() -> None:
    base = turn_credential("north", "u1", 100)
    assert turn_credential("south", "u1", 100).credential != base.credential
    assert turn_credential("north", "u2", 100).credential != base.credential
    assert turn_credential("north", "u1", 101).credential != base.credential


def test_no_servers_configured_is_a_valid_answer() -> None:
    answer = ice_servers(Settings(_env_file=None), FakeClock(), "u1")
    assert answer == {"iceServers": [], "iceTransportPolicy": "all", "ttl": 3600}


def test_stun_and_turn_with_expiring_credentials() -> None:
    settings = Settings(
        _env_file=None,
        stun_urls="stun:stun.example.org:3478",
        turn_urls="turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349",
        turn_secret="s3cret",
        turn_ttl_s=600,
        ice_transport_policy="relay",
    )
    clock = FakeClock(start_s=1_700_000_000.75)
    answer = ice_servers(settings, clock, "u1")
    stun, turn = answer["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    assert turn["username"] == "1700000600:u1"
    assert turn["credential"] == coturn_password("s3cret", "1700000600:u1")
    assert answer["iceTransportPolicy"] == "relay" and answer["ttl"] == 600
    clock.advance(60)
    assert ice_servers(settings, clock, "u1")["iceServers"][1]["username"] == "1700000660:u1"


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAVERSE_STUN_URLS", "stun:a:3478,stun:b:3478")
    monkeypatch.setenv("METAVERSE_TURN_URLS", "turn:127.0.0.1:3478")
    monkeypatch.setenv("METAVERSE_TURN_SECRET", "s")
    monkeypatch.setenv("METAVERSE_TURN_TTL_S", "120")
    monkeypatch.setenv("METAVERSE_ICE_TRANSPORT_POLICY", "relay")
    settings = Settings(_env_file=None)
    assert settings.stun_urls == ["stun:a:3478", "stun:b:3478"]
    assert settings.turn_urls == ["turn:127.0.0.1:3478"]
    assert settings.turn_secret is not None and settings.turn_secret.get_secret_value() == "s"
    assert (settings.turn_ttl_s, settings.ice_transport_policy) == (120, "relay")


@pytest.mark.parametrize(
    "values",
    [
        {"turn_urls": "turn:t:3478"},  # no secret to sign credentials with
        {"ice_transport_policy": "relay"},  # relay-only with no relay
        {"ice_transport_policy": "turn-only"},
        {"stun_urls": "http://stun.example.org"},
        {"turn_urls": "stun:t:3478", "turn_secret": "s"},
        {"turn_urls": "turn:t:3478", "turn_secret": "s", "turn_ttl_s": 10},
    ],
)
def test_unusable_ice_settings_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings(_env_file=None, **values)  # type: ignore[arg-type]
