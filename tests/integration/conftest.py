"""Integration tests share the real services with tests that restart them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import services_shared

RESTARTS = "service-restarts"


@pytest.fixture(autouse=True)
def _services_not_restarting(request: pytest.FixtureRequest) -> Iterator[None]:
    """Wait while another worker restarts a service, and keep it from doing so meanwhile.

    Tests of the restart group take the lock exclusively themselves (taking it shared here
    too would make them wait for themselves).
    """
    groups = {m.args[0] for m in request.node.iter_markers("xdist_group") if m.args}
    if RESTARTS in groups:
        yield
        return
    with services_shared():
        yield
