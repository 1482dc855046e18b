"""NetworkPolicy semantics for the features haul's manifests use, so the tests can evaluate who
reaches whom: pod selectors with matchLabels in the policy's namespace, ipBlocks with exceptions,
and TCP ports, where a peer is a pod's labels or an IP address. A peer with a namespaceSelector is
outside this model, and a selector with anything but matchLabels is refused rather than guessed at.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def rule_admits(rule: dict[str, Any], peers: str, port: int, peer: dict[str, str] | str) -> bool:
    if rule.get("ports") and not any(p["port"] == port and p["protocol"] == "TCP" for p in rule["ports"]):
        return False
    if peers not in rule:
        return True
    for entry in rule[peers]:
        if isinstance(peer, str) and "ipBlock" in entry:
            address = ipaddress.ip_address(peer)
            block = entry["ipBlock"]
            networks = [ipaddress.ip_network(cidr) for cidr in block.get("except", [])]
            if address in ipaddress.ip_network(block["cidr"]) and not any(address in n for n in networks):
                return True
        elif isinstance(peer, dict) and set(entry) == {"podSelector"} and selects(entry["podSelector"], peer):
            return True
    return False


def policy_allows(
    policies: list[dict[str, Any]], direction: str, pod: dict[str, str], port: int, peer: dict[str, str] | str
) -> bool:
    applying = [p["spec"] for p in policies if selects(p["spec"]["podSelector"], pod)]
    applying = [spec for spec in applying if direction in spec["policyTypes"]]
    rules, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    return not applying or any(rule_admits(r, peers, port, peer) for s in applying for r in s.get(rules, []))
