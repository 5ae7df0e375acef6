"""The Deployment: every fact about the stack, derived once from validated settings.

`build(settings)` returns a frozen Deployment: each service with its compose name,
container, image, published ports (and the setting that owns each), the upstream
variables it receives, depends_on and network aliases; the XMPP domains; the URLs a
browser is given; the variables of jitsi-meet/.env; and what a check must expect.
Rendering, preflight, status, targets, update, rotation, masking and smoke all read
it; none of them derives these facts again. Secrets are not part of it: names,
images and ports do not depend on them, and `dotenv(secrets)` adds their values
only where they are written.

An `env:` value that changes a derived fact flows in here (the XMPP domains,
XMPP_SERVER, ENABLE_XMPP_WEBSOCKET, ENABLE_SUBDOMAINS); the rest of the derived names
are refused under `env:` (upstream.MANAGED).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from ..settings.layers import Settings
from ..settings.schema import FIELDS
from ..settings.upstream import services_reading
from ..store import paths
from ..store.secrets import SECRET_NAMES, is_secret_name
from .dotenv import (
    Domains,
    advertise_ips,
    dotenv_values,
    passthrough_value,
    tpl_bool,
)
from .facts import (
    Auth,
    Certificate,
    Metrics,
    Turn,
    auth_of,
    metrics_of,
    turn_of,
)
from .frontend import Frontend, dev_https, frontend_of

# Upstream services in upstream's order; the first four always run.
CORE = ("web", "prosody", "jicofo", "jvb")
OPTIONAL = ("jibri", "jigasi", "transcriber", "etherpad", "whiteboard")
# coturn is switched on by turn.enabled (with turn.server: bundled), not under services:.
SERVICE_PREFIX = "jitsi-"  # compose service names: jitsi-web, jitsi-prosody, ...
# The transcriber is jigasi in transcriber mode, from the jigasi image (transcriber.yml).
JITSI_IMAGE = {"transcriber": "jigasi"}
# Prosody accounts each internal password belongs to (prosody register-setup).
ACCOUNT_OF = {
    "JICOFO_AUTH_PASSWORD": "focus",
    "JVB_AUTH_PASSWORD": "jvb",
    "JIGASI_XMPP_PASSWORD": "jigasi",
    "JIGASI_TRANSCRIBER_PASSWORD": "transcriber",
    "JIBRI_RECORDER_PASSWORD": "recorder",
    "JIBRI_XMPP_PASSWORD": "jibri",
}
# The networks each service joins. jicofo's REST API (conference requests, debug,
# move-endpoints) and the bridge's colibri API listen on every address of their container
# (JICOFO_ENABLE_REST; jvb.conf `host = 0.0.0.0`): on the network the platform's containers
# share they would be open to all of them. So jicofo, jvb, jigasi and the transcriber
# live on Jitsi's own network, with prosody; the host reaches their APIs through the
# 127.0.0.1 ports, healthchecks run inside. Outbound traffic (STUN, SIP) still works.
NETWORKS = {
    "web": ("platform",),
    "prosody": ("platform", "internal"),
    "jicofo": ("internal",),
    "jvb": ("internal",),
    "jibri": ("platform", "internal"),
    "jigasi": ("internal",),
    "transcriber": ("internal",),
    "etherpad": ("platform",),
    "whiteboard": ("platform",),
    "coturn": ("platform", "internal"),  # relays to the bridge and to the platform's peers
    # metrics.enabled: Prometheus scrapes jicofo and the bridges on Jitsi's own network and
    # prosody on a network of the metrics alone (prosody answers /metrics to its subnet
    # only); Grafana sees Prometheus there and nothing of Jitsi's own network.
    "prometheus": ("internal", "metrics"),
    "grafana": ("metrics",),
}
INTERNAL_KEY = "jitsi-internal"  # the compose key of Jitsi's own network
METRICS_KEY = "jitsi-metrics"  # the compose key of the metrics network
NETWORK_KEYS = {"internal": INTERNAL_KEY, "metrics": METRICS_KEY}
PROSODY_METRICS_ALIAS = "prosody-metrics"  # prosody's name on the metrics network
# Variables whose `env:` value changes a fact derived here.
FLOWING = (
    "XMPP_AUTH_DOMAIN",
    "XMPP_MUC_DOMAIN",
    "XMPP_INTERNAL_MUC_DOMAIN",
    "XMPP_GUEST_DOMAIN",
    "XMPP_HIDDEN_DOMAIN",
    "XMPP_SERVER",
    "ENABLE_XMPP_WEBSOCKET",
    "ENABLE_SUBDOMAINS",
)


@dataclass(frozen=True)
class Port:
    """A published port: host side, container side and the setting that owns it."""

    setting: str
    host: int
    container: int
    protocol: str = "tcp"
    bind: str = ""  # "" = every address; "127.0.0.1" = this machine only
    count: int = 1  # a range of `count` consecutive ports (jigasi's media)

    @property
    def host_ports(self) -> range:
        return range(self.host, self.host + self.count)

    def compose(self) -> str:
        """The compose `ports:` entry."""
        host, inner = str(self.host), str(self.container)
        if self.count > 1:
            host = f"{self.host}-{self.host + self.count - 1}"
            inner = f"{self.container}-{self.container + self.count - 1}"
        address = f"[{self.bind}]" if ":" in self.bind else self.bind  # IPv6 in brackets
        text = f"{address}:{host}:{inner}" if self.bind else f"{host}:{inner}"
        return text if self.protocol == "tcp" else f"{text}/{self.protocol}"


@dataclass(frozen=True)
class Service:
    key: str  # what operators type: web, prosody, jvb, ... (the upstream service name)
    name: str  # the compose service: jitsi-web
    container: str  # the container: callcenter-jitsi-web
    image: str
    ports: tuple[Port, ...] = ()
    env_names: tuple[str, ...] = ()  # variables of jitsi-meet/.env it receives
    depends_on: tuple[tuple[str, str], ...] = ()  # (compose service, condition)
    aliases: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()  # compose network keys: network.name, INTERNAL_KEY
    upstream: str = ""  # the upstream service it runs: jvb for jvb2, jvb3 ...; "" = key
    env_literals: tuple[str, ...] = ()  # NAME=value entries of this service alone

    def aliases_on(self, network: str) -> tuple[str, ...]:
        """The names this service answers to on one of its networks: on the metrics
        network prosody's PROSODY_METRICS_ALIAS alone (an alias of that network resolves
        to the address there, the one prosody's openmetrics_allow_cidr admits)."""
        if network == METRICS_KEY:
            return (PROSODY_METRICS_ALIAS,) if self.key == "prosody" else ()
        return self.aliases

    @property
    def kind(self) -> str:
        """The upstream service: jvb for every bridge."""
        return self.upstream or self.key

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(n for n in self.env_names if n in SECRET_NAMES)


