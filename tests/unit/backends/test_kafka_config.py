"""The settings' Kafka options map onto librdkafka properties, and combinations that
would silently not do what the operator meant are refused at start."""

from __future__ import annotations

from typing import Any

import pytest

from metaverse.backends.kafka_config import kafka_config

BROKER = "kafka-1:9092,kafka-2:9092"


def test_plaintext_is_the_default() -> None:
    assert kafka_config(BROKER) == {"bootstrap.servers": BROKER, "security.protocol": "PLAINTEXT"}


def test_ssl_uses_the_ca_file_or_probes_the_system_bundle() -> None:
    assert kafka_config(BROKER, security_protocol="SSL", ca_file="/etc/ca.pem") == {
        "bootstrap.servers": BROKER,
        "security.protocol": "SSL",
        "ssl.ca.location": "/etc/ca.pem",
    }
    assert kafka_config(BROKER, security_protocol="ssl")["ssl.ca.location"] == "probe"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "scram-sha-512"])
def test_sasl_plaintext_carries_the_credentials(mechanism: str) -> None:
    config = kafka_config(
        BROKER,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        username="ada",
        password="s3cret",
    )
    assert config == {
        "bootstrap.servers": BROKER,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism.upper(),
        "sasl.username": "ada",
        "sasl.password": "s3cret",
    }


def test_sasl_ssl_carries_credentials_and_ca() -> None:
    config = kafka_config(
        BROKER,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        username="ada",
        password="s3cret",
        ca_file="/etc/ca.pem",
    )
    assert config == {
        "bootstrap.servers": BROKER,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "ada",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/ca.pem",
    }
    without_ca = kafka_config(
        BROKER, security_protocol="SASL_SSL", sasl_mechanism="PLAIN", username="a", password="b"
    )
    assert without_ca["ssl.ca.location"] == "probe"


def test_surrounding_spaces_in_the_broker_list_are_dropped() -> None:
    assert kafka_config(f" {BROKER} ")["bootstrap.servers"] == BROKER


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"security_protocol": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"security_protocol": "SASL_SSL", "username": "a", "password": "b"}, "MECHANISM"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "MECHANISM"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}, "KAFKA_USERNAME"),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "username": "a"},
            "KAFKA_PASSWORD",
        ),
        ({"username": "a", "password": "b"}, "SASL_PLAINTEXT or SASL_SSL"),
        ({"security_protocol": "SSL", "sasl_mechanism": "PLAIN"}, "SASL_PLAINTEXT or SASL_SSL"),
        ({"ca_file": "/etc/ca.pem"}, "KAFKA_CA_FILE"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "username": "a",
                "password": "b",
                "ca_file": "/etc/ca.pem",
            },
            "KAFKA_CA_FILE",
        ),
    ],
)
def test_misconfiguration_is_refused(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        kafka_config(BROKER, **options)


def test_an_empty_broker_list_is_refused() -> None:
    with pytest.raises(ValueError, match="KAFKA_BROKER"):
        kafka_config("  ")
