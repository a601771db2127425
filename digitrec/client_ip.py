"""The client's IP address, for throttles and login lockouts."""
from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest) -> str:
    """The connection's address, unless it is a trusted proxy (TRUSTED_PROXIES): then the
    nearest address in X-Forwarded-For that is not one.

    Only the right end of the header is believed: each trusted proxy appends the address it
    got the request from, while anything to the left may be written by the client.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(address):
        return address
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([hop.strip() for hop in hops if hop.strip()]):
        if not _is_trusted_proxy(hop):
            try:
                return str(ip_address(hop))
            except ValueError:
                return address  # a trusted proxy wrote no address: go by the proxy's
        address = hop
    return address
