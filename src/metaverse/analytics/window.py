"""The time window an analytics request asks about: parsing and bounds (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from metaverse.errors import InvalidInput

HOUR_MS: Final = 3_600_000
DEFAULT_WINDOW_MS: Final = 24 * HOUR_MS
MAX_WINDOW_MS: Final = 31 * 24 * HOUR_MS
# The last millisecond of year 9999: keeps every instant a valid datetime and a BIGINT.
MAX_INSTANT_MS: Final = 253_402_300_799_999

_DIGITS = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True, slots=True)
class Window:
    """`from_ms <= ts_ms < to_ms`, in epoch milliseconds."""

    from_ms: int
    to_ms: int


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        "the analytics window is invalid", details=[{"field": field, "message": message}]
    )


def parse_instant(text: str, *, field: str) -> int:
    """Epoch milliseconds from `1700000000000` or an ISO-8601 time (UTC when it has no offset)."""
    text = text.strip()
    if _DIGITS.fullmatch(text):
        ms = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _invalid(field, "epoch milliseconds or an ISO-8601 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = round(moment.timestamp() * 1000)
    if not 0 <= ms <= MAX_INSTANT_MS:
        raise _invalid(field, "outside the years 1970 to 9999")
    return ms


def resolve_window(from_text: str | None, to_text: str | None, *, now_ms: int) -> Window:
    """`to` defaults to now and `from` to 24 hours before `to`; `from` < `to`, at most 31 days."""
    to_ms = now_ms if to_text is None else parse_instant(to_text, field="query.to")
    if from_text is None:
        from_ms = max(0, to_ms - DEFAULT_WINDOW_MS)
    else:
        from_ms = parse_instant(from_text, field="query.from")
    if from_ms >= to_ms:
        raise _invalid("query.from", "must be before `to`")
    if to_ms - from_ms > MAX_WINDOW_MS:
        raise _invalid("query.from", "the window is at most 31 days")
    return Window(from_ms, to_ms)