@dataclass(frozen=True)
class Urls:
    public: str  # public_url without a trailing slash
    scheme: str
    host: str
    port: int
    hostport: str  # host[:port] as a browser shows it (NEXT_PUBLIC_JITSI_DOMAIN)
    bosh: str  # what config.js must give the browser, before the path
    websocket: str  # '' when the XMPP websocket is off


@dataclass(frozen=True)
class Deployment:
    root: Path
    project: str
    tag: str  # the Jitsi release the images run (images.tag, or the one `inv update` chose)
    network: str  # shared with the platform's backend and frontend
    network_external: bool
    internal_network: str  # Jitsi's own: jicofo, jvb, jigasi are reachable only here
    metrics: Metrics | None  # Prometheus and Grafana (metrics.enabled)
    restart: str
    health_interval: int
    health_timeout: int
    services: tuple[Service, ...]
    domains: Domains
    urls: Urls
    subdomains: bool  # upstream's ENABLE_SUBDOMAINS: config.js declares `subdir` only then
    anonymous_domain: str | None  # where a guest logs in (SASL ANONYMOUS); None = no guests
    advertise_ips: tuple[str, ...]
    advertise_pending: bool  # `auto` is not detected yet: `inv addresses` must run first
    custom_config_js: str
    extra_files: tuple[Path, ...]
    frontend_file: Path | None
    env: Mapping[str, str | None] = field(repr=False)  # jitsi-meet/.env; None = a secret
    hidden_settings: frozenset[str] = field(repr=False, default=frozenset())
    turn: Turn = Turn()
    certificate: Certificate | None = None
    auth: Auth = Auth()
    drain_timeout: int = 900  # jvb.drain_timeout: seconds a bridge's calls get to end
    drain_on_timeout: str = "continue"  # jvb.drain_on_timeout: continue or stop
    frontend: Frontend | None = None  # what the platform's frontend embeds with

    @property
    def generated_secrets(self) -> tuple[str, ...]:
        """Secrets beyond the six internal passwords that this deployment needs generated."""
        return tuple(n for n, v in self.env.items() if v is None and n not in SECRET_NAMES)

    # -- lookups ------------------------------------------------------------------

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def has(self, key: str) -> bool:
        return any(s.key == key for s in self.services)

    def service(self, key_or_name: str) -> Service:
        if key_or_name == "jvb1":  # the first bridge, when jvb names them all
            key_or_name = "jvb"
        for svc in self.services:
            if key_or_name in (svc.key, svc.name):
                return svc
        raise KeyError(key_or_name)

    def group(self, kind: str) -> list[Service]:
        """Every service running one upstream service: all bridges for jvb."""
        return [svc for svc in self.services if svc.kind == kind]

    @property
    def bridges(self) -> list[Service]:
        return self.group("jvb")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def ports(self, names: list[str] | None = None) -> list[Port]:
        return [p for s in self.services if names is None or s.name in names for p in s.ports]

    def port(self, setting: str) -> Port:
        return next(p for p in self.ports() if p.setting == setting)

    def owner(self, host_port: int) -> tuple[Service, Port] | None:
        """The service and port that publish a host port."""
        for svc in self.services:
            for port in svc.ports:
                if host_port in port.host_ports:
                    return svc, port
        return None

    # -- files ----------------------------------------------------------------------

    @property
    def compose_files(self) -> tuple[Path, ...]:
        return (self.root / paths.COMPOSE_FILE, *self.extra_files)

    def dotenv(self, secrets: Mapping[str, str]) -> dict[str, str]:
        """Every variable of jitsi-meet/.env, secrets filled in."""
        return {k: (secrets[k] if v is None else v) for k, v in self.env.items()}

    def secret(self, name: str, secrets: Mapping[str, str]) -> str:
        """One secret's value: from the settings when the operator set it, else stored."""
        value = self.env.get(name)
        return secrets.get(name, "") if value is None else value

    def hidden(self, secrets: Mapping[str, str]) -> set[str]:
        """Every value that must never be printed."""
        return {v for v in secrets.values() if v} | set(self.hidden_settings)


