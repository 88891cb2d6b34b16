from __future__ import annotations

import dataclasses

import pytest

from metaverse.core import events
from metaverse.core.events import DomainEvent, Outgoing

OUTGOING: list[type[Outgoing]] = [
    c for c in vars(events).values() if isinstance(c, type) and issubclass(c, Outgoing)
]
DOMAIN: list[type[DomainEvent]] = [
    c for c in vars(events).values() if isinstance(c, type) and issubclass(c, DomainEvent)
]
EVERY: list[type] = [*OUTGOING, *DOMAIN]


def test_domain_kinds_are_unique() -> None:
    kinds = [c.KIND for c in DOMAIN if c is not DomainEvent]
    assert len(kinds) == len(set(kinds)) == 7


@pytest.mark.parametrize("cls", EVERY, ids=lambda c: c.__name__)
def test_events_are_frozen_slotted_dataclasses(cls: type) -> None:
    assert dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    names = [f.name for f in dataclasses.fields(cls)]
    # Outgoing events say who gets them first; domain events go to the log, to nobody.
    assert (names[:1] == ["recipients"]) == issubclass(cls, Outgoing)
    assert "recipients" not in names[1:]
