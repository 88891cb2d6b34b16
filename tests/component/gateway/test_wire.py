"""The hand-built frames of the hot path say exactly what the generic encoder says."""

from __future__ import annotations

import json

import pytest

from metaverse.core import events as ev
from metaverse.core.ids import UserId
from metaverse.gateway.wire import Encoder, batch_frame
from metaverse.protocol.codec import ProtocolError, decode, encode
from metaverse.protocol.messages import Move


@pytest.mark.parametrize("user_id", ["01jabcdefghjkmnpqrstvwxyz0", 'quo"te\\', "ünï €", ""])
@pytest.mark.parametrize(("x", "y"), [(0, 0), (12, 345), (-1, 7)])
def test_movement_frames_are_the_generic_encoding(user_id: str, x: int, y: int) -> None:
    encoder = Encoder({}, {})
    event = ev.Movement((UserId("someone"),), UserId(user_id), x, y)
    assert encoder.movement(event) == encoder.frame(event, with_profiles=False)
    assert encoder.movement(event) == encode("movement", {"userId": user_id, "x": x, "y": y})


def test_a_forgotten_mover_is_encoded_afresh() -> None:
    encoder = Encoder({}, {})
    encoder.movement(ev.Movement((), UserId("a"), 1, 2))
    encoder.forget(UserId("a"))
    encoder.forget(UserId("never-moved"))
    assert json.loads(encoder.movement(ev.Movement((), UserId("a"), 3, 4)))["payload"]["x"] == 3


def test_a_batch_holds_its_frames_in_order() -> None:
    frames = [encode("movement", {"userId": "a", "x": n, "y": 0}) for n in range(3)]
    batch = json.loads(batch_frame(frames))
    assert batch == {"type": "batch", "payload": {"messages": [json.loads(f) for f in frames]}}


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"move","payload":{"x":12,"y":-3}}',
        '{"type":"move","payload":{"x":0,"y":1000000}}',
        '{"type":"move", "payload":{"x":1,"y":2}}',
        '{"type":"move","payload":{"y":2,"x":1}}',
    ],
)
def test_moves_decode_alike_however_spelled(text: str) -> None:
    assert decode(text) == Move(
        x=json.loads(text)["payload"]["x"], y=json.loads(text)["payload"]["y"]
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"type":"move","payload":{"x":1000001,"y":0}}', "invalid_message"),
        ('{"type":"move","payload":{"x":01,"y":0}}', "invalid_json"),
        ('{"type":"move","payload":{"x":1.5,"y":0}}', "invalid_message"),
        ('{"type":"move","payload":{"x":"1","y":0}}', "invalid_message"),
    ],
)
def test_bad_moves_are_refused_as_before(text: str, code: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode(text)
    assert raised.value.code == code
