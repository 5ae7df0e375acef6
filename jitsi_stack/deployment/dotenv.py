"""The variables of jitsi-meet/.env, in a stable order, from validated settings.

A setting's upstream name comes from the schema (Field.upstream); names derived here
(domains, the jicofo flags, TURN and JWT details) are refused under `env:`
(upstream.MANAGED). A secret the operator did not give is None here: the Deployment fills
it from .jitsi-stack/secrets.env only when the file is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings.layers import Settings
from ..settings.rules.media import turn_host
from ..settings.schema import FIELDS
from ..settings.upstream import RAW_BOOLEAN_VARS
from ..store import paths
from ..store.secrets import SECRET_NAMES

# Docker's embedded DNS server, on every user-defined network; answers are kept 10 s.
NGINX_RESOLVER = "127.0.0.11 valid=10s"


@dataclass(frozen=True)
class Domains:
    xmpp: str
    auth: str
    muc: str
    internal_muc: str
    guest: str
    hidden: str
    server: str  # prosody's network alias, XMPP_SERVER
    etherpad: str
    whiteboard: str

    @property
    def bosh_base(self) -> str:
        return f"http://{self.server}:5280"


def flag(value: bool) -> str:
    return "1" if value else "0"


def passthrough_value(value, name: str = "") -> str:
    """An `env:` value as upstream reads it: true/false become 1/0, except where upstream
    pastes the value raw into a file that only takes true/false."""
    if isinstance(value, bool):
        return ("true" if value else "false") if name in RAW_BOOLEAN_VARS else flag(value)
    return str(value)


def tpl_bool(value: str | None, default: bool) -> bool:
    """A variable as upstream's templates read it (tpl's toBool: Go's ParseBool, else
    any other non-empty text is true)."""
    if value is None or value == "":
        return default
    return value not in ("0", "f", "F", "false", "False", "FALSE")


def dotenv_values(s: Settings, dom: Domains, on: set[str]) -> dict[str, str | None]:
    """jitsi-meet/.env in a stable order; a setting's upstream name comes from the schema."""
    env: dict[str, str | None] = {}

    def put(key: str, value=None) -> None:
        value = s[key] if value is None else value
        if isinstance(value, bool):
            value = flag(value)
        elif isinstance(value, list):
            value = ",".join(value)
        env[FIELDS[key].upstream] = str(value)

    env["CONFIG"] = f"./{paths.CONFIG_DIR}"
    for key in ("ports.http", "ports.https", "ports.jvb_colibri", "ports.jicofo_rest"):
        put(key)
    for key in ("images.repository", "images.tag", "restart_policy", "timezone"):
        put(key)
    put("public_url", s["public_url"].rstrip("/"))
    put("xmpp.domain")
    env["XMPP_AUTH_DOMAIN"] = dom.auth
    env["XMPP_MUC_DOMAIN"] = dom.muc
    env["XMPP_INTERNAL_MUC_DOMAIN"] = dom.internal_muc
    env["XMPP_GUEST_DOMAIN"] = dom.guest
    env["XMPP_HIDDEN_DOMAIN"] = dom.hidden
    env["XMPP_SERVER"] = dom.server
    env["XMPP_BOSH_URL_BASE"] = dom.bosh_base
    # web's nginx resolves its proxy_pass targets (prosody's BOSH and websocket) at run time
    # with `resolver {{ .Env.NGINX_RESOLVER }}` and, unset, the nameservers of resolv.conf
    # with no valid= (docker-jitsi-meet 738058b4 web/rootfs/defaults/nginx.conf:28-29,
    # web/rootfs/etc/s6-overlay/scripts/config:101-124): it keeps a recreated prosody's old
    # address for the TTL Docker's DNS answers with (600 s, moby/libnetwork resolver.go
    # respTTL), and BOSH answers 502 meanwhile (a Swarm test saw 9.5 min). Docker's
    # embedded DNS (127.0.0.11 on every user-defined network, Compose and Swarm alike) with a
    # short valid= finds a moved prosody again within seconds.
    env["NGINX_RESOLVER"] = NGINX_RESOLVER
    env["ENABLE_XMPP_WEBSOCKET"] = "1"
    # upstream's DISABLE_HTTPS; frontend.dev_https serves the development CA's certificate
    from .frontend import dev_https

    put("https.enabled", not (s["https.enabled"] or dev_https(s)))
    put("https.http_redirect")
    put("https.letsencrypt.enabled")
    put("auth.enabled")
    put("auth.guests")
    put("auth.type")
    for key in ("recording", "transcriptions", "welcome_page", "lobby", "prejoin_page"):
        put(f"features.{key}")
    # Upstream leaves jicofo's health route off; our healthcheck and smoke need it.
    env["JICOFO_ENABLE_HEALTH_CHECKS"] = "1"
    # Binds jicofo's REST API to the container network; the host side is 127.0.0.1 only.
    env["JICOFO_ENABLE_REST"] = "1"
    put("ports.jvb_media")
    if s["https.letsencrypt.enabled"]:
        for key in ("domain", "email", "staging"):
            put(f"https.letsencrypt.{key}")
    advertised = advertise_ips(s)
    if advertised:
        put("jvb.advertise_ips", advertised)
    auth = s["auth.type"] if s["auth.enabled"] else ""
    if auth == "jwt":
        put("auth.jwt.app_id")
        if s["auth.jwt.app_secret"]:
            put("auth.jwt.app_secret")
        else:
            env["JWT_APP_SECRET"] = None  # generated once, kept in secrets.env
        put("auth.jwt.algorithm")
        # Written out even when they are the app id: upstream's defaults have changed.
        for key in ("accepted_issuers", "accepted_audiences"):
            put(f"auth.jwt.{key}", s[f"auth.jwt.{key}"] or [s["auth.jwt.app_id"]])
        if s["auth.jwt.moderator_from_token"]:
            env.update(token_roles(s["env"]))
    elif auth in ("ldap", "matrix"):
        for key in FIELDS:
            if key.startswith(f"auth.{auth}."):
                put(key)
    if "jigasi" in on:
        for key in ("uri", "password", "server", "port", "transport"):
            put(f"sip.{key}")
        put("ports.jigasi_min")
        put("ports.jigasi_max")
    if "etherpad" in on:
        env["ETHERPAD_URL_BASE"] = f"http://{dom.etherpad}:9001"
    if "whiteboard" in on:
        env["WHITEBOARD_COLLAB_SERVER_URL_BASE"] = f"http://{dom.whiteboard}"
        env["WHITEBOARD_COLLAB_SERVER_PUBLIC_URL"] = s["public_url"].rstrip("/")
    if s["metrics.enabled"]:
        # prosody loads mod_http_openmetrics and answers /metrics on its HTTP port to
        # loopback and this one CIDR: the metrics network's (prosody.cfg.lua:142-145,345-350)
        put("metrics.enabled")
        put("metrics.subnet")
        env["GRAFANA_ADMIN_PASSWORD"] = None  # generated once, kept in secrets.env
    if s["turn.enabled"]:
        # prosody hands every client short-lived credentials for these (XEP-0215;
        # prosody.cfg.lua:338-413): STUN and TURN on turn.port, TURNS on turn.tls_port.
        host = turn_host(s)
        env["TURN_HOST"] = host
        put("turn.port")
        put("turn.transports")
        if s["turn.tls"]:
            env["TURNS_HOST"] = host
            put("turn.tls_port")
        if s["turn.secret"]:
            put("turn.secret")
        else:
            env["TURN_CREDENTIALS"] = None  # generated once, kept in secrets.env
        put("turn.ttl")
        env["STUN_HOST"] = host
        env["STUN_PORT"] = str(s["turn.port"])
    for name in SECRET_NAMES:
        env[name] = None  # filled by Deployment.dotenv
    merged = {"XMPP_MUC_MODULES"} if "XMPP_MUC_MODULES" in env else set()
    for name in sorted(s["env"]):
        if name not in merged:
            env[name] = passthrough_value(s["env"][name], name)
    return env