# -- building -----------------------------------------------------------------------


def _domains(s: Settings, env: Mapping[str, str]) -> Domains:
    d = s["xmpp.domain"]
    return Domains(
        xmpp=d,
        auth=env.get("XMPP_AUTH_DOMAIN", f"auth.{d}"),
        muc=env.get("XMPP_MUC_DOMAIN", f"muc.{d}"),
        internal_muc=env.get("XMPP_INTERNAL_MUC_DOMAIN", f"internal-muc.{d}"),
        guest=env.get("XMPP_GUEST_DOMAIN", f"guest.{d}"),
        hidden=env.get("XMPP_HIDDEN_DOMAIN", f"hidden.{d}"),
        server=env.get("XMPP_SERVER", f"xmpp.{d}"),
        etherpad=f"etherpad.{d}",
        whiteboard=f"whiteboard.{d}",
    )


def _urls(public_url: str, websocket: bool) -> Urls:
    base = public_url.rstrip("/")
    parts = urlsplit(base)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    port = parts.port or default
    rest = base.split("://", 1)[1]
    ws = "wss" if parts.scheme == "https" else "ws"
    return Urls(
        public=base,
        scheme=parts.scheme,
        host=host,
        port=port,
        hostport=shown if port == default else f"{shown}:{port}",
        bosh=f"{base}/",
        websocket=f"{ws}://{rest}/" if websocket else "",
    )


