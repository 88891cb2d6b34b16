"""The JSON of hot paths: compact, and no bigger in memory than it is long."""

from __future__ import annotations

import json
import tracemalloc

from metaverse.protocol.codec import dumps, encode, loads

EVENT = {"id": "01m87jhq81s2h241cpwsryba72", "kind": "proximity-entered", "ts": 1, "x": "é"}


def test_json_is_compact_utf8_and_reads_back() -> None:
    assert dumps(EVENT) == json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False).encode()
    assert loads(dumps(EVENT)) == EVENT
    assert json.loads(encode("status", {"text": "ünï"})) == {
        "type": "status",
        "payload": {"text": "ünï"},
    }


def test_kept_records_take_about_their_length() -> None:
    """The memory log keeps up to 100,000 records: each must cost about its length."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [dumps(EVENT) for _ in range(1000)]
        per_record = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert per_record < 4 * len(kept[0])
