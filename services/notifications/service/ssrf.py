"""Where a webhook may be delivered: only http(s), and only to public addresses. The host is resolved once per
delivery and the connection goes to the address checked (delivery.py connects to the IP itself), so a name
that changes between the check and the connection cannot slip through. Refused: loopback, private, link-local,
multicast, reserved and unspecified addresses, shared (carrier-grade NAT) space and the cloud metadata endpoints —
unless NOTIFICATIONS_WEBHOOK_ALLOW_CIDRS admits the range (a development receiver); the metadata addresses never."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))
SCHEMES = {"http": 80, "https": 443}


class Refused(ValueError):
    """The URL may not be delivered to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # with the query
    address: str  # the checked IP the connection goes to

    @property
    def host_header(self) -> str:
        default = SCHEMES[self.scheme] == self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if default else f"{host}:{self.port}"


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL without credentials; Refused otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise Refused("only http and https URLs are delivered to")
    if not parts.hostname:
        raise Refused("the URL names no host")
    if parts.username or parts.password:
        raise Refused("credentials in the URL are not accepted (they would travel with every delivery)")
    if parts.fragment:
        raise Refused("a URL fragment is not sent to a server")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or SCHEMES[parts.scheme], path


def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: tuple) -> str | None:
    """Why `address` may not be connected to (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in METADATA):
        return "a cloud metadata address"
    if any(address.version == network.version and address in network for network in allowed):
        return None
    for reason, test in (("an unspecified address", address.is_unspecified),
                         ("a loopback address", address.is_loopback),
                         ("a multicast address", address.is_multicast), ("a link-local address", address.is_link_local),
                         ("a private address", address.is_private), ("a reserved address", address.is_reserved)):
        if test:
            return reason
    if not address.is_global:
        return "not a public address"
    return None


def resolve(url: str, allowed: tuple = ()) -> Target:
    """The URL's target with the address to connect to; Refused if the URL or any address of its host is not
    allowed (a name with one private address among public ones is refused: the resolver picks which one wins)."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"the host {host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for raw in addresses:
        reason = refusal(ipaddress.ip_address(raw.split("%")[0]), allowed)
        if reason:
            raise Refused(f"{host} resolves to {raw}, {reason}")
    return Target(scheme, host, port, path, addresses[0])
