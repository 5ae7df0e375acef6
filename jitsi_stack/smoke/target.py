"""What the smoke checks probe (:class:`SmokeTarget`) and the URL helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jitsi_stack.deployment import Deployment
    from jitsi_stack.docker import Compose

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True)
class SmokeTarget:
    """Where and what to probe. The defaults are upstream's (for `--url` on a deployment we
    did not render); `from_deployment` fills in every fact of ours."""

    public_url: str  # e.g. "http://localhost:8443" or "https://meet.example.com"
    xmpp_domain: str = "meet.jitsi"
    muc_domain: str = "muc.meet.jitsi"
    anonymous_domain: str | None = "meet.jitsi"  # domain for SASL ANONYMOUS; None = no guests
    websocket_enabled: bool = True
    jicofo_url: str | None = "http://127.0.0.1:8888"  # None when the deployment is not local
    jvb_url: str | None = "http://127.0.0.1:8080"
    jvb_udp_port: int = 10000
    advertise_ips: tuple[str, ...] = ()
    compose: Compose | None = None  # the deployment's `docker compose`; None = remote
    prosody_service: str = "jitsi-prosody"
    jvb_service: str = "jitsi-jvb"
    timeout: float = 10.0  # per-check timeout, seconds
    verify_tls: bool = True
    cafile: str = ""  # trust this CA file (a private CA) instead of the system's
    expected_bridges: int = 1  # jvb instances jicofo must count as operational
    # every bridge: (compose service, UDP media port, colibri URL or None when remote);
    # () = the one bridge of jvb_service, jvb_udp_port and jvb_url
    bridges: tuple[tuple[str, int, str | None], ...] = ()
    auth_type: str | None = None  # "" = off, "internal", "jwt", ...; None = not known
    agent: tuple[str, str] | None = field(default=None, repr=False)  # a probe account's login
    token: str = field(default="", repr=False)  # a probe token, minted for any room
    turn_expected: bool = False  # prosody should hand out TURN servers
    prometheus_service: str = ""  # its compose service when metrics.enabled; "" = none


def bridges(target: SmokeTarget) -> tuple[tuple[str, int, str | None], ...]:
    """Every bridge to check: (service, media port, colibri URL or None)."""
    return target.bridges or ((target.jvb_service, target.jvb_udp_port, target.jvb_url),)


def tls_verify(target: SmokeTarget) -> bool | str:
    """What requests' verify= gets: False, True (system CAs) or the CA file."""
    return (target.cafile or True) if target.verify_tls else False


def tls_context(target: SmokeTarget):
    """An ssl context that verifies as tls_verify says."""
    import ssl

    context = ssl.create_default_context(cafile=target.cafile or None)
    if not target.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def port_of(url: str) -> int | None:
    """The explicit port of url, None when it has none, -1 when it is not a valid port."""
    try:
        return urlsplit(url).port
    except ValueError:  # "host:abc" or out of range
        return -1


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) with default ports filled in; port -1 if invalid."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port_of(url) or DEFAULT_PORTS.get(scheme, 0)


def hostport(url: str) -> str:
    _, host, port = origin(url)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def display(url: str) -> str:
    """The URL without credentials, query or fragment (tokens travel in queries)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = port_of(url)
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def base(target: SmokeTarget) -> str:
    """public_url without credentials, query and trailing slash."""
    return display(target.public_url).rstrip("/")


def ws_base(target: SmokeTarget) -> str:
    """base() with ws:// or wss:// in place of http:// or https://."""
    url = base(target)
    return ("wss" if url.startswith("https:") else "ws") + url[url.index(":") :]


def from_deployment(
    d: Deployment,
    compose: Compose | None,
    *,
    url: str | None = None,
    timeout: float = 10.0,
    verify_tls: bool = True,
    cafile: str = "",
) -> SmokeTarget:
    """What a check must expect from this Deployment; `url` checks another copy of it
    (remote: no container-side checks unless the URL is on this machine)."""
    from jitsi_stack.validators import is_loopback_host

    public = (url or d.urls.public).rstrip("/")
    local = url is None or is_loopback_host(urlsplit(public).hostname or "")
    jvb = d.service("jvb")
    return SmokeTarget(
        public_url=public,
        xmpp_domain=d.domains.xmpp,
        muc_domain=d.domains.muc,
        anonymous_domain=d.anonymous_domain,
        websocket_enabled=bool(d.urls.websocket),
        jicofo_url=f"http://127.0.0.1:{d.port('ports.jicofo_rest').host}" if local else None,
        jvb_url=f"http://127.0.0.1:{d.port('ports.jvb_colibri').host}" if local else None,
        jvb_udp_port=d.port("ports.jvb_media").host,
        advertise_ips=d.advertise_ips,
        compose=compose if local else None,
        prosody_service=d.service("prosody").name,
        jvb_service=jvb.name,
        timeout=timeout,
        verify_tls=verify_tls,
        cafile=cafile,
        expected_bridges=len(d.bridges),
        bridges=tuple(
            (
                b.name,
                b.ports[0].host,
                f"http://127.0.0.1:{b.ports[1].host}" if local else None,
            )
            for b in d.bridges
        ),
        auth_type=d.auth.type,
        turn_expected=d.turn.enabled,
        prometheus_service=d.service("prometheus").name if d.metrics else "",
    )
