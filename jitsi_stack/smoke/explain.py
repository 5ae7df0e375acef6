"""Turning what went wrong into an outcome: one line seen, the likely cause, the fix.

Every check returns an :class:`Outcome` or raises; :func:`explain` turns whatever it
raised (a timeout, a refused connection, DNS, TLS, a missing Docker) into an outcome.
The checks whose traffic goes through the web container share one "web is down" cause.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from jitsi_stack.errors import DockerNotInstalled, DockerTimeout

from .target import SmokeTarget, hostport, origin
from .xmpp import ProbeError, ProbeTimeout

# checks whose traffic goes through the web container's public port
WEB_PATH_CHECKS = frozenset({"web", "config-js", "bosh", "websocket", "tls-cert", "auth"})

TIMEOUT_FIX = {
    "web": "the web container accepts connections but does not answer: `inv logs jitsi-web`",
    "config-js": "the web container does not answer: `inv logs jitsi-web`",
    "bosh": "prosody is slow or not answering behind the web container: `inv logs jitsi-prosody`",
    "websocket": "prosody is slow or not answering on /xmpp-websocket: `inv logs jitsi-prosody`",
    "focus": "jicofo is not answering: `inv logs jitsi-jicofo`",
    "jvb-health": "jvb is not answering: `inv logs jitsi-jvb`",
    "jicofo-health": "jicofo is not answering: `inv logs jitsi-jicofo`",
    "prosody-health": "`docker exec` hangs: check the engine and `inv logs jitsi-prosody`",
    "jvb-udp": "listing the containers hangs: check the Docker engine",
    "advertise-ips": "DNS resolution of the public host hangs: check the resolver",
    "tls-cert": "the TLS handshake hangs: check the web container and any proxy in front",
    "auth": "prosody or jicofo is slow to answer a login: `inv logs jitsi-prosody jitsi-jicofo`",
    "turn": "the TURN server does not answer in time: `inv logs jitsi-coturn`; is its port open?",
    "metrics": "Prometheus does not answer in time: `inv logs jitsi-prometheus`",
}


@dataclass
class Outcome:
    """What one check concluded; cause and fix only matter for warn and fail."""

    status: str  # "pass" | "warn" | "fail" | "skip"
    detail: str
    cause: str = ""
    fix: str = ""


class CheckFailed(Exception):
    """Raised inside a check to end it with a prepared outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def merge(items: list[tuple[str, str]]) -> tuple[str, str]:
    """Join (cause, fix) pairs into one cause and one fix, each fix named once."""
    causes = "; ".join(c for c, _ in items)
    fixes: list[str] = []
    for _, f in items:
        if f not in fixes:
            fixes.append(f)
    return causes, "; ".join(fixes)


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """The exception and everything it wraps (cause, context, urllib3 `reason`, args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(
            e
            for e in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args)
            if isinstance(e, BaseException)
        )


def find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]):
    """The first exception of `kind` in exc's chain, or None."""
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def web_down(target: SmokeTarget) -> Outcome:
    hp = hostport(target.public_url)
    return Outcome(
        "fail",
        f"connection refused by {hp}",
        f"nothing answers on {hp}: is the web container running? `inv status`",
        "start it with `inv start`; if it runs, check `inv logs jitsi-web` and that the "
        "published port matches public_url",
    )


def tls_outcome(err: ssl.SSLCertVerificationError, host: str, verify: bool) -> Outcome:
    """Why a certificate is not trusted; a warning only when verify_tls is off."""
    code = getattr(err, "verify_code", 0)
    message = getattr(err, "verify_message", "") or str(err)
    if code in (18, 19):
        cause = "self-signed certificate: browsers will refuse or warn"
        fix = "enable https.letsencrypt or install a certificate (web keys cert.crt + cert.key)"
    elif code == 10:
        cause = "the certificate has expired"
        fix = "renew it: check the acme renewal in `inv logs jitsi-web`, or install a new one"
    elif code == 62:
        cause = f"the certificate is not valid for {host}"
        fix = f"issue the certificate for {host} (LETSENCRYPT_DOMAIN must be the public host)"
    elif code in (20, 21):
        cause = (
            "the chain does not reach a trusted CA (missing intermediate, private CA or "
            "Let's Encrypt staging)"
        )
        fix = "serve the full chain (fullchain.pem); for Let's Encrypt unset the staging option"
    else:
        cause = f"TLS verification failed: {message}"
        fix = "install a valid certificate for the public host"
    if not verify:
        return Outcome(
            "warn", f"certificate not trusted ({message}); verify_tls is off", cause, fix
        )
    return Outcome("fail", f"certificate not trusted: {message}", cause, fix)


