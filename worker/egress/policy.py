"""Which addresses and ports a worker's tools may connect to: the pure core of the egress guard.

The guard judges the address it is about to connect to, never a name, so the same check covers
the first request, redirects, HLS segments and keys, and names that resolve differently the
second time. Only globally routable unicast addresses pass, on the allowed ports (80 and 443 by
default). IPv6 forms that carry an IPv4 address (mapped, compatible, SIIT, 6to4, Teredo, NAT64)
are judged by the IPv4 address they carry as well.

`allowed_networks` is the one escape hatch (tests allow their local media origin): an address
inside one of them is allowed on ANY port, because a test origin or an internal mirror rarely
listens on 80 or 443. Keep those networks as narrow as possible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

DEFAULT_PORTS = frozenset({80, 443})

# Named so that a refusal says why; anything else that is not `is_global` is refused as well.
_REFUSED_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("169.254.0.0/16", "link-local"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)
_REFUSED_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("fc00::/7", "unique local (ULA)"),
    ("ff00::/8", "multicast"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("2001:2::/48", "benchmarking"),
    ("100::/64", "discard-only"),
    ("64:ff9b:1::/48", "local-use NAT64"),
)
_NAMED = tuple((ip_network(net), why) for net, why in _REFUSED_V4 + _REFUSED_V6)

_NAT64 = IPv6Network("64:ff9b::/96")
_SIIT = IPv6Network("::ffff:0:0:0/96")


def _without_scope(address: Address) -> Address:
    if isinstance(address, IPv6Address) and address.scope_id:
        return IPv6Address(int(address))
    return address


def embedded_ipv4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the name of the form, if it carries one."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    value = int(address)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, but not :: or ::1
        return "IPv4-compatible", IPv4Address(value)
    if address in _SIIT:
        return "IPv4-translated", IPv4Address(value & 0xFFFFFFFF)
    if address in _NAT64:
        return "NAT64", IPv4Address(value & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    return None


def refusal_reason(address: Address) -> str | None:
    """Why an address is not a public destination, or None when it is one (ports aside)."""
    address = _without_scope(address)
    if isinstance(address, IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            form, inner = carried
            inner_reason = refusal_reason(inner)
            if inner_reason is not None:
                return f"{form} form of {inner}: {inner_reason}"
            if form in ("IPv4-compatible", "IPv4-translated"):
                return f"{form} address (a deprecated form)"
            if form in ("NAT64", "6to4", "IPv4-mapped"):
                # The packet really goes to the carried address, which is public.
                return None
    for network, why in _NAMED:
        if address.version == network.version and address in network:
            return why
    if address.is_multicast:
        return "multicast"
    if not address.is_global or address.is_reserved:
        return "not globally routable"
    return None


@dataclass(frozen=True, init=False)
class EgressPolicy:
    """Decides whether a worker's tool may open a connection to `address`:`port`.

    `allowed_networks` are allowed whatever they are (loopback included) and on any port;
    every other address must be public and the port one of `allowed_ports`.
    """

    allowed_networks: tuple[Network, ...] = ()
    allowed_ports: frozenset[int] = DEFAULT_PORTS

    def __init__(
        self, allowed_networks: Iterable[Network | str] = (), allowed_ports: Iterable[int] = DEFAULT_PORTS
    ) -> None:
        networks = tuple(
            ip_network(net, strict=False) if isinstance(net, str) else net for net in allowed_networks
        )
        object.__setattr__(self, "allowed_networks", networks)
        object.__setattr__(self, "allowed_ports", frozenset(allowed_ports))

    def is_in_allowed_network(self, address: Address) -> bool:
        address = _without_scope(address)
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # the same destination as the plain IPv4 address
        return any(address.version == net.version and address in net for net in self.allowed_networks)

    def check(self, address: Address | str, port: int) -> str | None:
        """None when the connection is allowed, else the reason it is refused."""
        if isinstance(address, str):
            address = ip_address(address)
        if not 0 < port < 65536:
            return f"port {port} is out of range"
        if self.is_in_allowed_network(address):
            return None
        reason = refusal_reason(address)
        if reason is not None:
            return f"address {address} refused: {reason}"
        if port not in self.allowed_ports:
            return f"port {port} is not allowed"
        return None
