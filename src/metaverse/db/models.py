"""The relational schema. Every change here comes with an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from metaverse.db.ids import new_id

Role = Literal["user", "admin"]
Visibility = Literal["public", "private"]
MemberRole = Literal["owner", "moderator", "member"]
AreaKind = Literal["room", "private", "silent", "spawn"]

ROLES: tuple[Role, ...] = ("user", "admin")
VISIBILITIES: tuple[Visibility, ...] = ("public", "private")
MEMBER_ROLES: tuple[MemberRole, ...] = ("owner", "moderator", "member")
AREA_KINDS: tuple[AreaKind, ...] = ("room", "private", "silent", "spawn")
STATUSES = ("available", "busy", "away", "dnd")

# Explicit constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _id() -> Mapped[str]:
    return mapped_column(String(26), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Mapped[str]:
    return mapped_column(
        String(26), ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


class _Placed:
    """An element placed on a map or in a space, by its top-left cell."""

    id: Mapped[str] = _id()
    element_id: Mapped[str] = _fk("elements.id", ondelete="RESTRICT")
    x: Mapped[int] = mapped_column(Integer, nullable=False)
    y: Mapped[int] = mapped_column(Integer, nullable=False)


class _Area:
    """A named rectangle of a map or a space; its kind gives it its rules."""

    __table_args__ = (
        CheckConstraint("kind IN ('room', 'private', 'silent', 'spawn')", name="kind"),
    )
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    x: Mapped[int] = mapped_column(Integer, nullable=False)
    y: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)


class Avatar(Base):
    __tablename__ = "avatars"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    image_url: Mapped[str] = mapped_column(String(2048), nullable=False)
    created_at: Mapped[datetime] = _created()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'admin')", name="role"),
        CheckConstraint("status IN ('available', 'busy', 'away', 'dnd')", name="status"),
    )
    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    display_name: Mapped[str | None] = mapped_column(String(64))
    avatar_id: Mapped[str | None] = _fk("avatars.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="available")
    status_text: Mapped[str | None] = mapped_column(String(140))
    # A guest is a user row that may enter this one space only; it goes with the space.
    # (`use_alter`: spaces refer to users too, and the cycle is broken here.)
    guest_space_id: Mapped[str | None] = mapped_column(
        String(26),
        ForeignKey("spaces.id", ondelete="CASCADE", use_alter=True),
        nullable=True,
        index=True,
    )
    # A disabled account can't sign in, and its tokens stop working.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


# `alice` and `ALICE` are one username (migration 0003); sign-in looks names up through it.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class Element(Base):
    __tablename__ = "elements"
    id: Mapped[str] = _id()
    image_url: Mapped[str] = mapped_column(String(2048), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    static: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Map(Base):
    __tablename__ = "maps"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    thumbnail: Mapped[str | None] = mapped_column(String(2048))
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created()


class MapElement(_Placed, Base):
    __tablename__ = "map_elements"
    map_id: Mapped[str] = _fk("maps.id")


class MapArea(_Area, Base):
    __tablename__ = "map_areas"
    map_id: Mapped[str] = _fk("maps.id")


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (CheckConstraint("visibility IN ('public', 'private')", name="visibility"),)
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    owner_id: Mapped[str] = _fk("users.id")
    map_id: Mapped[str | None] = _fk("maps.id", nullable=True, ondelete="SET NULL")
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    thumbnail: Mapped[str | None] = mapped_column(String(2048))
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="public")
    guests: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()


class SpaceElement(_Placed, Base):
    __tablename__ = "space_elements"
    space_id: Mapped[str] = _fk("spaces.id")


class SpaceArea(_Area, Base):
    __tablename__ = "space_areas"
    space_id: Mapped[str] = _fk("spaces.id")


class SpaceMember(Base):
    __tablename__ = "space_members"
    __table_args__ = (CheckConstraint("role IN ('owner', 'moderator', 'member')", name="role"),)
    space_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created()


class SpaceInvite(Base):
    """A link that makes whoever accepts it a member of a space with `role`.

    `token` is the secret in the link. `uses` only grows, by one conditional UPDATE per
    acceptance, so a link with `max_uses` is never accepted more often than that.
    """

    __tablename__ = "space_invites"
    __table_args__ = (CheckConstraint("role IN ('moderator', 'member')", name="role"),)
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    space_id: Mapped[str] = _fk("spaces.id")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[str] = _fk("users.id")
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """An opaque refresh token, stored only as its SHA-256.

    Tokens of one sign-in form a family; rotation retires a token and issues its successor
    in the same family. Presenting a retired token again revokes the whole family.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _fk("users.id")
    family_id: Mapped[str] = mapped_column(String(26), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


class ChatRoom(Base):
    __tablename__ = "chat_rooms"
    id: Mapped[str] = _id()
    space_id: Mapped[str] = _fk("spaces.id")
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str | None] = mapped_column(String(500))
    private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    owner_id: Mapped[str] = _fk("users.id")
    created_at: Mapped[datetime] = _created()


class ChatRoomMember(Base):
    __tablename__ = "chat_room_members"
    room_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("chat_rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = _created()


class ChatMessage(Base):
    """One chat message, written by the consumer from the event log, idempotently on `id`.

    `conversation` names the ordered stream a message belongs to (the Kafka key), e.g.
    `space:<id>`, `area:<space>:<area>`, `room:<id>`, `dm:<a>:<b>`, `nearby:<space>`.
    A deleted message keeps its row as a tombstone: `deleted_at` set, text emptied.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint("scope IN ('nearby', 'area', 'space', 'direct', 'room')", name="scope"),
        Index("ix_chat_messages_conversation_id", "conversation", "id"),
    )
    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    space_id: Mapped[str] = _fk("spaces.id")
    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    conversation: Mapped[str] = mapped_column(String(160), nullable=False)
    room_id: Mapped[str | None] = _fk("chat_rooms.id", nullable=True)
    area: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(26), nullable=False, index=True)
    sender_name: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient_id: Mapped[str | None] = mapped_column(String(26), index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    ts_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(String(26))


class ChatRead(Base):
    """How far a user has read a conversation: the newest message id they have seen.

    `conversation` is a `ChatMessage.conversation`; `message_id` only ever moves forward
    (ids are time-ordered).
    """

    __tablename__ = "chat_reads"
    user_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    conversation: Mapped[str] = mapped_column(String(160), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(26), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SpaceEvent(Base):
    """A domain event of a space (joins, proximity, calls, status) kept for analytics."""

    __tablename__ = "space_events"
    __table_args__ = (Index("ix_space_events_space_ts", "space_id", "ts_ms"),)
    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    space_id: Mapped[str] = _fk("spaces.id")
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(26))
    call_id: Mapped[str | None] = mapped_column(String(64))
    ts_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)


class PlatformMeta(Base):
    """Small key/value facts about this installation (e.g. that the demo set was seeded)."""

    __tablename__ = "platform_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


ALL_TABLES = [table.name for table in Base.metadata.sorted_tables]