def token_roles(passthrough) -> dict[str, str]:
    """What prosody and jicofo must read so that the token alone decides who is moderator
    (auth.jwt.moderator_from_token), read at docker-jitsi-meet stable-11146-2 (738058b4)
    and jicofo 7ebb13dc:

    - prosody: `token_affiliation` on the MUC component (XMPP_MUC_MODULES,
      prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua:313-315) sets owner for a token
      with context.user.moderator true/"true" or affiliation owner/moderator/teacher and
      member for any other token, before the join completes (jitsi-meet 0fa91b1b
      resources/prosody-plugins/mod_token_affiliation.lua:28-45, 51-86).
    - jicofo: JICOFO_ENABLE_AUTH=0. Unset, it defaults to ENABLE_AUTH
      (jicofo/rootfs/defaults/jicofo.conf:1,3), so with AUTH_TYPE=jwt jicofo turns on
      `authentication { type = JWT, login-url = XMPP_DOMAIN }` (jicofo.conf:49-61;
      docker-compose.yml:395 passes the name). Its ExternalJWTAuthority is an
      XMPPDomainAuthAuthority: every conference request from a JID on XMPP_DOMAIN, that is
      every token holder, opens a session (jicofo auth/XMPPDomainAuthAuthority.java:83-101),
      and AuthenticationRoleManager then grants owner to each of them
      (xmpp/muc/ChatRoomRoleManager.kt:116-164, chosen in
      conference/JitsiMeetConferenceImpl.java:623-628), over what token_affiliation set.
    - jicofo: ENABLE_AUTO_OWNER=0 (`enable-auto-owner`, jicofo.conf:166-168; jicofo's
      default is true, jicofo/src/main/resources/reference.conf:21). With jicofo's
      authentication off, AutoOwnerRoleManager would make the first occupant owner when no
      owner is present (JitsiMeetConferenceImpl.java:630-634, ChatRoomRoleManager.kt:62-107).
    The fix the maintainers give: docker-jitsi-meet #1977, jitsi-contrib/prosody-plugins#4.
    """
    modules = str(passthrough.get("XMPP_MUC_MODULES", "")).split(",")
    wanted = [m.strip() for m in modules if m.strip()] + ["token_affiliation"]
    return {
        "XMPP_MUC_MODULES": ",".join(dict.fromkeys(wanted)),
        "JICOFO_ENABLE_AUTH": "0",
        "ENABLE_AUTO_OWNER": "0",
    }


def advertise_ips(s: Settings) -> list[str]:
    """jvb.advertise_ips without an `auto` not detected yet (apply refuses to render then)."""
    return [ip for ip in s["jvb.advertise_ips"] if ip != "auto"]
