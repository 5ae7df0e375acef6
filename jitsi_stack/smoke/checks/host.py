"""What only the machine running the stack can see: health endpoints, Docker, media ports.

jvb-health and jicofo-health read the loopback REST ports; prosody-health runs upstream's
healthcheck in the container and jvb-udp reads the published ports, both through the
deployment's Compose (target.compose); advertise-ips compares
jvb.advertise_ips with the public host.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

import requests

from jitsi_stack.validators import IP, is_loopback_host, is_public_ip, parse_advertise_ip

from ..explain import Outcome, one_line
from ..target import SmokeTarget, bridges, display, hostport, origin
from ..xmpp import Deadline
from . import bridges_text, http_get, operational_bridges

if TYPE_CHECKING:
    pass

HEALTHCHECK = "/usr/local/bin/healthcheck.sh"


def _health(target: SmokeTarget, deadline: Deadline, url: str | None, service: str) -> Outcome:
    if url is None:
        return Outcome("skip", f"{service} URL not set (remote deployment)")
    full = url.rstrip("/") + "/about/health"
    resp = http_get(full, target, deadline, "GET /about/health")
    if 200 <= resp.status_code < 300:
        return Outcome("pass", f"HTTP {resp.status_code} from {display(full)}")
    body = one_line(resp.text, 100)
    detail = f"HTTP {resp.status_code} from {display(full)}" + (f": {body}" if body else "")
    if service == "jicofo" and resp.status_code == 404:
        return Outcome(
            "warn",
            detail,
            "jicofo health checks are disabled, so /about/health does not exist",
            "set JICOFO_ENABLE_HEALTH_CHECKS=1 and recreate jicofo",
        )
    if service == "jicofo":
        cause = "jicofo reports unhealthy: no operational bridge or no XMPP connection"
        fix = "`inv logs jitsi-jicofo jitsi-jvb`"
    else:
        cause = "jvb reports unhealthy: not connected to prosody or its health test failed"
        fix = "`inv logs jitsi-jvb`; check the JVB password and prosody"
    return Outcome("fail", detail, cause, fix)


def check_jvb_health(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """Each bridge's /about/health; the first unhealthy one is the result."""
    every = bridges(target)
    passed = []
    for service, _, url in every:
        try:
            outcome = _health(target, deadline, url, "jvb")
        except requests.ConnectionError as exc:
            if len(every) == 1:
                raise  # explain() names the one bridge's URL
            return _unreachable(service, hostport(url or ""), exc)
        if outcome.status != "pass":
            if len(every) > 1:
                outcome.detail = f"{service}: {outcome.detail}"
                outcome.fix = outcome.fix.replace("jitsi-jvb", service)
            return outcome
        passed.append(outcome.detail)
    if len(every) == 1:
        return Outcome("pass", passed[0])
    return Outcome("pass", f"all {len(every)} bridges healthy: " + "; ".join(passed))


def _unreachable(service: str, where: str, exc: Exception) -> Outcome:
    """One bridge of several does not answer on its colibri port."""
    refused = "refused" in str(exc).lower()
    return Outcome(
        "fail",
        f"{service}: connection refused by {where}"
        if refused
        else f"{service}: {where} does not answer ({one_line(str(exc), 80)})",
        f"nothing answers on {where}: the {service} container is down or its colibri port "
        "is not published on 127.0.0.1",
        f"`inv status`; `inv logs {service}`",
    )


