"""The settings model: every key an operator may set, its type, default and meaning.

This table is the single description of the settings. Loading and validation
(settings.py), `inv config` and the generated reference (docs/settings.md) all
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
    kind: str  # str | int | bool | port | url | domain | email | list | mapping | choice | path
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    example: str = ""


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
    ),
    "container_prefix": Field(
        "name",
        "callcenter-jitsi",
        "Prefix of container names: callcenter-jitsi-web, callcenter-jitsi-prosody, ...",
    ),
    "timezone": Field("str", "UTC", "TZ inside every container."),
    "restart_policy": Field(
        "choice",
        "unless-stopped",
        "Docker restart policy of every service.",
        choices=("no", "always", "unless-stopped", "on-failure"),
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
        ),
        "tag": Field(
            "tag",
            "stable-11146-2",
            "Jitsi release the stack runs. Pinned: never 'latest' or 'unstable' silently. "
            "`inv update --tag TAG` switches it and records the previous one.",
        ),
        "etherpad": Field(
            "image", "etherpad/etherpad:2.0.3", "Etherpad image (services.etherpad)."
        ),
        "whiteboard": Field(
            "image",
            "jitsi/excalidraw-backend:2026.3.0",
            "Excalidraw collaboration backend image (services.whiteboard).",
        ),
    },
    "ports": {
        "http": Field("port", 8443, "Host port of the web container's plain-HTTP port (8000)."),
        "https": Field(
            "port",
            8444,
            "Host port of the web container's HTTPS port (8443); published only when "
            "https.enabled is true.",
        ),
        "jvb_media": Field(
            "port",
            10000,
            "UDP port for media (JVB_PORT). Must be reachable from every participant.",
        ),
        "jvb_colibri": Field("port", 8080, "Bridge REST/health port, published on 127.0.0.1 only."),
        "jicofo_rest": Field("port", 8888, "Jicofo REST/health port, published on 127.0.0.1 only."),
        "jigasi_min": Field("port", 20000, "First UDP port of jigasi's media range."),
        "jigasi_max": Field("port", 20050, "Last UDP port of jigasi's media range."),
    },
    "xmpp": {
        "domain": Field(
            "domain",
            "meet.jitsi",
            "Internal XMPP domain (XMPP_DOMAIN). The auth, muc, internal-muc, guest and "
            "hidden domains are derived from it.",
        ),
    },
    "https": {
        "enabled": Field(
            "bool",
            False,
            "Serve HTTPS from the web container (DISABLE_HTTPS=0). Off in development, "
            "where plain HTTP on localhost is used.",
        ),
        "http_redirect": Field(
            "bool", False, "Redirect plain HTTP to HTTPS (ENABLE_HTTP_REDIRECT)."
        ),
        "letsencrypt": {
            "enabled": Field(
                "bool",
                False,
                "Obtain a certificate from Let's Encrypt (needs host ports 80 and 443).",
            ),
            "domain": Field("domain_or_empty", "", "Domain of the certificate."),
            "email": Field("email_or_empty", "", "Contact e-mail for Let's Encrypt."),
            "staging": Field("bool", False, "Use the Let's Encrypt staging CA (testing)."),
        },
    },
    "auth": {
        "enabled": Field("bool", False, "Require login to create meetings (ENABLE_AUTH)."),
        "type": Field(
            "choice",
            "internal",
            "Authentication backend (AUTH_TYPE).",
            choices=("internal", "jwt", "ldap", "matrix"),
        ),
        "guests": Field(
            "bool",
            True,
            "Let unauthenticated users join existing meetings (ENABLE_GUESTS).",
        ),
        "jwt": {
            "app_id": Field("str", "", "JWT application id (JWT_APP_ID)."),
            "app_secret": Field("str", "", "JWT shared secret (JWT_APP_SECRET).", secret=True),
            "accepted_issuers": Field("list", [], "Accepted token issuers."),
            "accepted_audiences": Field("list", [], "Accepted token audiences."),
        },
        "ldap": {
            "url": Field("str", "", "LDAP server URL, ldap:// or ldaps:// (LDAP_URL)."),
            "base": Field("str", "", "Search base (LDAP_BASE)."),
            "binddn": Field("str", "", "Bind DN (LDAP_BINDDN)."),
            "bindpw": Field("str", "", "Bind password (LDAP_BINDPW).", secret=True),
            "filter": Field("str", "uid=%u", "User filter (LDAP_FILTER)."),
        },
        "matrix": {
            "uvs_url": Field("str", "", "Matrix user verification service URL."),
            "uvs_auth_token": Field("str", "", "Matrix UVS token.", secret=True),
        },
    },
    "features": {
        "welcome_page": Field("bool", True, "Show the welcome page (ENABLE_WELCOME_PAGE)."),
        "recording": Field(
            "bool", False, "Server-side recording and streaming (ENABLE_RECORDING); needs jibri."
        ),
        "transcriptions": Field(
            "bool", False, "Transcriptions (ENABLE_TRANSCRIPTIONS); needs the transcriber."
        ),
        "lobby": Field("bool", True, "Lobby for moderated meetings (ENABLE_LOBBY)."),
        "prejoin_page": Field("bool", True, "Show the pre-join page (ENABLE_PREJOIN_PAGE)."),
    },
    "jvb": {
        "advertise_ips": Field(
            "ip_list",
            [],
            "Addresses the bridge announces to browsers (JVB_ADVERTISE_IPS): the host's "
            "public and LAN IPs, each IP or IP#PORT. Without it media fails once a "
            "third participant joins from outside the host.",
            example="[203.0.113.10, 192.168.1.10]",
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
        "uri": Field("str", "", "SIP account of the gateway, user@server (JIGASI_SIP_URI)."),
        "password": Field("str", "", "SIP account password (JIGASI_SIP_PASSWORD).", secret=True),
        "server": Field("str", "", "SIP server host (JIGASI_SIP_SERVER)."),
        "port": Field("port", 5060, "SIP server port (JIGASI_SIP_PORT)."),
        "transport": Field(
            "choice", "UDP", "SIP transport (JIGASI_SIP_TRANSPORT).", choices=("UDP", "TCP", "TLS")
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
            "File of the platform's frontend that receives NEXT_PUBLIC_JITSI_DOMAIN "
            "(host:port of public_url). Only that line is managed; nothing is written when empty.",
            example="../frontend/.env.local",
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
            "root; started and stopped with the stack.",
        ),
    },
    "env": Field(
        "mapping",
        {},
        "Any upstream docker-jitsi-meet variable, NAME: value. Each goes only to the "
        "services that read it upstream.",
        example="{ENABLE_LOBBY: 'false', JVB_STUN_SERVERS: 'stun.example.com:3478'}",
    ),
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