def _service_url(name: str, target: SmokeTarget) -> str | None:
    if name in ("focus", "jicofo-health"):
        return target.jicofo_url
    if name == "jvb-health":
        return target.jvb_url
    return target.public_url


def _service_down(name: str, hp: str) -> Outcome:
    if name in ("focus", "jicofo-health"):
        return Outcome(
            "fail",
            f"connection refused by {hp}",
            f"nothing answers on {hp}: the jicofo container is down or its REST port is not "
            "published (needs JICOFO_ENABLE_REST=1 and the 127.0.0.1 port mapping)",
            "`inv status`; `inv logs jitsi-jicofo`",
        )
    if name == "jvb-health":
        return Outcome(
            "fail",
            f"connection refused by {hp}",
            f"nothing answers on {hp}: the jvb container is down or its colibri port is not "
            "published on 127.0.0.1",
            "`inv status`; `inv logs jitsi-jvb`",
        )
    return Outcome(
        "fail", f"connection refused by {hp}", f"nothing answers on {hp}", "`inv status`"
    )


def timed_out(name: str, target: SmokeTarget, detail: str) -> Outcome:
    return Outcome(
        "fail",
        detail,
        f"timed out after {target.timeout:g}s",
        TIMEOUT_FIX.get(name, "check the service logs (`inv logs`)"),
    )


def explain(name: str, exc: BaseException, target: SmokeTarget) -> Outcome:
    """The outcome for an exception a check raised (never raises itself)."""
    if isinstance(exc, CheckFailed):
        return exc.outcome
    timeouts = (ProbeTimeout, DockerTimeout, requests.Timeout, TimeoutError, socket.timeout)
    if find(exc, timeouts):
        stage = getattr(find(exc, ProbeError), "stage", "") or ""
        suffix = f" ({stage})" if stage else ""
        return timed_out(name, target, f"no answer within {target.timeout:g}s{suffix}")
    if find(exc, DockerNotInstalled):
        return Outcome(
            "fail",
            "docker not found on PATH",
            "Docker (Compose v2) is not installed here",
            "install Docker, or check a remote deployment (no compose project)",
        )
    if isinstance(exc, (requests.RequestException, OSError)) or find(exc, OSError):
        return _network(name, exc, target)
    return Outcome(
        "fail",
        f"{type(exc).__name__}: {one_line(str(exc))}",
        "unexpected error while probing",
        "re-run with a longer timeout; report the detail if it persists",
    )


def _network(name: str, exc: BaseException, target: SmokeTarget) -> Outcome:
    via_web = name in WEB_PATH_CHECKS
    url = target.public_url if via_web else _service_url(name, target)
    hp = hostport(url) if url else "?"
    cert = find(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        return tls_outcome(cert, origin(url or "")[1], target.verify_tls)
    if find(exc, ConnectionRefusedError) or "Connection refused" in str(exc):
        return web_down(target) if via_web else _service_down(name, hp)
    if find(exc, socket.gaierror) or "Name or service not known" in str(exc):
        host = origin(url or "")[1]
        return Outcome(
            "fail",
            f"cannot resolve {host}",
            f"DNS has no address for {host}",
            "fix the DNS record or public_url",
        )
    tls = find(exc, ssl.SSLError)
    if tls is not None:
        return Outcome(
            "fail",
            f"TLS handshake with {hp} failed: {one_line(str(tls))}",
            "the port does not speak TLS (plain HTTP behind an https URL?) or uses an "
            "unsupported protocol",
            "use http:// in public_url for a plain-HTTP port, or serve TLS on it",
        )
    if find(exc, (ConnectionResetError, ConnectionAbortedError)) or isinstance(
        exc, requests.ConnectionError
    ):
        return Outcome(
            "fail",
            f"connection to {hp} dropped: {one_line(str(exc))}",
            "the server closed the connection (a proxy or firewall in between, or a "
            "crashing service)",
            "check `inv logs` for the service and any proxy in front of it",
        )
    return Outcome(
        "fail",
        f"{type(exc).__name__}: {one_line(str(exc))}",
        "unexpected error while probing",
        "re-run with a longer timeout; report the detail if it persists",
    )
