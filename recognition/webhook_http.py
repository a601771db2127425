"""Sending a webhook: the signature, and a POST that cannot be turned against the server.

SSRF guards: http and https only; the host is resolved once and every address it resolves
to must be public (not private, loopback, link-local, multicast, reserved or unspecified)
unless WEBHOOK_ALLOW_PRIVATE; the connection goes to the address that was checked, so a
second DNS answer cannot swap it (rebinding); redirects are not followed; timeouts are
short and at most WEBHOOK_RESPONSE_MAX_BYTES of the answer is read.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

SIGNATURE_HEADER = "DigitRec-Signature"
SIGNATURE_VERSION = "v1"


class Refused(Exception):
    """The URL is not one a webhook may call; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP to connect to
    path: str


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the timestamp is signed too,
    so a receiver that refuses old timestamps cannot be sent a recorded delivery again."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={mac}"


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return address.is_global and not address.is_multicast


def target(url: str) -> Target:
    """Check ``url`` and resolve its host; raises Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(_("Not a valid URL: %(error)s.") % {"error": exc}) from None
    if parts.scheme not in ("http", "https"):
        raise Refused(_("Only http:// and https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise Refused(_("The URL has no host."))
    if parts.username or parts.password:
        raise Refused(_("The URL must not hold a user name or password."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(_("The host %(host)s cannot be resolved: %(error)s.")
                      % {"host": parts.hostname, "error": exc}) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not _is_public(address):
                raise Refused(_("The host %(host)s resolves to %(address)s, a private, loopback, link-local "
                                "or reserved address: webhooks go to public addresses only.")
                              % {"host": parts.hostname, "address": address})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, str(addresses[0]), path)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes  # at most WEBHOOK_RESPONSE_MAX_BYTES


def post(url: str, body: bytes, headers: dict[str, str]) -> Reply:
    """POST ``body`` to ``url`` once (no retry, no redirect). Raises Refused for a URL that
    may not be called, urllib3's HTTPError when no answer came."""
    where = target(url)
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                              read=settings.WEBHOOK_READ_TIMEOUT_SECONDS)
    options = {"timeout": timeout, "retries": False, "maxsize": 1}
    if where.scheme == "https":
        # Connect to the checked address, but verify the certificate for the host name (SNI).
        pool = urllib3.HTTPSConnectionPool(where.address, where.port, server_hostname=where.host,
                                           assert_hostname=where.host, cert_reqs="CERT_REQUIRED", **options)
    else:
        pool = urllib3.HTTPConnectionPool(where.address, where.port, **options)
    default_port = 443 if where.scheme == "https" else 80
    host = where.host if ":" not in where.host else f"[{where.host}]"
    host_header = host if where.port == default_port else f"{host}:{where.port}"
    try:
        response = pool.urlopen("POST", where.path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, preload_content=False, assert_same_host=False)
        try:
            content = response.read(settings.WEBHOOK_RESPONSE_MAX_BYTES, decode_content=False)
        finally:
            response.release_conn()
        return Reply(response.status, content or b"")
    finally:
        pool.close()
