"""The client IP: the connection's address, or X-Forwarded-For's behind a trusted proxy."""
from ipaddress import ip_network

import pytest
from django.test import RequestFactory

from digitrec.client_ip import client_ip

PROXY = "10.0.0.5"


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/24")]


def test_it_ignores_x_forwarded_for_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_it_ignores_x_forwarded_for_from_an_untrusted_address(behind_proxy):
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_it_takes_the_address_a_trusted_proxy_appended(behind_proxy):
    # The client wrote the first entry itself; the proxy appended the second.
    assert client_ip(_request(PROXY, "198.51.100.1, 203.0.113.9")) == "203.0.113.9"


def test_it_skips_every_trusted_proxy_in_a_chain(behind_proxy):
    assert client_ip(_request(PROXY, "203.0.113.9, 10.0.0.7")) == "203.0.113.9"


def test_it_keeps_the_proxy_address_when_the_header_is_missing_or_not_an_address(behind_proxy):
    assert client_ip(_request(PROXY)) == PROXY
    assert client_ip(_request(PROXY, "unknown")) == PROXY
