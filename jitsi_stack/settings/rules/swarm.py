"""The `swarm.*` settings' rules (a leaf: rules.py imports it). Each problem is one line:
the key, what is wrong, the fix."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ...validators import is_loopback_host, only_this_host, show, unusable_kind

LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*=[A-Za-z0-9._-]+$")
HOST_RE = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
SCHEMES = ("ssh://", "tcp://", "unix://")


def label_constraint(label: str) -> str:
    """`KEY=VALUE` as a Swarm placement constraint."""
    key, _, value = label.partition("=")
    return f"node.labels.{key} == {value}"


def node_ips(value) -> list[str]:
    """A swarm.nodes entry: a list of IPs (or one IP as text)."""
    return [value] if isinstance(value, str) else list(value)


def settings_problems(s) -> list[str]:
    problems = []
    host = s["swarm.docker_host"]
    if host and (not host.startswith(SCHEMES) or any(c.isspace() for c in host)):
        problems.append(
            f"swarm.docker_host: {show(host)} is not a Docker host: use ssh://user@host, "
            "tcp://host:2376 or unix:///path, or leave it empty"
        )
    for key in ("swarm.core_label", "swarm.bridge_label"):
        if s[key] and not LABEL_RE.match(s[key]):
            problems.append(
                f"{key}: {show(s[key])} is not a node label: write KEY=VALUE, e.g. jitsi.jvb=true"
            )
    try:
        local = is_loopback_host(urlsplit(str(s["public_url"])).hostname or "")
    except ValueError:  # the public_url rule says why
        local = False
    node = s["swarm.prosody_node"]
    if node and (not isinstance(node, str) or not HOST_RE.match(node) or len(node) > 63):
        problems.append(
            f"swarm.prosody_node: {show(node)} is not a node hostname: use the name "
            "`docker node ls` shows"
        )
    for name, value in s["swarm.nodes"].items():
        where = f"swarm.nodes.{name}"
        if not isinstance(name, str) or not HOST_RE.match(name) or len(name) > 63:
            problems.append(
                f"swarm.nodes: {show(name)} is not a node hostname: use the name "
                "`docker node ls` shows"
            )
            continue
        if not isinstance(value, (str, list)) or not node_ips(value):
            problems.append(
                f"{where}: must be a list of the node's IP addresses, e.g. [203.0.113.11]"
            )
            continue
        for item in node_ips(value):
            try:
                ip = ipaddress.ip_address(str(item))
            except ValueError:
                problems.append(
                    f"{where}: {show(item)} is not an IP address: write one like 203.0.113.11"
                )
                break
            kind = unusable_kind(ip)
            if kind and not (only_this_host(kind) and local):
                problems.append(
                    f"{where}: {item} is a {kind} address, which cannot carry media to "
                    "browsers: list the node's public or LAN IP"
                )
                break
    return problems