def _services(s: Settings, dom: Domains, env: Mapping[str, str | None], on: list[str]):
    prefix = s["container_prefix"]

    def image(key: str) -> str:
        if key in ("etherpad", "whiteboard", "coturn", "prometheus", "grafana"):
            return s[f"images.{key}"]
        return f"{s['images.repository']}/{JITSI_IMAGE.get(key, key)}:{s['images.tag']}"

    def names_for(key: str) -> tuple[str, ...]:
        # third-party images: only literal variables (Grafana's admin password is one,
        # interpolated by Compose from .env: GF_SECURITY_ADMIN_PASSWORD=${GRAFANA_...})
        # coturn reads its secret from its config file (render._coturn_conf).
        if key in ("etherpad", "whiteboard", "coturn", "prometheus", "grafana"):
            return ()
        return tuple(sorted(n for n in env if key in services_reading(n)))

    web_ports = [Port("ports.http", s["ports.http"], 8000)]
    if s["https.enabled"] or dev_https(s):  # dev_https: the development CA's certificate
        web_ports.append(Port("ports.https", s["ports.https"], 8443))
    media = s["ports.jvb_media"]
    low, high = s["ports.jigasi_min"], s["ports.jigasi_max"]
    prosody = ((f"{SERVICE_PREFIX}prosody", "service_healthy"),)
    spec: dict[str, dict] = {
        "web": {"ports": web_ports, "depends_on": prosody},
        "prosody": {"aliases": (dom.server,)},
        "jicofo": {
            "ports": [Port("ports.jicofo_rest", s["ports.jicofo_rest"], 8888, bind="127.0.0.1")],
            "depends_on": prosody,
        },
        "jvb": {
            "ports": [
                Port("ports.jvb_media", media, media, "udp"),
                Port("ports.jvb_colibri", s["ports.jvb_colibri"], 8080, bind="127.0.0.1"),
            ],
            "depends_on": prosody,
        },
        "jibri": {"depends_on": ((f"{SERVICE_PREFIX}jicofo", "service_healthy"),)},
        "jigasi": {
            "ports": [Port("ports.jigasi_min", low, low, "udp", count=max(1, high - low + 1))],
            "depends_on": prosody,
        },
        "transcriber": {"depends_on": prosody},
        "etherpad": {"aliases": (dom.etherpad,)},
        "whiteboard": {
            "depends_on": ((f"{SERVICE_PREFIX}web", "service_started"),),
            "aliases": (dom.whiteboard,),
        },
        "coturn": {"ports": _coturn_ports(s)},
        "prometheus": {"ports": _metrics_port(s, "metrics.prometheus_port", 9090, "127.0.0.1")},
        "grafana": {
            "ports": _metrics_port(s, "metrics.grafana_port", 3000, s["metrics.grafana_bind"]),
            "depends_on": ((f"{SERVICE_PREFIX}prometheus", "service_started"),),
        },
    }
    services = []
    for key in on:
        svc = Service(
            key=key,
            name=f"{SERVICE_PREFIX}{key}",
            container=f"{prefix}-{key}",
            image=image(key),
            ports=tuple(spec[key].get("ports", ())),
            env_names=names_for(key),
            depends_on=tuple(spec[key].get("depends_on", ())),
            aliases=tuple(spec[key].get("aliases", ())),
            networks=tuple(
                s["network.name"] if n == "platform" else NETWORK_KEYS[n] for n in _networks(s, key)
            ),
        )
        services += _bridges(s, svc) if key == "jvb" else [svc]
    return tuple(services)


def _bridges(s: Settings, first: Service) -> list[Service]:
    """jvb.count bridges: each its own media and colibri port and brewery nickname (jicofo
    keys bridges by it), the rest (account, brewery, image) shared (upstream §4.1)."""
    bridges = []
    for number in range(1, s["jvb.count"] + 1):
        key = "jvb" if number == 1 else f"jvb{number}"
        media = s["ports.jvb_media"] + number - 1
        colibri = s["ports.jvb_colibri"] + number - 1
        literals = [f"JVB_MUC_NICKNAME={key}"]
        names = first.env_names
        if number > 1:  # JVB_PORT in .env is the first bridge's
            names = tuple(n for n in names if n != "JVB_PORT")
            literals.insert(0, f"JVB_PORT={media}")
        bridges.append(
            replace(
                first,
                key=key,
                name=f"{SERVICE_PREFIX}{key}",
                container=f"{first.container.removesuffix('-jvb')}-{key}",
                ports=(
                    Port("ports.jvb_media", media, media, "udp"),
                    Port("ports.jvb_colibri", colibri, 8080, bind="127.0.0.1"),
                ),
                env_names=names,
                env_literals=tuple(literals),
                upstream="jvb",
            )
        )
    return bridges


