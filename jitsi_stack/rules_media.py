"""Rules for what media needs to reach people: the bridge's advertised addresses, TURN,
and the site's own certificate. Part of rules.check; one line per problem."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .settings import Settings
from .validators import (
    host_is_public,
    is_domain,
    is_loopback_host,
    is_public_ip,
    only_this_host,
    parse_advertise_ip,
    show,
    unusable_kind,
)


def public_host(s: Settings) -> str:
    """The public_url's host; '' when the URL does not parse (_public_url says why)."""
    try:
        return urlsplit(s["public_url"]).hostname or ""
    except ValueError:
        return ""


def advertise(s, errors, warnings, strict=False) -> None:
    ips = []
    auto = "auto" in s["jvb.advertise_ips"]
    stun = s["jvb.stun_server"]
    if stun and not _hostport(stun):
        errors.append(
            f"jvb.stun_server: {show(stun)} is not host:port: write e.g. stun.example.com:3478"
        )
    local = is_loopback_host(public_host(s))
    for item in s["jvb.advertise_ips"]:
        if item == "auto":
            continue
        try:
            ips.append(parse_advertise_ip(item)[0])
        except ValueError:
            errors.append(
                f"jvb.advertise_ips: {show(item)} is not an IP or IP#PORT: write e.g. "
                "203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)"
            )
            continue
        problem = carries_no_media(ips[-1], local)
        if problem:
            errors.append(
                f"jvb.advertise_ips: {item} is {problem}: list the host's public or LAN IP "
                "(or auto)"
            )
            return
    if len(ips) + auto != len(s["jvb.advertise_ips"]):
        return
    mapped = [item for item in s["jvb.advertise_ips"] if "#" in item]
    if mapped and s["jvb.count"] > 1:
        errors.append(
            f"jvb.advertise_ips: {show(mapped[0])} maps one public port, but jvb.count is "
            f"{s['jvb.count']}: list plain IPs (each bridge publishes its own port)"
        )
    if auto and not stun:
        warnings.append(
            "jvb.advertise_ips: auto without jvb.stun_server finds only the LAN address: "
            "name a STUN server for the public one"
        )
    host = public_host(s)
    if is_loopback_host(host) or auto:
        return
    problems = errors if strict else warnings
    if not ips:
        problems.append(
            "jvb.advertise_ips: empty while public_url is not localhost: media fails "
            "when a third participant joins; set the host's public IP (or auto)"
        )
    elif host_is_public(host) and not any(is_public_ip(ip) for ip in ips):
        problems.append(
            "jvb.advertise_ips: only private addresses are advertised while "
            f"public_url ({host}) is public: add the host's public IP (or auto)"
        )


def carries_no_media(ip, local: bool) -> str | None:
    """'a loopback address, which cannot carry media to browsers' for an address no
    browser elsewhere can send media to (validators.unusable_kind); None when it can, or
    when it is loopback or link-local and the public URL is local too (a test host)."""
    kind = unusable_kind(ip)
    if kind is None or (local and only_this_host(kind)):
        return None
    return f"a {kind} address, which cannot carry media to browsers"


def _hostport(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        return False
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return is_domain(host)


def turn(s, errors, warnings) -> None:
    if not s["turn.enabled"]:
        return
    transports = s["turn.transports"]
    if not transports or any(t not in ("udp", "tcp") for t in transports):
        errors.append("turn.transports: use udp, tcp or both, e.g. [udp, tcp]")
    elif len(set(transports)) != len(transports):
        errors.append("turn.transports: a transport is listed twice: list each once")
    host = s["turn.host"]
    if host:
        try:
            kind = unusable_kind(ipaddress.ip_address(host))
        except ValueError:
            if not is_domain(host):
                errors.append(f"turn.host: {show(host)} is not a domain or IP address")
        else:
            if kind and not (only_this_host(kind) and is_loopback_host(public_host(s))):
                errors.append(
                    f"turn.host: {host} is a {kind} address, which browsers cannot reach: "
                    "name the TURN server's public address"
                )
    if s["turn.server"] == "external":
        if not host:
            errors.append("turn.host: required for an external TURN server: set its name")
        if not s["turn.secret"]:
            errors.append(
                "turn.secret: required for an external TURN server: set its shared secret "
                "(coturn's static-auth-secret)"
            )
        return
    low, high = s["turn.relay_min"], s["turn.relay_max"]
    if low > high:
        errors.append(f"turn.relay_min: {low} is above turn.relay_max ({high}): swap them")
    elif high - low >= 500:
        errors.append(
            f"turn.relay_min: {high - low + 1} relay ports is more than the 500 a published "
            "range should hold (Docker runs a proxy per port): narrow turn.relay_min/relay_max"
        )
    if s["turn.tls"] and not s["https.certificate.cert"]:
        errors.append(
            "turn.tls: the bundled TURN server serves TLS with the site's own certificate: "
            "set https.certificate (or turn.tls: false)"
        )


def certificate(s, errors, warnings) -> None:
    cert, key = s["https.certificate.cert"], s["https.certificate.key"]
    if not cert and not key:
        return
    if not cert or not key:
        missing = "https.certificate.cert" if not cert else "https.certificate.key"
        errors.append(f"{missing}: required with the other half of https.certificate: set both")
        return
    if not s["https.enabled"]:
        errors.append("https.certificate: needs https.enabled: true")
    if s["https.letsencrypt.enabled"]:
        errors.append(
            "https.certificate: and https.letsencrypt.enabled are both set: use one of them"
        )
    for k, value in (("https.certificate.cert", cert), ("https.certificate.key", key)):
        path = s.root / value
        if not path.is_file() or path.is_symlink() and not path.resolve().is_file():
            errors.append(f"{k}: {value} is not a file: fix the path")
            return
    from .certs import check
    from .environment import turn_host

    hosts = [public_host(s)]
    if s["turn.enabled"] and s["turn.server"] == "bundled" and s["turn.tls"]:
        hosts.append(turn_host(s))
    problems, notes, _ = check(s.root / cert, s.root / key, list(dict.fromkeys(hosts)))
    errors += problems
    warnings += notes


RETENTION = re.compile(r"^(?:[0-9]+(?:y|w|d|h|m|s|ms))+$")


def metrics(s: Settings, errors: list[str]) -> None:
    """Prometheus's retention, Grafana's address and the metrics network's subnet."""
    retention = s["metrics.retention"]
    if not RETENTION.match(retention) or not re.search(r"[1-9]", retention):
        errors.append(
            f"metrics.retention: {show(retention)} is not a Prometheus duration: "
            "write a number and a unit, e.g. 15d, 12w or 1y"
        )
    try:
        ipaddress.ip_address(s["metrics.grafana_bind"])
    except ValueError:
        errors.append(
            f"metrics.grafana_bind: {show(s['metrics.grafana_bind'])} is not an IP address: "
            "use 127.0.0.1 (this machine) or 0.0.0.0 (every interface)"
        )
    subnet = s["metrics.subnet"]
    try:
        net = ipaddress.IPv4Network(subnet)
    except ValueError:
        errors.append(
            f"metrics.subnet: {show(subnet)} is not an IPv4 network in CIDR notation "
            "(e.g. 10.213.213.0/28)"
        )
        return
    if not net.is_private or net.is_loopback or net.is_link_local:
        errors.append(f"metrics.subnet: {subnet} is not private: use e.g. 10.213.213.0/28")
    elif not 16 <= net.prefixlen <= 29:
        errors.append(f"metrics.subnet: /{net.prefixlen} is outside /16../29: use e.g. /28")
