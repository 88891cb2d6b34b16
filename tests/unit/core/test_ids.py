from __future__ import annotations

import pytest

from metaverse.core.ids import STATUSES, check_status


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_known_statuses_pass(status: str) -> None:
    assert check_status(status) == status


@pytest.mark.parametrize("status", ["", "DND", "offline", "available "])
def test_unknown_statuses_fail(status: str) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        check_status(status)
