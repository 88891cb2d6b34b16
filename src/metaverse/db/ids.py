"""Identifiers: opaque strings, time-ordered so that newer rows sort after older ones."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """A 26-character, URL-safe, time-ordered id (48-bit ms timestamp + 80 random bits).

    Same layout as a ULID, in lower-case Crockford base32; sortable as a string.
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(alphabet[digit])
    return "".join(reversed(chars))
