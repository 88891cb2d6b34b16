"""Where the real services for integration tests are: read from the environment.

`scripts/services.sh up` starts them and writes `.services/env`, which `make`
sources. A missing variable skips the test locally and fails it in CI, where
every service must be there.
"""

import asyncio
import fcntl
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Literal

import pytest

ServiceName = Literal["database", "redis", "kafka"]

_ENV_VARS: dict[ServiceName, str] = {
    "database": "METAVERSE_TEST_DATABASE_URL",
    "redis": "METAVERSE_TEST_REDIS_URL",
    "kafka": "METAVERSE_TEST_KAFKA_BROKER",
}


def service_url(name: ServiceName) -> str:
    """The URL (or, for Kafka, the bootstrap `host:port`) of a running test service."""
    var = _ENV_VARS[name]
    value = os.environ.get(var)
    if value:
        return value
    reason = f"{var} is not set: run `bash scripts/services.sh up && source .services/env`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# Tests that stop and start the shared services hold this lock exclusively; every other
# integration test holds it shared (see tests/integration/conftest.py). The lock is what
# keeps them apart: xdist's `--dist loadgroup` would only keep a group on one worker, and
# with pytest 9.2 it does not even do that (pytest-xdist issue 1386).
SERVICES_LOCK = Path(tempfile.gettempdir()) / "metaverse-test-services.lock"


@asynccontextmanager
async def services_lock(*, exclusive: bool) -> AsyncIterator[None]:
    with SERVICES_LOCK.open("a") as handle:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        await asyncio.to_thread(fcntl.flock, handle.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def services_shared() -> Iterator[None]:
    with SERVICES_LOCK.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
