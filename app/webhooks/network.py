"""Where outbound webhooks may go, and how they get there: no internal addresses, no DNS rebinding, a deadline.

A tenant chooses the URL, so a URL is an attempt to make this server open a connection. Every address a host
resolves to is checked (loopback, private, link-local, unique-local, multicast, unspecified, reserved and
metadata addresses are refused unless ``WEBHOOK_ALLOWED_NETWORKS`` covers them; an IPv6 address that carries an
IPv4 one, mapped, 6to4, Teredo or NAT64, is refused when that IPv4 would be), at creation, on PATCH and at
every delivery. The delivery connects to the very address that was checked: the transport resolves the host
itself, so a second DNS answer cannot switch it. One deadline bounds connect, TLS, request and response
together, so a receiver that answers a byte at a time cannot hold a worker.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import httpcore
import httpx

from app.core.config import Settings, get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Cloud metadata services that are not covered by the link-local check (AWS IPv6, Alibaba).
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"), ipaddress.ip_network("100.100.100.200/32"))
#: NAT64's well-known prefix (RFC 6052): 64:ff9b::a.b.c.d is translated to a.b.c.d.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: 6to4 (deprecated by RFC 7526) counts as not global whatever the Python: 3.11.10+ says so, 3.11.7 does not.
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
#: The message tenants see for any connection failure: socket details would tell open ports from closed.
UNREACHABLE = "could not connect to the endpoint"


class TargetRefused(ValueError):
    """The URL may not be used as a webhook target; the message says why, without network details."""


@dataclass(frozen=True)
class Policy:
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return _policy(settings.webhook_allow_http, settings.webhook_allowed_networks)


@lru_cache
def _policy(allow_http: bool, networks: str) -> Policy:
    return Policy(allow_http, parse_networks(networks))


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``WEBHOOK_ALLOWED_NETWORKS``: comma-separated CIDRs (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def refusal(address: IPAddress, policy: Policy) -> str | None:
    """Why an address may not be reached, or None when it may."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        # 2002:7f00:1:: leads to 127.0.0.1: the IPv4 inside must pass as itself (allow-list included), and
        # allowing the IPv6 range does not open what it carries.
        reason = refusal(embedded, policy)
        if reason is not None:
            return reason
    if any(address in network for network in policy.allowed_networks):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local or any(address in network for network in _METADATA):
        return "a link-local or metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or address.is_reserved or not address.is_global or address in _SIXTOFOUR:
        return "a private or reserved address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address that packets to a 6to4, Teredo (its client) or NAT64 address end up at, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client, already un-obfuscated
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _system_resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


#: host, port -> addresses. The system resolver, which also reads numeric spellings such as ``127.1``,
#: ``2130706433`` and ``0x7f000001`` the way a connection would; tests replace it to stay offline.
resolve: Callable[[str, int], list[IPAddress]] = _system_resolve


def check_syntax(url: str, policy: Policy) -> tuple[str, int]:
    """The URL's host and port, when its form is acceptable; TargetRefused otherwise."""
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise TargetRefused("the URL may not contain spaces or control characters")
    parts = urlsplit(url)
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("must be an https URL" + ("" if policy.allow_http else " (http is not allowed)"))
    if "@" in parts.netloc:
        raise TargetRefused("the URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    return host, port


def allowed_addresses(host: str, port: int, policy: Policy) -> list[IPAddress]:
    """Every address the host resolves to, when all of them may be reached; TargetRefused otherwise."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise TargetRefused(f"the host {host} does not resolve") from None
    if not addresses:
        raise TargetRefused(f"the host {host} does not resolve")
    for address in addresses:
        reason = refusal(address, policy)
        if reason is not None:
            # One bad answer refuses the host: a resolver that mixes in internal addresses is an attack.
            raise TargetRefused(f"the host {host} resolves to {reason}, which webhooks may not reach")
    return addresses


def check_url(url: str, settings: Settings | None = None) -> None:
    """Refuse a URL that a webhook may not use (TargetRefused, with a reason fit for the tenant)."""
    policy = Policy.from_settings(settings or get_settings())
    host, port = check_syntax(url, policy)
    allowed_addresses(host, port, policy)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait is cut to what is left of one overall deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the delivery deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:  # type: ignore[no-untyped-def]
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, self._left(timeout)), self._deadline
        )

    def get_extra_info(self, info: str):  # type: ignore[no-untyped-def]
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, and connects to one it checked (the pin)."""

    def __init__(self, policy: Policy, deadline: float) -> None:
        self._policy, self._deadline = policy, deadline
        self.refused: str | None = None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int]] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = allowed_addresses(host, port, self._policy)
        except TargetRefused as exc:
            self.refused = str(exc)  # kept here: httpx turns the exception into a plain ConnectError
            raise httpcore.ConnectError(str(exc)) from None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the delivery deadline passed")
        timeout = left if timeout is None else min(timeout, left)
        stream = super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded backend; no proxies from the environment (they would bypass it)."""

    def __init__(self, policy: Policy, deadline_seconds: float) -> None:
        super().__init__(trust_env=False, retries=0)
        deadline = time.monotonic() + deadline_seconds
        # httpx builds its pool without a way to pass a network backend; rebuild it with the same TLS context.
        self.backend = _GuardedBackend(policy, deadline)
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, max_connections=1, network_backend=self.backend)

    @property
    def refused(self) -> str | None:
        """Why the host was refused at connect time (its addresses changed since it was stored), if it was."""
        return self.backend.refused
