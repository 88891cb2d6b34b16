"""Identifiers: opaque strings, time-ordered so that newer rows sort after older ones."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Every pair of digits (ten bits), and where each of a 130-bit value's thirteen pairs starts.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_PAIR_SHIFTS = range(120, -1, -10)
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (ms, random part) of the previous id from this process


def new_id() -> str:
    """A 26-character, URL-safe, time-ordered id (48-bit ms timestamp + 80 random bits).

    Same layout as a ULID, in lower-case Crockford base32; sortable as a string. Within one
    millisecond (or if the clock steps back) ids of this process keep increasing, so chat
    messages sent in a burst keep their order.
    """
    global _last
    now_ms = int(time.time() * 1000)
    with _lock:
        last_ms, last_random = _last
        if now_ms <= last_ms and last_random + 1 < 1 << _RANDOM_BITS:
            now_ms, random_part = last_ms, last_random + 1
        else:
            random_part = int.from_bytes(os.urandom(10), "big")
        _last = (now_ms, random_part)
    return encode_id((now_ms << _RANDOM_BITS) | random_part)


def encode_id(value: int) -> str:
    """The 128-bit `value` as 26 base-32 digits, most significant first.

    Every chat message gets an id: looking digits up two at a time takes a third of the
    time of 26 divisions."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])
