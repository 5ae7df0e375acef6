"""The call-center and operations facts of a Deployment: TURN, who may log in, the site's
certificate, metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..settings.layers import Settings
from ..settings.rules.media import turn_host
from ..store import paths


@dataclass(frozen=True)
class Turn:
    """TURN as the clients get it (prosody hands out credentials) and, bundled, as coturn
    serves it."""

    enabled: bool = False
    bundled: bool = False  # a coturn container of this stack
    host: str = ""  # the name clients dial
    port: int = 3478  # STUN, TURN over UDP and TCP
    tls_port: int = 5349  # TURN over TLS (turns:)
    transports: tuple[str, ...] = ()
    tls: bool = False
    relay_min: int = 0
    relay_max: int = 0
    udp_for_bridge: bool = False  # config.useTurnUdp
    ttl: int = 86400


@dataclass(frozen=True)
class Jwt:
    """Token authentication as prosody checks it (the secret is JWT_APP_SECRET)."""

    app_id: str
    algorithm: str
    issuers: tuple[str, ...]
    audiences: tuple[str, ...]
    ttl: int  # seconds a token minted by `inv token` lives
    moderator_from_token: bool


@dataclass(frozen=True)
class Auth:
    """Who may create a meeting: "" = anyone (no authentication), else upstream's AUTH_TYPE."""

    type: str = ""
    guests: bool = False  # others join on the guest domain once a meeting exists
    jwt: Jwt | None = None

    @property
    def internal(self) -> bool:
        """Accounts kept by prosody on the XMPP domain: `inv users.*` manages them."""
        return self.type == "internal"


@dataclass(frozen=True)
class Certificate:
    """The site's own certificate: where the operator keeps it, where the images read it."""

    cert: Path
    key: Path
    web_cert: str = f"{paths.CONFIG_DIR}/web/keys/cert.crt"  # upstream: /config/keys
    web_key: str = f"{paths.CONFIG_DIR}/web/keys/cert.key"
    turn_cert: str = f"{paths.CONFIG_DIR}/coturn/cert.crt"  # a copy coturn (nobody) can read
    turn_key: str = f"{paths.CONFIG_DIR}/coturn/cert.key"


def auth_of(s: Settings) -> Auth:
    if not s["auth.enabled"]:
        return Auth()
    kind = s["auth.type"]
    jwt = None
    if kind == "jwt":
        app_id = s["auth.jwt.app_id"]
        jwt = Jwt(
            app_id=app_id,
            algorithm=s["auth.jwt.algorithm"],
            issuers=tuple(s["auth.jwt.accepted_issuers"] or [app_id]),
            audiences=tuple(s["auth.jwt.accepted_audiences"] or [app_id]),
            ttl=s["auth.jwt.token_ttl"],
            moderator_from_token=s["auth.jwt.moderator_from_token"],
        )
    return Auth(type=kind, guests=s["auth.guests"], jwt=jwt)


def turn_of(s: Settings) -> Turn:
    if not s["turn.enabled"]:
        return Turn()
    bundled = s["turn.server"] == "bundled"
    return Turn(
        enabled=True,
        bundled=bundled,
        host=turn_host(s),
        port=s["turn.port"],
        tls_port=s["turn.tls_port"],
        transports=tuple(s["turn.transports"]),
        tls=s["turn.tls"],
        relay_min=s["turn.relay_min"] if bundled else 0,
        relay_max=s["turn.relay_max"] if bundled else 0,
        udp_for_bridge=s["turn.udp_for_bridge"],
        ttl=s["turn.ttl"],
    )


@dataclass(frozen=True)
class Metrics:
    """Prometheus and Grafana: what they keep, where they listen, the network they share
    with prosody (whose /metrics answers that subnet only)."""

    network: str  # the Docker network's name
    volume: str  # the named volume of Prometheus's samples
    subnet: str  # prosody's openmetrics_allow_cidr
    retention: str  # Prometheus's --storage.tsdb.retention.time
    interval: int  # seconds between scrapes
    grafana_url: str  # where an operator opens Grafana
    config: str = f"{paths.CONFIG_DIR}/prometheus/prometheus.yml"
    datasources: str = f"{paths.CONFIG_DIR}/grafana/provisioning/datasources/jitsi-stack.yml"
    providers: str = f"{paths.CONFIG_DIR}/grafana/provisioning/dashboards/jitsi-stack.yml"
    dashboard: str = f"{paths.CONFIG_DIR}/grafana/dashboards/call-center.json"
    datasource_uid: str = "jitsi-stack-prometheus"  # the dashboard's panels name it
    dashboards_dir: str = "/etc/grafana/dashboards"  # in the Grafana container


def metrics_of(s: Settings) -> Metrics | None:
    if not s["metrics.enabled"]:
        return None
    return Metrics(
        network=f"{s['project_name']}-jitsi-metrics",
        volume=f"{s['project_name']}-prometheus-data",
        subnet=s["metrics.subnet"],
        retention=s["metrics.retention"],
        interval=15,
        grafana_url=f"http://{_grafana_host(s)}:{s['metrics.grafana_port']}",
    )


def _grafana_host(s: Settings) -> str:
    """127.0.0.1 when Grafana listens there only, else the public URL's host."""
    from urllib.parse import urlsplit

    bind = s["metrics.grafana_bind"]
    if bind not in ("0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        return f"[{bind}]" if ":" in bind else bind
    host = urlsplit(s["public_url"]).hostname or "localhost"
    return f"[{host}]" if ":" in host else host
