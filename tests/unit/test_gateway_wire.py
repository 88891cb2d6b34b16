"""Messages between gateways: each round-trips through its one encoding; other versions and
malformed bytes are refused."""

from __future__ import annotations

import pytest

from metaverse.protocol.codec import loads
from metaverse.protocol.gateways import (
    Attach,
    Close,
    Commands,
    Detach,
    Frames,
    GatewayMessage,
    GatewayWireError,
    Handoff,
    HostChanged,
    HostRequest,
    LoadReport,
    Resync,
    UserSeat,
    decode_gateway,
    encode_gateway,
    gateway_channel,
)

SEAT = UserSeat(
    user_id="u1",
    profile={"username": "ann", "displayName": "Ann", "avatarUrl": None},
    status="busy",
    status_text="writing",
    capabilities=("chat", "profiles"),
    announce_capabilities=True,
    is_admin=False,
    viewport=(0, 0, 20, 10),
    at=(3, 4),
)
PLAIN_SEAT = UserSeat("u2", {}, "available", "", (), False, True)

MESSAGES: list[GatewayMessage] = [
    Attach("s1", "gw-b", SEAT),
    Attach("s1", "gw-b", PLAIN_SEAT),
    Commands(
        "s1",
        "gw-b",
        (("u1", '{"type":"move","payload":{"x":1,"y":2}}'), ("u2", '{"type":"reject-move"}')),
    ),
    Detach("s1", "gw-b", "u1"),
    Detach("s1", "gw-b", "u1", resume=True),
    Resync("s1", "gw-b", 7, (SEAT, PLAIN_SEAT)),
    Frames("s1", 7, (('{"type":"user-left","payload":{"userId":"u3"}}', ("u1", "u2")),)),
    Close("s1", 7, "u1", 4009, "replaced by a newer connection"),
    HostChanged("s1", 8, "gw-c"),
    HostChanged("s1", 9, "gw-c", handoff=True),
    HostRequest("s1", "gw-a"),
    Handoff("s1", "gw-a", 9, {"users": {}}, (SEAT,), {"u1": "gw-b"}),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.KIND)
def test_every_message_round_trips(message: GatewayMessage) -> None:
    data = encode_gateway(message)
    assert decode_gateway(data) == message
    body = loads(data)
    assert (body["v"], body["k"]) == (1, message.KIND)


def test_messages_keep_their_defaults_when_older_senders_leave_them_out() -> None:
    data = b'{"v":1,"k":"detach","space_id":"s","gateway":"g","user_id":"u"}'
    assert decode_gateway(data) == Detach("s", "g", "u", resume=False)


@pytest.mark.parametrize(
    "data",
    [
        b"nope",
        b"[]",
        b'{"v":2,"k":"detach","space_id":"s","gateway":"g","user_id":"u"}',
        b'{"v":1,"k":"teleport"}',
        b'{"v":1,"k":"detach","space_id":"s","gateway":"g"}',
        b'{"v":1,"k":"frames","space_id":"s","epoch":1,"items":[[1,["u"]]]}',
        b'{"v":1,"k":"commands","space_id":"s","gateway":"g","commands":[["u",1]]}',
        b'{"v":1,"k":"commands","space_id":"s","gateway":"g","commands":[["u"]]}',
        b'{"v":1,"k":"attach","space_id":"s","gateway":"g","seat":{"user":"u"}}',
    ],
)
def test_other_versions_and_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(GatewayWireError):
        decode_gateway(data)


def test_load_reports_round_trip_and_say_how_full_a_gateway_is() -> None:
    report = LoadReport("gw-a", connections=500, capacity=2000, at_ms=1)
    assert LoadReport.from_bytes(report.to_bytes()) == report
    assert report.load == 0.25
    with pytest.raises(GatewayWireError):
        LoadReport.from_bytes(b'{"v":2}')


def test_each_gateway_has_a_channel_of_its_own() -> None:
    assert gateway_channel("gw-a") != gateway_channel("gw-b")
