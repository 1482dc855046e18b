from __future__ import annotations

from ipaddress import IPv6Address, ip_address, ip_network

import pytest

from worker.egress.policy import EgressPolicy, embedded_ipv4, refusal_reason

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "151.101.1.69",
    "100.63.255.255",  # just below the shared range
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # IPv4-mapped public: the same destination as 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of a public address, as DNS64 gives on IPv6-only networks
    "2002:808:808::1",  # 6to4 of a public address
]

REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "shared",
    "100.127.255.254": "shared",
    "169.254.169.254": "link-local",
    "192.0.0.8": "IETF",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "198.18.0.1": "benchmarking",
    "198.19.255.255": "benchmarking",
    "224.0.0.251": "multicast",
    "239.255.255.250": "multicast",
    "233.252.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fec0::1": "site-local",
    "fc00::1": "unique local",
    "fd12:3456:789a::1": "unique local",
    "ff02::1": "multicast",
    "ff05::2": "multicast",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "2001:2::1": "benchmarking",
    "100::1": "discard-only",
    "64:ff9b:1::a00:1": "local-use NAT64",
    "5f00::1": "not globally routable",
    "::ffff:127.0.0.1": "IPv4-mapped form of 127.0.0.1: loopback",
    "::ffff:10.1.2.3": "IPv4-mapped form of 10.1.2.3: private",
    "::ffff:169.254.169.254": "IPv4-mapped form of 169.254.169.254: link-local",
    "::127.0.0.1": "IPv4-compatible form of 127.0.0.1: loopback",
    "::8.8.8.8": "IPv4-compatible address",
    "::ffff:0:127.0.0.1": "IPv4-translated form of 127.0.0.1",
    "2002:7f00:1::": "6to4 form of 127.0.0.1: loopback",
    "2002:a9fe:a9fe::1": "6to4 form of 169.254.169.254: link-local",
    "64:ff9b::7f00:1": "NAT64 form of 127.0.0.1: loopback",
    "64:ff9b::a9fe:a9fe": "NAT64 form of 169.254.169.254: link-local",
    "64:ff9b::c0a8:101": "NAT64 form of 192.168.1.1: private",
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "Teredo form of 127.0.0.1: loopback",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo form of 192.0.2.45: documentation",
}


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_on_web_ports_are_allowed(address: str) -> None:
    policy = EgressPolicy()
    assert policy.check(address, 443) is None
    assert policy.check(ip_address(address.split("%")[0]), 80) is None


@pytest.mark.parametrize(("address", "why"), REFUSED.items())
def test_non_public_addresses_are_refused_with_their_reason(address: str, why: str) -> None:
    reason = EgressPolicy().check(address, 443)
    assert reason is not None and why in reason, reason
    assert address.split("%")[0] in reason or str(ip_address(address.split("%")[0])) in reason


@pytest.mark.parametrize("port", [0, 1, 21, 22, 25, 6379, 8080, 65535, 65536, -1])
def test_other_ports_are_refused_on_public_addresses(port: int) -> None:
    reason = EgressPolicy().check("8.8.8.8", port)
    assert reason is not None and "port" in reason


def test_the_port_list_can_be_changed() -> None:
    policy = EgressPolicy(allowed_ports={443, 8443})
    assert policy.check("8.8.8.8", 8443) is None
    assert policy.check("8.8.8.8", 80) is not None


def test_an_allowed_network_is_allowed_on_any_port() -> None:
    policy = EgressPolicy([ip_network("127.0.0.0/8")])
    assert policy.check("127.0.0.1", 8000) is None
    assert policy.check("127.0.0.2", 22) is None
    assert policy.check("::ffff:127.0.0.1", 8000) is None, "the mapped form is the same destination"
    assert policy.check("::1", 8000) is not None, "IPv6 loopback is another network"
    assert policy.check("10.0.0.1", 80) is not None
    assert policy.check("8.8.8.8", 22) is not None, "public addresses keep the port list"
    assert policy.check("127.0.0.1", 0) is not None, "port 0 is never a destination"


def test_an_allowed_network_is_exactly_that_network() -> None:
    policy = EgressPolicy(["127.0.0.2/32", "fd00:1::/64"])
    assert policy.check("127.0.0.2", 9000) is None
    assert policy.check("127.0.0.1", 9000) is not None
    assert policy.check("127.0.0.3", 80) is not None
    assert policy.check("fd00:1::5", 9000) is None
    assert policy.check("fd00:2::5", 443) is not None
    assert policy.check("2002:7f00:2::", 80) is not None, "a 6to4 form is not the allowed IPv4 address"


def test_allowed_networks_accept_strings_and_hosts_bits() -> None:
    assert EgressPolicy(["192.168.1.7/24"]).allowed_networks == (ip_network("192.168.1.0/24"),)


def test_embedded_addresses_are_found_in_every_form() -> None:
    loopback = ip_address("127.0.0.1")
    for form, text in [("IPv4-mapped", "::ffff:127.0.0.1"), ("IPv4-compatible", "::127.0.0.1"),
                       ("IPv4-translated", "::ffff:0:7f00:1"), ("NAT64", "64:ff9b::7f00:1"),
                       ("6to4", "2002:7f00:1::"), ("Teredo", "2001:0:4136:e378:8000:63bf:80ff:fffe")]:  # fmt: skip
        assert embedded_ipv4(IPv6Address(text)) == (form, loopback), text
    assert embedded_ipv4(IPv6Address("2606:4700::1111")) is None
    assert embedded_ipv4(IPv6Address("::1")) is None


def test_refusal_reason_is_none_only_for_public_addresses() -> None:
    assert refusal_reason(ip_address("8.8.8.8")) is None
    assert refusal_reason(ip_address("127.0.0.1")) == "loopback"
