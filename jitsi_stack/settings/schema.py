"""The settings model: every key an operator may set, its type, default and meaning.

This table is the single description of the settings. Loading and validation
(settings/layers.py), `inv config` and the generated reference (docs/settings.md) all
read it, so the documentation cannot drift from the code.

Defaults reproduce the platform's development setup (the seed): plain HTTP on
http://localhost:8443, JVB media on UDP 10000, XMPP domain meet.jitsi, no
authentication, guests allowed, welcome page on, no recording or
transcription, all on the Docker network callcenter-network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    # str | int | bool | port | optional_port (0: off) | url | domain | email | list |
    # mapping | choice | path
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    example: str = ""
    upstream: str = ""  # the upstream variable this setting feeds in jitsi-meet/.env
    # Not set anywhere: derived from other settings (settings.derive) instead of `default`;
    # says from what, for docs/settings.md.
    auto: str = ""


# Nested like the YAML file. A dict value is a section; a Field is a leaf.
SCHEMA: dict[str, Any] = {
    "project_name": Field(
        "name",
        "callcenter",
        "Docker Compose project name; containers, the network and volumes are grouped under it.",
    ),
    "public_url": Field(
        "url",
        "http://localhost:8443",
        "The address browsers use to reach Jitsi Meet (scheme, host and port if not 80/443). "
        "It decides the BOSH and websocket URLs the browser gets.",
        example="https://meet.example.com",
        upstream="PUBLIC_URL",
    ),
    "container_prefix": Field(
        "name",
        "callcenter-jitsi",
        "Prefix of container names: callcenter-jitsi-web, callcenter-jitsi-prosody, ...",
    ),
    "timezone": Field("str", "UTC", "TZ inside every container.", upstream="TZ"),
    "restart_policy": Field(
        "choice",
        "unless-stopped",
        "Docker restart policy of every service.",
        choices=("no", "always", "unless-stopped", "on-failure"),
        upstream="RESTART_POLICY",
    ),
    "network": {
        "name": Field(
            "name",
            "callcenter-network",
            "Docker network shared with the platform's backend and frontend.",
        ),
        "external": Field(
            "bool",
            False,
            "True when the network is created outside this project (docker network create).",
        ),
    },
    "images": {
        "repository": Field(
            "image",
            "ghcr.io/jitsi",
            "Registry and namespace of the Jitsi images (<repository>/<service>:<tag>).",
            upstream="JITSI_IMAGE_REPO",
        ),
        "tag": Field(
            "tag",
            "stable-11146-2",
            "Jitsi release the stack runs. Pinned: never 'latest' or 'unstable' silently. "
            "`inv update --tag TAG` switches it and records the previous one.",
            upstream="JITSI_IMAGE_VERSION",
        ),
        "etherpad": Field(
            "image", "etherpad/etherpad:2.0.3", "Etherpad image (services.etherpad)."
        ),
        "whiteboard": Field(
            "image",
            "jitsi/excalidraw-backend:2026.3.0",
            "Excalidraw collaboration backend image (services.whiteboard).",
        ),
        "coturn": Field(
            "image",
            "coturn/coturn:4.17.2",
            "coturn image of the bundled TURN server (pinned as jitsi-helm pins it).",
        ),
        "prometheus": Field(
            "image",
            "prom/prometheus:v2.53.2",
            "Prometheus image (metrics.enabled).",
        ),
        "grafana": Field(
            "image",
            "grafana/grafana:10.2.0",
            "Grafana image (metrics.enabled; the version upstream's grafana.yml pins).",
        ),
    },
    "ports": {
        "http": Field(
            "port",
            8443,
            "Host port of the web container's plain-HTTP port (8000).",
            upstream="HTTP_PORT",
        ),
        "https": Field(
            "port",
            8444,
            "Host port of the web container's HTTPS port (8443); published only when "
            "https.enabled is true.",
            upstream="HTTPS_PORT",
        ),
        "jvb_media": Field(
            "port",
            10000,
            "UDP port for media. Must be reachable from every participant.",
            upstream="JVB_PORT",
        ),
        "jvb_colibri": Field(
            "port",
            8080,
            "Bridge REST/health port, published on 127.0.0.1 only.",
            upstream="JVB_COLIBRI_PORT",
        ),
        "jicofo_rest": Field(
            "port",
            8888,
            "Jicofo REST/health port, published on 127.0.0.1 only.",
            upstream="JICOFO_REST_PORT",
        ),
        "jigasi_min": Field(
            "port", 20000, "First UDP port of jigasi's media range.", upstream="JIGASI_PORT_MIN"
        ),
        "jigasi_max": Field(
            "port", 20050, "Last UDP port of jigasi's media range.", upstream="JIGASI_PORT_MAX"
        ),
    },
    "xmpp": {
        "domain": Field(
            "domain",
            "meet.jitsi",
            "Internal XMPP domain. The auth, muc, internal-muc, guest and "
            "hidden domains are derived from it.",
            upstream="XMPP_DOMAIN",
        ),
    },
    "https": {
        "enabled": Field(
            "bool",
            False,
            "Serve HTTPS from the web container (DISABLE_HTTPS is its negation). Off in "
            "development, where plain HTTP on localhost is used.",
            upstream="DISABLE_HTTPS",
        ),
        "http_redirect": Field(
            "bool", False, "Redirect plain HTTP to HTTPS.", upstream="ENABLE_HTTP_REDIRECT"
        ),
        "certificate": {
            "cert": Field(
                "path",
                "",
                "The site's own certificate, PEM, leaf first then the chain, without the "
                "private key (relative to the project). Checked before anything starts; "
                "installed where the web image reads it (jitsi-meet/web/keys/cert.crt, 0644). "
                "Expired: a warning, and no task installs it.",
                example="certs/meet.example.com.crt",
            ),
            "key": Field(
                "path",
                "",
                "Its private key, PEM (installed as jitsi-meet/web/keys/cert.key, mode 0600).",
                example="certs/meet.example.com.key",
            ),
        },
        "letsencrypt": {
            "enabled": Field(
                "bool",
                False,
                "Obtain a certificate from Let's Encrypt (needs host ports 80 and 443).",
                upstream="ENABLE_LETSENCRYPT",
            ),
            "domain": Field(
                "domain_or_empty", "", "Domain of the certificate.", upstream="LETSENCRYPT_DOMAIN"
            ),
            "email": Field(
                "email_or_empty",
                "",
                "Contact e-mail for Let's Encrypt.",
                upstream="LETSENCRYPT_EMAIL",
            ),
            "staging": Field(
                "bool",
                False,
                "Use the Let's Encrypt staging CA (testing).",
                upstream="LETSENCRYPT_USE_STAGING",
            ),
        },
    },
    "auth": {
        "enabled": Field(
            "bool", False, "Require login to create meetings.", upstream="ENABLE_AUTH"
        ),
        "type": Field(
            "choice",
            "internal",
            "Authentication backend.",
            choices=("internal", "jwt", "ldap", "matrix"),
            upstream="AUTH_TYPE",
        ),
        "guests": Field(
            "bool",
            True,
            "Let unauthenticated users join existing meetings.",
            upstream="ENABLE_GUESTS",
            auto="false with auth.type jwt and moderator_from_token (true is refused there), "
            "else true",
        ),
        "jwt": {
            "app_id": Field("str", "", "JWT application id.", upstream="JWT_APP_ID"),
            "app_secret": Field(
                "str",
                "",
                "JWT shared secret. Empty: generated once (256 bits, letters and digits), kept "
                "in .jitsi-stack/secrets.env, replaced by `inv rotate-secrets`.",
                secret=True,
                upstream="JWT_APP_SECRET",
            ),
            "algorithm": Field(
                "choice",
                "HS256",
                "Signature algorithm tokens must use.",
                choices=("HS256", "HS384", "HS512"),
                upstream="JWT_SIGN_TYPE",
            ),
            "accepted_issuers": Field(
                "list",
                [],
                "Accepted token issuers (iss). Empty: the app id, written out explicitly.",
                upstream="JWT_ACCEPTED_ISSUERS",
            ),
            "accepted_audiences": Field(
                "list",
                [],
                "Accepted token audiences (aud). Empty: the app id, written out explicitly.",
                upstream="JWT_ACCEPTED_AUDIENCES",
            ),
            "moderator_from_token": Field(
                "bool",
                True,
                "Only tokens with context.user.moderator (or affiliation owner) make "
                "moderators: prosody's token_affiliation on, jicofo's own authentication and "
                "auto-owner off; auth.guests then defaults to false (true is refused). "
                "false: upstream's default, every token holder becomes moderator (jicofo's "
                "JWT authentication).",
            ),
            "token_ttl": Field(
                "int",
                3600,
                "Default lifetime of `inv token`, in seconds (at most 31622400, 366 days).",
            ),
        },
        "ldap": {
            "url": Field("str", "", "LDAP server URL, ldap:// or ldaps://.", upstream="LDAP_URL"),
            "base": Field("str", "", "Search base.", upstream="LDAP_BASE"),
            "binddn": Field("str", "", "Bind DN.", upstream="LDAP_BINDDN"),
            "bindpw": Field("str", "", "Bind password.", secret=True, upstream="LDAP_BINDPW"),
            "filter": Field("str", "uid=%u", "User filter.", upstream="LDAP_FILTER"),
        },
        "matrix": {
            "uvs_url": Field(
                "str", "", "Matrix user verification service URL.", upstream="MATRIX_UVS_URL"
            ),
            "uvs_auth_token": Field(
                "str", "", "Matrix UVS token.", secret=True, upstream="MATRIX_UVS_AUTH_TOKEN"
            ),
        },
    },
    "features": {
        "welcome_page": Field(
            "bool", True, "Show the welcome page.", upstream="ENABLE_WELCOME_PAGE"
        ),
        "recording": Field(
            "bool",
            False,
            "Server-side recording and streaming; needs jibri.",
            upstream="ENABLE_RECORDING",
        ),
        "transcriptions": Field(
            "bool",
            False,
            "Transcriptions; needs the transcriber.",
            upstream="ENABLE_TRANSCRIPTIONS",
        ),
        "lobby": Field("bool", True, "Lobby for moderated meetings.", upstream="ENABLE_LOBBY"),
        "prejoin_page": Field(
            "bool", True, "Show the pre-join page.", upstream="ENABLE_PREJOIN_PAGE"
        ),
    },
    "jvb": {
        "count": Field(
            "int",
            1,
            "Bridges on this host (1-16). Bridge N (jitsi-jvb, jitsi-jvb2, ...) takes UDP "
            "port ports.jvb_media + N - 1 and colibri port ports.jvb_colibri + N - 1; "
            "jicofo spreads conferences over them.",
        ),
        "advertise_ips": Field(
            "ip_list",
            [],
            "Addresses the bridge announces to browsers: the host's "
            "public and LAN IPs, each IP or IP#PORT, or `auto` (detected once: the LAN "
            "address and the public one a STUN server sees; `inv addresses` shows them). "
            "Without it media fails once a third participant joins from outside the host. "
            "Loopback, link-local, unspecified, multicast, broadcast and reserved addresses "
            "are refused (loopback and link-local are fine with a local public_url).",
            example="[203.0.113.10, 192.168.1.10] or [auto]",
            upstream="JVB_ADVERTISE_IPS",
        ),
        "stun_server": Field(
            "str",
            "",
            "STUN server (host:port) that finds the public address for `auto` (asked "
            "from this host over UDP). Empty: `auto` finds only the LAN address.",
            example="stun.example.com:3478",
        ),
        "drain_timeout": Field(
            "int",
            900,
            "Seconds `inv update`, `inv restart`, `inv stop` and a lower jvb.count wait for "
            "the calls on a bridge to end (its endpoints to reach 0) after putting it in "
            "drain, before they recreate, stop or remove it (1 to 86400; `inv stop --no-drain` "
            "does not wait).",
        ),
        "drain_on_timeout": Field(
            "choice",
            "continue",
            "When jvb.drain_timeout passes with calls still on the bridge: `continue` "
            "(recreate or stop it: those calls drop) or `stop` (leave it running, take it "
            "out of drain, and stop the task with exit 1).",
            choices=("continue", "stop"),
        ),
    },
    "turn": {
        "enabled": Field(
            "bool",
            False,
            "TURN for customers behind firewalls: every client receives short-lived "
            "credentials from prosody (XEP-0215); media goes over TCP/TLS where UDP is blocked.",
        ),
        "server": Field(
            "choice",
            "bundled",
            "bundled: a coturn container of this stack; external: a TURN server you run "
            "(turn.host, turn.secret).",
            choices=("bundled", "external"),
        ),
        "host": Field(
            "str",
            "",
            "Name clients use for TURN. Empty: the public_url host (bundled only). A name "
            "the TLS certificate covers.",
        ),
        "port": Field("port", 3478, "TURN port, UDP and TCP (also STUN).", upstream="TURN_PORT"),
        "tls_port": Field("port", 5349, "TURN over TLS port.", upstream="TURNS_PORT"),
        "transports": Field(
            "list",
            ["udp", "tcp"],
            "Transports offered on turn.port: udp, tcp.",
            upstream="TURN_TRANSPORT",
        ),
        "tls": Field(
            "bool",
            False,
            "Offer TURN over TLS (turns:) with the site's certificate (https.certificate). "
            "Left out, it follows the certificate and `inv config` says so; true without "
            "https.certificate is refused.",
            auto="true when https.certificate is set or turn.server is external, else false",
        ),
        "secret": Field(
            "str",
            "",
            "Shared secret of the TURN REST scheme. Empty: generated once (bundled); "
            "required for an external server. The bundled coturn reads it from "
            "jitsi-meet/coturn/turnserver.conf (mode 0600, never on a command line): it may "
            'not start with a space, = or ", nor end with a space or ;, and has at most '
            "1004 bytes; no \" or \\ anywhere (prosody's Lua config).",
            secret=True,
            upstream="TURN_CREDENTIALS",
        ),
        "ttl": Field("int", 86400, "Lifetime of the credentials, seconds.", upstream="TURN_TTL"),
        "relay_min": Field("port", 49160, "First UDP relay port of the bundled server."),
        "relay_max": Field("port", 49199, "Last UDP relay port of the bundled server."),
        "udp_for_bridge": Field(
            "bool",
            False,
            "Let bridge (3+ party) calls use TURN over UDP too (config.useTurnUdp); by "
            "default lib-jitsi-meet uses only TCP and TLS TURN for the bridge.",
        ),
    },
    "services": {
        "jibri": Field("bool", False, "Recording/streaming service (jibri, 2 GB shm)."),
        "jigasi": Field("bool", False, "SIP gateway (jigasi); needs sip.uri/password/server."),
        "transcriber": Field("bool", False, "Transcriber (jigasi in transcriber mode)."),
        "etherpad": Field("bool", False, "Shared documents (etherpad)."),
        "whiteboard": Field("bool", False, "Whiteboard (excalidraw backend)."),
    },
    "sip": {
        "uri": Field(
            "str", "", "SIP account of the gateway, user@server.", upstream="JIGASI_SIP_URI"
        ),
        "password": Field(
            "str", "", "SIP account password.", secret=True, upstream="JIGASI_SIP_PASSWORD"
        ),
        "server": Field("str", "", "SIP server host.", upstream="JIGASI_SIP_SERVER"),
        "port": Field("port", 5060, "SIP server port.", upstream="JIGASI_SIP_PORT"),
        "transport": Field(
            "choice",
            "UDP",
            "SIP transport.",
            choices=("UDP", "TCP", "TLS"),
            upstream="JIGASI_SIP_TRANSPORT",
        ),
    },
    "health": {
        "timeout": Field(
            "int", 240, "Seconds `inv start` and `inv update` wait for every service to be healthy."
        ),
        "interval": Field("int", 5, "Seconds between Docker healthchecks."),
    },
    "frontend": {
        "env_file": Field(
            "path",
            "",
            "File of the platform's frontend that receives the values it embeds meetings "
            "with (frontend.env_names): the SDK's domain (host:port of the https endpoint), "
            "the https URL and, with JWT, where tokens come from. Nothing is written when "
            "empty.",
            example="../frontend/.env.local",
        ),
        "env_names": Field(
            "choice",
            "next",
            "Names of the lines written to frontend.env_file: next (NEXT_PUBLIC_JITSI_DOMAIN, "
            "NEXT_PUBLIC_JITSI_URL, NEXT_PUBLIC_JITSI_TOKEN_URL), vite (VITE_JITSI_...) or "
            "plain (JITSI_...). Only those lines are managed; every other byte is kept.",
            choices=("next", "vite", "plain"),
        ),
        "token_url": Field(
            "str",
            "",
            "Where the frontend gets its meeting tokens when auth.type is jwt (the platform's "
            "backend endpoint, an https URL or a path such as /api/jitsi-token); written as "
            "the TOKEN_URL line. Empty: no such line.",
            example="/api/jitsi-token",
        ),
        "origins": Field(
            "list",
            [],
            "Origins (scheme://host[:port]) of the platform's frontend allowed to frame "
            "meetings: sent as Content-Security-Policy frame-ancestors 'self' and these. A "
            "host may start with *. and the port may be *. Empty in development (public_url "
            "on localhost): any port of http(s)://localhost and 127.0.0.1; in production: the "
            "stack itself only.",
            example="https://agents.example.com",
        ),
        "dev_https": Field(
            "bool",
            True,
            "Without https.enabled (development): serve https on ports.https too, with a "
            "certificate for localhost, 127.0.0.1 and public_url's host signed by a "
            "development CA made once under .jitsi-stack/dev-ca (`inv dev-ca.trust` makes "
            "this machine's browsers trust it). The IFrame API and @jitsi/react-sdk load "
            "only https.",
        ),
    },
    "web": {
        "custom_config_js": Field(
            "str",
            "",
            "JavaScript appended to config.js through custom-config.js (move hand edits "
            "of jitsi-meet/web/custom-config.js here).",
        ),
    },
    "compose": {
        "extra_files": Field(
            "list",
            [],
            "The platform's own compose files (backend, frontend), relative to the project "
            "root; started and stopped with the stack. Each a regular file (a link to one "
            "is fine) of at most 1 MiB.",
        ),
    },
    "swarm": {
        "docker_host": Field(
            "str",
            "",
            "The Swarm manager `inv swarm.*` talks to (docker -H): ssh://user@host, "
            "tcp://host:2376 or unix:///path. Empty: the Docker CLI's own (DOCKER_HOST, "
            "the current context).",
            example="ssh://admin@manager1.example.com",
        ),
        "core_label": Field(
            "str",
            "",
            "Node label that places web, prosody and jicofo (KEY=VALUE). Empty: "
            "a manager node. The web port answers on the node that runs web.",
            example="jitsi.core=true",
        ),
        "bridge_label": Field(
            "str",
            "",
            "Node label of the nodes that run a bridge, one per node (KEY=VALUE). "
            "Empty: every node.",
            example="jitsi.jvb=true",
        ),
        "prosody_node": Field(
            "str",
            "",
            "The node (its hostname) prosody is pinned to: its data, the agents' accounts, "
            "live in a volume of that node. Needed with auth.type internal. Empty: "
            "prosody runs where swarm.core_label places it.",
            example="manager1",
        ),
        "nodes": Field(
            "mapping",
            {},
            "Per node (its hostname): the addresses its bridge advertises (a list of IPs). "
            "A bridge service is placed on each node named here. Empty: one bridge on "
            "every node, each finding its public address by STUN (jvb.stun_server).",
            example="{media1: [203.0.113.11], media2: [203.0.113.12]}",
        ),
    },
    "env": Field(
        "mapping",
        {},
        "Any upstream docker-jitsi-meet variable, NAME: value. Each goes only to the "
        "services that read it upstream.",
        example="{ENABLE_LOBBY: 'false', JVB_STUN_SERVERS: 'stun.example.com:3478'}",
    ),
    # the operations and scale-out sections (metrics, Kubernetes)
    "metrics": {
        "enabled": Field(
            "bool",
            False,
            "Prometheus scraping jicofo, every bridge and prosody, and Grafana with the "
            "call-center dashboards (docs/operations.md#metrics).",
            upstream="PROSODY_ENABLE_METRICS",
        ),
        "retention": Field(
            "str",
            "15d",
            "How long Prometheus keeps samples (its --storage.tsdb.retention.time: a number "
            "and one of h, d, w, y).",
        ),
        "grafana_port": Field("port", 3000, "Host port of Grafana."),
        "grafana_bind": Field(
            "str",
            "127.0.0.1",
            "Host address Grafana's port is published on: 127.0.0.1 (this machine, behind "
            "your proxy) or 0.0.0.0 (every interface).",
        ),
        "prometheus_port": Field(
            "optional_port",
            0,
            "Host port of Prometheus's API and UI on 127.0.0.1; 0: not published (Grafana "
            "reaches it inside).",
        ),
        "subnet": Field(
            "str",
            "10.213.213.0/28",
            "Subnet of the metrics network (Prometheus, Grafana, prosody): prosody answers "
            "/metrics only to addresses in it (PROSODY_METRICS_ALLOWED_CIDR). Change it when "
            "it overlaps a network of this machine.",
            upstream="PROSODY_METRICS_ALLOWED_CIDR",
        ),
    },
    "helm": {
        "chart_version": Field(
            "str",
            "3.4.0",
            "Version of the community Helm chart (jitsi-contrib/jitsi-helm, chart jitsi-meet) "
            "`inv helm.values` writes values for: 3.4.x, the release its keys were checked "
            "against.",
        ),
        "release": Field(
            "name",
            "jitsi",
            "Helm release name `inv helm.values` prints the install command for; it also "
            "prefixes the Kubernetes Secrets the values refer to (jitsi-jvb-auth, ...).",
        ),
        "namespace": Field(
            "name", "jitsi", "Kubernetes namespace of the release and of its Secrets."
        ),
    },
}


def iter_fields(tree: dict[str, Any] | None = None, prefix: str = ""):
    """Yield (dotted.key, Field) for every leaf, in schema order."""
    for key, value in (tree or SCHEMA).items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Field):
            yield dotted, value
        else:
            yield from iter_fields(value, dotted + ".")


FIELDS: dict[str, Field] = dict(iter_fields())
SECTIONS: set[str] = {k.rsplit(".", 1)[0] for k in FIELDS if "." in k}
