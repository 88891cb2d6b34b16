"""Control messages: what the API tells the gateways about changes it made, over pub/sub.

Every gateway subscribes to `CONTROL_CHANNEL` and acts on the messages for the spaces and
people it has; the API publishes one after the change is committed. Each message is a typed
model with one wire name, encoded as `{"v": 1, "type": ..., ...fields}`. A gateway ignores
a message of a newer version or an unknown type (logged), so the API can be upgraded first.

Messages name what changed, not the new state: the gateway reads the state from the
database, so a message that arrives late or twice does no harm.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from metaverse.protocol.codec import dumps, loads

CONTROL_CHANNEL: Final = "control"
CONTROL_VERSION: Final = 1

Id = Annotated[str, Field(min_length=1, max_length=64)]


class Control(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class SpaceDeleted(Control):
    """The space is gone: everyone in it is told (`space_deleted`) and closed (4004)."""

    type: Literal["space-deleted"] = "space-deleted"
    space_id: Id = Field(alias="spaceId")


class AccessChanged(Control):
    """Who may enter the space changed (a member removed, the space made private):
    everyone in it who no longer may is told (`access_revoked`) and closed (4003)."""

    type: Literal["access-changed"] = "access-changed"
    space_id: Id = Field(alias="spaceId")


class MapChanged(Control):
    """Elements were placed in or removed from the space (or its areas changed): the live
    space takes its layout again and clients with `live` get `map-changed`."""

    type: Literal["map-changed"] = "map-changed"
    space_id: Id = Field(alias="spaceId")


class ProfileChanged(Control):
    """A person changed their display name, avatar, status or status text: every space
    they are in shows it at once (`profile`, `status`)."""

    type: Literal["profile-changed"] = "profile-changed"
    user_id: Id = Field(alias="userId")


class AccountDisabled(Control):
    """A platform admin disabled the account: every connection of that person, in any
    space, is told (`account_disabled`) and closed (4001)."""

    type: Literal["account-disabled"] = "account-disabled"
    user_id: Id = Field(alias="userId")


class RoleChanged(Control):
    """A platform admin promoted or demoted the account: its connections go by the new
    role, and one that no longer makes it an admin is checked again in every space it is
    in (`access_revoked`, 4003, where it may no longer be)."""

    type: Literal["role-changed"] = "role-changed"
    user_id: Id = Field(alias="userId")
    role: Literal["user", "admin"]


ControlMessage = (
    SpaceDeleted | AccessChanged | MapChanged | ProfileChanged | AccountDisabled | RoleChanged
)
_MESSAGES: TypeAdapter[ControlMessage] = TypeAdapter(
    Annotated[ControlMessage, Field(discriminator="type")]
)


class UnknownControl(ValueError):
    """Bytes on the control channel that this version can't act on."""


def encode_control(message: ControlMessage) -> bytes:
    return dumps({"v": CONTROL_VERSION, **message.model_dump(by_alias=True)})


def decode_control(data: bytes) -> ControlMessage:
    """The message `data` carries; raises `UnknownControl` if it is not one of this version's."""
    try:
        body = loads(data)
    except ValueError as error:
        raise UnknownControl("not JSON") from error
    if not isinstance(body, dict) or body.get("v") != CONTROL_VERSION:
        raise UnknownControl(f"not a version {CONTROL_VERSION} control message")
    try:
        return _MESSAGES.validate_python(body)
    except ValidationError as error:
        raise UnknownControl(str(error.errors()[0]["msg"])) from error
