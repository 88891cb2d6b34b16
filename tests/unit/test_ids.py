from __future__ import annotations

import re

from metaverse.db.ids import new_id


def test_ids_are_url_safe_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", value) for value in ids)
    # Same millisecond: random tail; across milliseconds: sorted by time prefix.
    assert ids[0][:10] <= ids[-1][:10]
