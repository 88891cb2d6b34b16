"""Control messages: one encoding each, round trips, and what a gateway can't act on."""

from __future__ import annotations

import pytest

from metaverse.protocol.codec import loads
from metaverse.protocol.control import (
    AccessChanged,
    AccountDisabled,
    ControlMessage,
    MapChanged,
    ProfileChanged,
    RoleChanged,
    SpaceDeleted,
    UnknownControl,
    decode_control,
    encode_control,
)

MESSAGES: list[ControlMessage] = [
    SpaceDeleted(space_id="s1"),
    AccessChanged(space_id="s1"),
    MapChanged(space_id="s1"),
    ProfileChanged(user_id="u1"),
    AccountDisabled(user_id="u1"),
    RoleChanged(user_id="u1", role="user"),
    RoleChanged(user_id="u1", role="admin"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.type)
def test_every_message_round_trips(message: ControlMessage) -> None:
    data = encode_control(message)
    assert decode_control(data) == message
    body = loads(data)
    assert body["v"] == 1 and body["type"] == message.type
    assert "space_id" not in body and "user_id" not in body  # camelCase on the wire


def test_the_wire_form_is_fixed() -> None:
    assert loads(encode_control(SpaceDeleted(space_id="s1"))) == {
        "v": 1,
        "type": "space-deleted",
        "spaceId": "s1",
    }


def test_account_disabled_on_the_wire() -> None:
    assert loads(encode_control(AccountDisabled(user_id="u1"))) == {
        "v": 1,
        "type": "account-disabled",
        "userId": "u1",
    }


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1]",
        b'{"type": "space-deleted", "spaceId": "s1"}',  # no version
        b'{"v": 2, "type": "space-deleted", "spaceId": "s1"}',  # a newer one
        b'{"v": 1, "type": "role-changed", "userId": "u1", "role": "guest"}',
        b'{"v": 1, "type": "space-renamed", "spaceId": "s1"}',
        b'{"v": 1, "type": "space-deleted"}',
        b'{"v": 1, "type": "space-deleted", "spaceId": ""}',
        b'{"v": 1, "type": "profile-changed", "userId": 7}',
        b'{"v": 1, "type": "account-disabled"}',
    ],
)
def test_what_this_version_cant_act_on_is_refused(data: bytes) -> None:
    with pytest.raises(UnknownControl):
        decode_control(data)
