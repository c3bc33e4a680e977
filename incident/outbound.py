"""Where Stormline may send things: public internet addresses, and the private ones a city allows.

An agency's webhook URL is typed by a coordinator or comes in an import; the outbox then POSTs
referrals there, with a caller's name and number when they consented. Left unchecked, that is a way
to make the server talk to itself, to the cloud's metadata service or to the city's internal network
(server-side request forgery), and the delivery's error would tell which ports answer. So:

- when a URL is saved, a host written as an address (in any of the forms a resolver accepts:
  `127.1`, `0x7f000001`, `2130706433`, `[::ffff:127.0.0.1]`) must be a public one, and names that
  are local by definition (`localhost`, `*.localhost`, `*.internal`, `*.local`) are refused;
- when a delivery connects, the name is resolved and every address it resolves to must be public;
  the connection goes to the address that was checked, so a name cannot resolve once to a public
  address for the check and then to a private one for the connection;
- a deployment whose agencies sit on a private network lists those networks or host names in
  `referrals.allow_private` (e.g. `10.20.0.0/16`, `intake.county.internal`).

Users see a generic delivery error; the detail goes to the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LOCAL_NAMES = ("localhost", ".localhost", ".internal", ".local", ".localdomain", ".home.arpa")


class Refused(Exception):
    """An address Stormline must not send to; `str()` says why, for the log and the person saving it."""


@dataclass(frozen=True)
class Policy:
    """Which private networks and host names a deployment allows besides the public internet."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> Policy:
        """A policy from config entries: CIDR networks or addresses, and host names."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def address_allowed(self, address: Address) -> bool:
        """Public, or in an allowed network."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_global and not address.is_multicast:
            return True
        return any(address in network for network in self.networks)

    def check_url(self, url: str) -> None:
        """Refuse a URL whose host is a non-public address or a local name (before any DNS look-up)."""
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as error:
            raise Refused("not a URL") from error
        self.check_host(host)

    def check_host(self, host: str) -> None:
        name = host.lower().rstrip(".")
        if not name:
            raise Refused("no host")
        if name in self.hosts:
            return
        literal = _literal(name)
        if literal is not None:
            if not self.address_allowed(literal):
                raise Refused(f"{host} is not a public address")
            return
        if name == "localhost" or name.endswith(_LOCAL_NAMES) or name == "metadata.google.internal":
            raise Refused(f"{host} is a local name")

    async def resolve(self, host: str, port: int) -> str:
        """The one address to connect to for `host`: every address it resolves to must be allowed."""
        self.check_host(host)
        literal = _literal(host.lower().rstrip("."))
        if literal is not None:
            return str(literal)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise Refused(f"{host} does not resolve")
        if host.lower().rstrip(".") not in self.hosts:
            for address in addresses:
                if not self.address_allowed(address):
                    raise Refused(f"{host} resolves to {address}, not a public address")
        return str(addresses[0])


def _literal(name: str) -> Address | None:
    """The address a host written as one stands for, in every form a resolver accepts, or None."""
    bare = name.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:  # 127.1, 0x7f000001, 2130706433, 0177.0.0.1: inet_aton reads them all as IPv4
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


class _Guarded(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, and to the very address it checked."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, not ours
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await self.policy.resolve(host, port)
        except (Refused, OSError) as error:
            raise httpcore.ConnectError(str(error)) from error
        return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, not ours
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not an outbound address")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through the policy (no proxy from the environment either)."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_Guarded(policy)
        )