def _networks(s: Settings, key: str) -> tuple[str, ...]:
    if key == "prosody" and s["metrics.enabled"]:
        return (*NETWORKS[key], "metrics")
    return NETWORKS[key]


def _metrics_port(s: Settings, setting: str, inner: int, bind: str) -> list[Port]:
    """Grafana's port on metrics.grafana_bind; Prometheus's on 127.0.0.1, when set."""
    if not s[setting]:
        return []
    every = bind in ("0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    return [Port(setting, s[setting], inner, bind="" if every else bind)]


def _coturn_ports(s: Settings) -> list[Port]:
    """STUN/TURN on UDP and TCP, TLS, and the relay range 1:1 (coturn's external-ip
    rewrites only the address, so peers off the host need the same ports)."""
    if not s["turn.enabled"]:
        return []
    port, low, high = s["turn.port"], s["turn.relay_min"], s["turn.relay_max"]
    ports = [Port("turn.port", port, port, "udp"), Port("turn.port", port, port, "tcp")]
    if s["turn.tls"]:
        ports.append(Port("turn.tls_port", s["turn.tls_port"], s["turn.tls_port"], "tcp"))
    ports.append(Port("turn.relay_min", low, low, "udp", count=max(1, high - low + 1)))
    return ports


def build(s: Settings) -> Deployment:
    """The Deployment of validated settings (rules.check has passed)."""
    passthrough = {k: passthrough_value(v, k) for k, v in s["env"].items()}
    on = [*CORE, *(k for k in OPTIONAL if s[f"services.{k}"])]
    if s["turn.enabled"] and s["turn.server"] == "bundled":
        on.append("coturn")
    if s["metrics.enabled"]:
        on += ["prometheus", "grafana"]
    dom = _domains(s, passthrough)
    env = dotenv_values(s, dom, set(on))
    websocket = tpl_bool(passthrough.get("ENABLE_XMPP_WEBSOCKET"), True)
    # Guests log in anonymously on the guest domain when auth is on, else on the main one.
    guest_domain = dom.guest if s["auth.guests"] else None
    anonymous = guest_domain if s["auth.enabled"] else dom.xmpp
    hidden = {str(s[key]) for key, f in FIELDS.items() if f.secret and s[key]}
    hidden |= {v for k, v in passthrough.items() if is_secret_name(k) and v}
    front = s["frontend.env_file"]
    return Deployment(
        root=s.root,
        project=s["project_name"],
        tag=s["images.tag"],
        network=s["network.name"],
        network_external=s["network.external"],
        internal_network=f"{s['project_name']}-jitsi-internal",
        metrics=metrics_of(s),
        restart=s["restart_policy"],
        health_interval=s["health.interval"],
        health_timeout=s["health.timeout"],
        services=_services(s, dom, env, on),
        domains=dom,
        urls=_urls(s["public_url"], websocket),
        subdomains=tpl_bool(passthrough.get("ENABLE_SUBDOMAINS"), True),
        anonymous_domain=anonymous,
        advertise_ips=tuple(advertise_ips(s)),
        advertise_pending="auto" in s["jvb.advertise_ips"],
        custom_config_js=s["web.custom_config_js"],
        extra_files=tuple(_under(s.root, f) for f in s["compose.extra_files"]),
        frontend_file=_under(s.root, front) if front else None,
        env=MappingProxyType(env),
        hidden_settings=frozenset(hidden),
        turn=turn_of(s),
        auth=auth_of(s),
        drain_timeout=s["jvb.drain_timeout"],
        drain_on_timeout=s["jvb.drain_on_timeout"],
        frontend=frontend_of(s, s["auth.enabled"] and s["auth.type"] == "jwt"),
        certificate=(
            Certificate(
                _under(s.root, s["https.certificate.cert"]),
                _under(s.root, s["https.certificate.key"]),
            )
            if s["https.certificate.cert"]
            else None
        ),
    )


def _under(root: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else root / path
