from __future__ import annotations

import random
import re

from metaverse.db.ids import _ALPHABET, encode_id, new_id


def test_ids_are_url_safe_unique_and_increasing() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", value) for value in ids)
    # Within a millisecond too: each id sorts after the one before it.
    assert ids == sorted(ids)


def test_an_id_spells_its_value_in_base_32() -> None:
    values = [0, 1, 31, 32, (1 << 128) - 1] + [random.getrandbits(128) for _ in range(200)]
    for value in values:
        spelled = encode_id(value)
        assert len(spelled) == 26
        assert sum(_ALPHABET.index(c) * 32**n for n, c in enumerate(reversed(spelled))) == value
