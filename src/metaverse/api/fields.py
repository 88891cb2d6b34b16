"""Field types shared by request bodies. Every string has a length bound, every number a
range, and every string in a body, however deep, follows the character rule of
`metaverse.text` (`Body` checks them all; a field's type may pick another rule)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, ClassVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from metaverse.text import check_display_name, check_text

MAX_COORD = 9999
INVALID_CHARACTERS = "invalid_characters"


@dataclass(frozen=True)
class Characters:
    """Annotated metadata: the rule a field's strings follow instead of `check_text`."""

    check: Callable[[str], str]


MULTILINE = Characters(partial(check_text, multiline=True))
DISPLAY_NAME = Characters(check_display_name)


def _check_url(value: str) -> str:
    # Images are drawn by browsers: allow web URLs and paths on this server, nothing that
    # a browser would execute (javascript:, data:text/html, ...).
    if value.startswith(("http://", "https://")) or (
        value.startswith("/") and not value.startswith("//")
    ):
        return value
    raise ValueError("must be an http(s) URL or a path starting with /")


Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ImageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(_check_url),
]
DimensionsText = Annotated[str, StringConstraints(max_length=9)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), DISPLAY_NAME]
# Chat text: tabs and newlines allowed; `clean_text` trims and bounds it.
ChatText = Annotated[str, StringConstraints(max_length=20_000), MULTILINE]
Coord = Annotated[int, Field(ge=-MAX_COORD, le=MAX_COORD)]
Size = Annotated[int, Field(ge=1, le=MAX_COORD)]


def _check_of(field: FieldInfo) -> Callable[[str], str]:
    """The rule of the first `Characters` in the field's type (`X | None` included)."""
    metadata = list(field.metadata)
    pending = [field.annotation]
    while pending:
        annotation = pending.pop()
        metadata.extend(getattr(annotation, "__metadata__", ()))
        pending.extend(get_args(annotation))
    return next((m.check for m in metadata if isinstance(m, Characters)), check_text)


def _check_strings(value: Any, check: Callable[[str], str]) -> None:
    if isinstance(value, str):
        try:
            check(value)
        except ValueError as exc:
            raise PydanticCustomError(INVALID_CHARACTERS, str(exc)) from exc
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_strings(item, check)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_strings(key, check)
            _check_strings(item, check)


class Body(BaseModel):
    """Base for request bodies: strict types (no "1" for 1), unknown fields ignored, and
    no string a database can't store (nested bodies check their own fields)."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    _checks: ClassVar[dict[str, Callable[[str], str]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._checks = {name: _check_of(field) for name, field in cls.model_fields.items()}

    @field_validator("*")
    @classmethod
    def _check_characters(cls, value: Any, info: ValidationInfo) -> Any:
        _check_strings(value, cls._checks.get(info.field_name or "", check_text))
        return value
