"""Rules for what media needs to reach people: the bridge's advertised addresses, TURN,
and the site's own certificate. Part of rules.check; one line per problem."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ...validators import (
    host_is_public,
    is_domain,
    is_loopback_host,
    is_public_ip,
    only_this_host,
    parse_advertise_ip,
    show,
    unusable_kind,
)
from ..layers import Settings


def public_host(s: Settings) -> str:
    """The public_url's host; '' when the URL does not parse (_public_url says why)."""
    try:
        return urlsplit(s["public_url"]).hostname or ""
    except ValueError:
        return ""


def turn_host(s: Settings) -> str:
    """The name clients use for TURN: turn.host, else (bundled) the public_url host."""
    return s["turn.host"] or (urlsplit(s["public_url"]).hostname or "")


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
        # Only when set: left out, turn.tls follows the certificate (settings.derive).
        errors.append(
            "turn.tls: true needs the site's own certificate, which the bundled TURN server "
            "serves: set https.certificate, or remove turn.tls (it then follows the certificate)"
        )
    secret = s["turn.secret"]
    problem = coturn_value_problem(secret) if secret else None
    if problem:
        errors.append(f"turn.secret: {problem}: choose another secret (or leave it empty)")


# The bundled coturn reads its secret from its config file (static-auth-secret=VALUE): what
# its parser would change or print (coturn/coturn 4.17.1, 8024aa63,
# src/apps/relay/mainrelay.c): read_config_file (lines 2872-2975) reads a line with
# fgets(sbuf, sizeof(sbuf) - 1) into 1025 bytes, at most 1023 at a time (a longer line is
# cut in two, the rest logged as "Bad configuration format"; 2913-2917), strips trailing
# isspace() (2930-2933) and logs a line ending in ';' whole (2961-2963); parse_arg_string
# (2832-2857) ends the name at ' ', '=' or TAB, skips every ' ', '=' and TAB after it, and a
# value starting with '"' loses it, trailing blanks and a closing '"'. It is strdup'ed whole
# (add_to_secrets_list, userdb.c 296-301): '#', '$', '*', inner spaces stay as they are.
COTURN_LINE_MAX = 1023
COTURN_SECRET_OPTION = "static-auth-secret="  # noqa: S105 - an option name


def coturn_value_problem(value: str) -> str | None:
    """Why coturn's config file would not give back value as written; None when it does.
    Never quotes the value (it is a secret)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a control character, which coturn's config file cannot hold"
    if value[0] in " =":
        what = "a space" if value[0] == " " else "="
        return f"starts with {what}, which coturn's config file drops"
    if value[0] == '"':
        return "starts with \", which coturn's config file drops"
    if value[-1] == " ":
        return "ends with a space, which coturn's config file drops"
    if value[-1] == ";":
        return "ends with ';', which makes coturn log the line (and the secret)"
    size = len(value.encode("utf-8"))
    if len(COTURN_SECRET_OPTION) + size > COTURN_LINE_MAX:  # the newline may come in a next read
        return (
            f"is {size} bytes, more than the {COTURN_LINE_MAX - len(COTURN_SECRET_OPTION)} "
            "a coturn config line can hold"
        )
    return None


def certificate(s, errors, warnings, strict: bool = False) -> None:
    """The site's own certificate. Expired or not yet valid (a finding of time, not of the
    settings) is an error for `lint` (strict) and a warning for every other task: backup,
    stop, status, logs, users and clean must run on such a deployment; only installing the
    certificate is refused (apply.refuse_lapsed, where render copies it)."""
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
    from ..certs import check

    hosts = [public_host(s)]
    if s["turn.enabled"] and s["turn.server"] == "bundled" and s["turn.tls"]:
        hosts.append(turn_host(s))
    verdict = check(
        s.root / cert,
        s.root / key,
        list(dict.fromkeys(hosts)),
        shown=(show_path(cert), show_path(key)),
    )
    errors += verdict.errors
    warnings += verdict.warnings
    if verdict.lapsed:
        if strict:
            errors.append(verdict.lapsed)
        else:
            warnings.append(f"{verdict.lapsed} (no task installs it until then)")


def show_path(value: str) -> str:
    """A file name as the operator wrote it, cut when long, control characters escaped."""
    text = value if len(value) <= 80 else value[:77] + "..."
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


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
