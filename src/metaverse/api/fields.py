"""Field types shared by request bodies. Every string has a length bound, every number a range."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_COORD = 9999


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
Coord = Annotated[int, Field(ge=-MAX_COORD, le=MAX_COORD)]
Size = Annotated[int, Field(ge=1, le=MAX_COORD)]


class Body(BaseModel):
    """Base for request bodies: strict types (no "1" for 1), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)
