"""Where the real services for integration tests are: read from the environment.

`scripts/services.sh up` starts them and writes `.services/env`, which `make`
sources. A missing variable skips the test locally and fails it in CI, where
every service must be there.
"""

import os
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
