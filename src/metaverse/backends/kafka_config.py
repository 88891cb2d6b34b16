"""The settings' Kafka connection and security options as librdkafka configuration.

Misconfiguration fails here, at start, with the setting's name: credentials that would
be silently ignored, or a SASL protocol without the means to authenticate.
"""

from __future__ import annotations

from typing import Final

SECURITY_PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# The mechanisms a username and password are enough for (GSSAPI and OAUTHBEARER need
# more configuration than the settings offer).
SASL_MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def kafka_config(
    bootstrap: str,
    *,
    security_protocol: str = "PLAINTEXT",
    sasl_mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
) -> dict[str, str]:
    """librdkafka properties shared by producers, consumers and admin clients."""
    if not bootstrap.strip():
        raise ValueError("KAFKA_BROKER is empty")
    protocol = security_protocol.upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise ValueError(
            f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)},"
            f" not {security_protocol!r}"
        )
    config = {"bootstrap.servers": bootstrap.strip(), "security.protocol": protocol}

    if protocol.startswith("SASL_"):
        mechanism = (sasl_mechanism or "").upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(
                f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}"
                f" with {protocol}, not {sasl_mechanism!r}"
            )
        if not username or not password:
            raise ValueError(f"{protocol} needs KAFKA_USERNAME and KAFKA_PASSWORD")
        config |= {"sasl.mechanism": mechanism, "sasl.username": username}
        config["sasl.password"] = password
    elif sasl_mechanism or username or password:
        raise ValueError(
            "KAFKA_SASL_MECHANISM, KAFKA_USERNAME and KAFKA_PASSWORD need"
            f" KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL, not {protocol}"
        )

    if protocol.endswith("SSL"):
        # Without a CA file, librdkafka looks for the system's CA bundle ("probe"): the
        # OpenSSL bundled with the wheels does not know where the distribution keeps it.
        config["ssl.ca.location"] = ca_file or "probe"
    elif ca_file:
        raise ValueError(f"KAFKA_CA_FILE needs an SSL security protocol, not {protocol}")
    return config
