"""Refuse webhook URLs that reach inside the network (SSRF guard).

A segment's members are sent wherever ``audience.yaml`` says; a URL that resolves to a
loopback, private, link-local or otherwise non-public address could reach internal services,
so such addresses are refused unless the destination allows their range
(``allow_networks: [loopback]`` or ``[private]``). The host is resolved just before sending;
an attacker controlling DNS could still answer differently to the HTTP client's own lookup a
moment later (DNS rebinding), which only pinning the connection to the checked address would
close.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from audience.errors import ConfigError, TransientError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_kind(address: IPAddress) -> str:
    """``public``, ``loopback``, ``private`` or ``reserved`` (never allowed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_kind(address.ipv4_mapped)
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_link_local or address.is_private:
        return "private"
    return "public" if address.is_global else "private"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve webhook host {host!r}: {exc.strerror}") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_url(url: str, allowed: Iterable[str], destination: str) -> None:
    """Raise :class:`ConfigError` when ``url`` resolves to an address outside ``allowed``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    permitted = {"public", *allowed}
    for address in resolve(host, port):
        kind = address_kind(address)
        if kind not in permitted:
            hint = "" if kind == "reserved" else f"; add allow_networks: [{kind}] to allow it"
            raise ConfigError(
                f"destination {destination!r}: {host} resolves to {kind} address {address}, "
                f"refused{hint}"
            )
