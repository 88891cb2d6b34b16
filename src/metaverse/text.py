"""Which characters text may hold: one rule for every string the platform accepts.

Refused everywhere: control characters (Unicode category Cc: U+0000-U+001F and
U+007F-U+009F) and lone surrogates (U+D800-U+DFFF, which JSON can spell as `\\ud800` but
no UTF-8 text, and so no PostgreSQL column, can hold). PostgreSQL also refuses NUL
outright, so without this rule the same input would be stored on SQLite and fail on
PostgreSQL. Multiline text (chat messages) may hold tab, newline and carriage return.

Display names are shown beside other people's, so they also refuse the characters that
make one name look like another: bidi embeddings, overrides and isolates
(U+202A-U+202E, U+2066-U+2069) and zero-width characters (U+200B-U+200D, U+2060, U+FEFF).

The checks are pure; each layer maps the ValueError to its own answer (HTTP 400 with
code `invalid_characters`, a WebSocket `error` frame).
"""

from __future__ import annotations

import re
from typing import Final

_CONTROLS: Final = "\x00-\x1f\x7f-\x9f"
_SURROGATES: Final = "\ud800-\udfff"
_SINGLE_LINE: Final = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
# The same without tab, newline and carriage return.
_MULTILINE: Final = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_SURROGATES}]")
_DISPLAY_NAME: Final = re.compile(
    f"[{_CONTROLS}{_SURROGATES}\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]"
)


def has_forbidden_chars(text: str, *, multiline: bool = False) -> bool:
    """Whether `text` holds a character no stored string may hold."""
    return (_MULTILINE if multiline else _SINGLE_LINE).search(text) is not None


def check_text(text: str, *, multiline: bool = False) -> str:
    """`text` unchanged, or ValueError naming the first forbidden character."""
    found = (_MULTILINE if multiline else _SINGLE_LINE).search(text)
    if found is not None:
        raise ValueError(f"must not contain the character {_spell(found[0])}")
    return text


def check_display_name(text: str) -> str:
    """`text` unchanged, or ValueError if it holds a control, bidi or zero-width character."""
    found = _DISPLAY_NAME.search(text)
    if found is not None:
        raise ValueError(f"must not contain the character {_spell(found[0])}")
    return text


def _spell(char: str) -> str:
    return f"U+{ord(char):04X}"
