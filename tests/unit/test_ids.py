from __future__ import annotations

import re

from metaverse.db.ids import new_id


def test_ids_are_url_safe_unique_and_increasing() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", value) for value in ids)
    # Within a millisecond too: each id sorts after the one before it.
    assert ids == sorted(ids)