def check_jicofo_health(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """jicofo's /about/health; a healthy answer also names the operational bridges
    (the focus check fails when fewer than expected are operational)."""
    outcome = _health(target, deadline, target.jicofo_url, "jicofo")
    if outcome.status == "pass":
        bridges = operational_bridges(target, deadline)
        if bridges is not None:
            outcome.detail += f"; {bridges_text(bridges, target)}"
    return outcome


def _container_missing(text: str, service: str) -> Outcome | None:
    low = text.lower()
    if "not running" in low or "no container" in low or "no such service" in low:
        return _not_running(text, service)
    return None


def _not_running(text: str, service: str) -> Outcome:
    return Outcome(
        "fail",
        one_line(text, 120),
        f"the {service} container is not running",
        f"`inv start`; `inv logs {service}`",
    )


def check_prosody_health(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """Upstream's healthcheck.sh inside the prosody container (its /health endpoint)."""
    if target.compose is None:
        return Outcome("skip", "no compose project (remote deployment)")
    svc = target.prosody_service
    result = target.compose.exec(svc, HEALTHCHECK, timeout=deadline.left("running docker exec"))
    out = one_line(f"{result.stdout} {result.stderr}", 120)
    if result.ok:
        return Outcome("pass", f"healthcheck.sh in {svc}: {one_line(result.stdout, 80) or 'ok'}")
    missing = _container_missing(out, svc)
    if missing:
        return missing
    if result.returncode in (126, 127) or "no such file" in out.lower():
        return Outcome(
            "fail",
            f"exit {result.returncode}: {out}",
            f"the prosody image has no {HEALTHCHECK} (not an upstream image?)",
            "use the upstream prosody image (ghcr.io/jitsi/prosody)",
        )
    if "HAS ERRORS" in out:
        cause = "prosody reports a module in an error state"
    else:
        cause = "prosody's /health does not answer OK"
    return Outcome("fail", f"exit {result.returncode}: {out}", cause, f"`inv logs {svc}`")


def check_jvb_udp(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """Each bridge's media port is published on the host; firewalls unseen."""
    every = bridges(target)
    passed = []
    for service, port, _ in every:
        outcome = _jvb_udp(target, deadline, service, port)
        if outcome.status != "pass":
            return outcome
        passed.append(outcome.detail)
    return Outcome("pass", "; ".join(passed))


def _jvb_udp(target: SmokeTarget, deadline: Deadline, svc: str, port: int) -> Outcome:
    fix = f"publish {port}/udp (ports.jvb_media) and open it in the firewall"
    if target.compose is None:
        return Outcome(
            "skip",
            f"remote deployment: UDP {port} reachability must be tested from outside "
            "(e.g. a browser call with 3 participants)",
        )
    deadline.left("listing the containers")
    container = target.compose.running(svc)
    if container is None:
        return _not_running(f'service "{svc}" is not running', svc)
    mappings = [
        f"{url or '0.0.0.0'}:{published}"  # noqa: S104 - a label, not a bind
        for url, inner, published, proto in container.publishers
        if inner == port and proto == "udp" and published and url not in ("::", "[::]")
    ]
    if mappings:
        return Outcome(
            "pass",
            f"{svc} {port}/udp published on {', '.join(mappings)} (firewall not checked)",
        )
    return Outcome(
        "fail",
        f"{port}/udp of {svc} is not published (no mapping)",
        "media cannot reach the bridge: calls with 3+ participants lose audio/video",
        fix,
    )


def check_advertise_ips(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """jvb.advertise_ips must hold a public address when the public host is public."""
    ips: list[IP] = []
    bad: list[str] = []
    for entry in target.advertise_ips:
        try:
            ips.append(parse_advertise_ip(entry)[0])
        except ValueError:
            bad.append(entry)
    if bad:
        return Outcome(
            "fail",
            f"not an IP or IP#PORT: {', '.join(repr(b) for b in bad)}",
            "jvb.advertise_ips has malformed entries; jvb would advertise nothing useful",
            "write each entry as IP or IP#PORT, IPv6 without brackets (JVB_ADVERTISE_IPS)",
        )
    host = origin(target.public_url)[1]
    local = is_loopback_host(host)
    shown = ", ".join(target.advertise_ips) or "none"
    if not ips:
        if local:
            return Outcome("pass", f"none set; fine for {host} (media stays on this machine)")
        return Outcome(
            "warn",
            f"no advertised addresses; public host {host}",
            "media will fail when a third participant joins",
            "set jvb.advertise_ips to the host's public address",
        )
    public = [] if local else _addresses(host, deadline)
    if not any(is_public_ip(ip) for ip in ips) and any(is_public_ip(ip) for ip in public):
        return Outcome(
            "warn",
            f"advertised {shown}; {host} is {', '.join(map(str, public))}",
            "only private/loopback addresses are advertised while the public host is public: "
            "remote participants get no reachable media address",
            "add the host's public address to jvb.advertise_ips (JVB_ADVERTISE_IPS)",
        )
    seen = f"; {host} is {', '.join(map(str, public))}" if public else ""
    return Outcome("pass", f"advertised {shown}{seen}")


def _addresses(host: str, deadline: Deadline) -> list[IP]:
    """The addresses of the public host: itself when an IP literal, else its DNS answer."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    deadline.left(f"resolving {host}")
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({ipaddress.ip_address(str(i[4][0]).split("%", 1)[0]) for i in infos}, key=str)
