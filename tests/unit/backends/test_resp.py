"""The RESP encoding of commands, and the TLS settings read from a `rediss://` URL."""

from __future__ import annotations

import ssl

import hiredis

from metaverse.backends.resp import _tls, pack


def test_a_command_is_an_array_of_bulk_strings_that_redis_reads_back() -> None:
    packed = pack(("PUBLISH", "gateway:gw-1", b"\x00\r\n\xff", 7))
    assert packed == (
        b"*4\r\n$7\r\nPUBLISH\r\n$12\r\ngateway:gw-1\r\n$4\r\n\x00\r\n\xff\r\n$1\r\n7\r\n"
    )
    reader = hiredis.Reader()  # RESP requests and replies share the framing
    reader.feed(packed)
    assert reader.gets() == [b"PUBLISH", b"gateway:gw-1", b"\x00\r\n\xff", b"7"]


def test_text_is_sent_as_utf8() -> None:
    assert pack(("PUBLISH", "é")) == b"*2\r\n$7\r\nPUBLISH\r\n$2\r\n\xc3\xa9\r\n"


def test_tls_verifies_unless_the_url_says_not_to() -> None:
    strict = _tls({})
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    lax = _tls({"ssl_cert_reqs": "none"})
    assert lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname
    assert not _tls({"ssl_check_hostname": "false"}).check_hostname
