"""`GET /rtc/ice-servers`: who may ask, and what TURN credentials they get."""

from __future__ import annotations

import base64
import hashlib
import hmac

from tests.component.conftest import Api, ApiFactory

PATH = "/api/v1/rtc/ice-servers"


async def test_needs_a_signed_in_user(api: Api) -> None:
    anonymous = await api.client.get(PATH)
    assert anonymous.status_code == 403
    assert anonymous.json()["code"] == "not_authenticated"
    forged = await api.client.get(PATH, headers={"authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid_token"


async def test_without_stun_or_turn_the_list_is_empty(api: Api) -> None:
    _, user = await api.user()
    response = await api.client.get(PATH, headers=user)
    assert response.status_code == 200
    assert response.json() == {"iceServers": [], "iceTransportPolicy": "all", "ttl": 3600}
    assert response.headers["cache-control"] == "no-store"


async def test_stun_only_has_no_credentials(api_factory: ApiFactory) -> None:
    api = await api_factory(stun_urls="stun:127.0.0.1:3478")
    _, user = await api.user()
    answer = (await api.client.get(PATH, headers=user)).json()
    assert answer["iceServers"] == [{"urls": ["stun:127.0.0.1:3478"]}]


async def test_turn_credentials_are_the_callers_and_expire(api_factory: ApiFactory) -> None:
    api = await api_factory(
        stun_urls="stun:127.0.0.1:3478",
        turn_urls="turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp",
        turn_secret="coturn-shared-secret",
        turn_ttl_s=900,
        ice_transport_policy="relay",
    )
    user_id, user = await api.user()
    answer = (await api.client.get(PATH, headers=user)).json()
    assert answer["iceTransportPolicy"] == "relay" and answer["ttl"] == 900
    stun, turn = answer["iceServers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    assert turn["urls"] == [
        "turn:127.0.0.1:3478?transport=udp",
        "turn:127.0.0.1:3478?transport=tcp",
    ]
    expiry = int(api.clock.now()) + 900
    assert turn["username"] == f"{expiry}:{user_id}"
    mac = hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(mac).decode()

    other_id, other = await api.user()
    theirs = (await api.client.get(PATH, headers=other)).json()["iceServers"][1]
    assert theirs["username"] == f"{expiry}:{other_id}"
    assert theirs["credential"] != turn["credential"]

    api.clock.advance(30)
    later = (await api.client.get(PATH, headers=user)).json()["iceServers"][1]
    assert later["username"] == f"{expiry + 30}:{user_id}"
