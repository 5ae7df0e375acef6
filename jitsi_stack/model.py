"""Turn validated settings into what the templates lay out.

`upstream_env` is the full variable set of jitsi-meet/.env (upstream names and
value conventions). `service_env` gives each compose service only the names
its upstream service reads (Appendix A of the upstream notes), so the web
container never sees a focus or bridge password.
"""

from __future__ import annotations

from .secrets import SECRET_NAMES, is_secret_name
from .settings import Settings
from .upstream_vars import VARS

CORE = ("web", "prosody", "jicofo", "jvb")
OPTIONAL = ("jibri", "jigasi", "transcriber", "etherpad", "whiteboard")
CONFIG_DIR = "jitsi-meet"

# Host directories the images mount (stable-11146 layout); the storage ones must be
# writable by uid 1000 before the first start.
TREE = (
    "web",
    "prosody/config",
    "prosody/prosody-plugins-custom",
    "jicofo",
    "jvb",
    "jigasi",
    "jibri",
    "transcriber",
    "storage/web",
    "storage/prosody",
    "storage/transcripts",
    "storage/jibri",
    "tmp/web-load-test",
)


def flag(value: bool) -> str:
    return "1" if value else "0"


def passthrough_value(value) -> str:
    if isinstance(value, bool):
        return flag(value)
    return str(value)


def domains(s: Settings) -> dict[str, str]:
    d = s["xmpp.domain"]
    return {
        "XMPP_DOMAIN": d,
        "XMPP_AUTH_DOMAIN": f"auth.{d}",
        "XMPP_MUC_DOMAIN": f"muc.{d}",
        "XMPP_INTERNAL_MUC_DOMAIN": f"internal-muc.{d}",
        "XMPP_GUEST_DOMAIN": f"guest.{d}",
        "XMPP_HIDDEN_DOMAIN": f"hidden.{d}",
        "XMPP_SERVER": f"xmpp.{d}",
        "XMPP_BOSH_URL_BASE": f"http://xmpp.{d}:5280",
    }


def upstream_env(s: Settings, secrets: dict[str, str]) -> dict[str, str]:
    """Every variable of jitsi-meet/.env, in a stable order."""
    env: dict[str, str] = {
        "CONFIG": f"./{CONFIG_DIR}",
        "HTTP_PORT": str(s["ports.http"]),
        "HTTPS_PORT": str(s["ports.https"]),
        "JVB_COLIBRI_PORT": str(s["ports.jvb_colibri"]),
        "JICOFO_REST_PORT": str(s["ports.jicofo_rest"]),
        "JITSI_IMAGE_REPO": s["images.repository"],
        "JITSI_IMAGE_VERSION": s["images.tag"],
        "RESTART_POLICY": s["restart_policy"],
        "TZ": s["timezone"],
        "PUBLIC_URL": s["public_url"].rstrip("/"),
        **domains(s),
        "ENABLE_XMPP_WEBSOCKET": "1",
        "DISABLE_HTTPS": flag(not s["https.enabled"]),
        "ENABLE_HTTP_REDIRECT": flag(s["https.http_redirect"]),
        "ENABLE_LETSENCRYPT": flag(s["https.letsencrypt.enabled"]),
        "ENABLE_AUTH": flag(s["auth.enabled"]),
        "ENABLE_GUESTS": flag(s["auth.guests"]),
        "AUTH_TYPE": s["auth.type"],
        "ENABLE_RECORDING": flag(s["features.recording"]),
        "ENABLE_TRANSCRIPTIONS": flag(s["features.transcriptions"]),
        "ENABLE_WELCOME_PAGE": flag(s["features.welcome_page"]),
        "ENABLE_LOBBY": flag(s["features.lobby"]),
        "ENABLE_PREJOIN_PAGE": flag(s["features.prejoin_page"]),
        # Upstream leaves jicofo's health route off; our healthcheck and smoke need it.
        "JICOFO_ENABLE_HEALTH_CHECKS": "1",
        # Binds jicofo's REST API to the container network; the host side is 127.0.0.1 only.
        "JICOFO_ENABLE_REST": "1",
        "JVB_PORT": str(s["ports.jvb_media"]),
    }
    if s["https.letsencrypt.enabled"]:
        env["LETSENCRYPT_DOMAIN"] = s["https.letsencrypt.domain"]
        env["LETSENCRYPT_EMAIL"] = s["https.letsencrypt.email"]
        env["LETSENCRYPT_USE_STAGING"] = flag(s["https.letsencrypt.staging"])
    if s["jvb.advertise_ips"]:
        env["JVB_ADVERTISE_IPS"] = ",".join(s["jvb.advertise_ips"])
    if s["auth.enabled"] and s["auth.type"] == "jwt":
        env["JWT_APP_ID"] = s["auth.jwt.app_id"]
        env["JWT_APP_SECRET"] = s["auth.jwt.app_secret"]
        if s["auth.jwt.accepted_issuers"]:
            env["JWT_ACCEPTED_ISSUERS"] = ",".join(s["auth.jwt.accepted_issuers"])
        if s["auth.jwt.accepted_audiences"]:
            env["JWT_ACCEPTED_AUDIENCES"] = ",".join(s["auth.jwt.accepted_audiences"])
    if s["auth.enabled"] and s["auth.type"] == "ldap":
        env["LDAP_URL"] = s["auth.ldap.url"]
        env["LDAP_BASE"] = s["auth.ldap.base"]
        env["LDAP_BINDDN"] = s["auth.ldap.binddn"]
        env["LDAP_BINDPW"] = s["auth.ldap.bindpw"]
        env["LDAP_FILTER"] = s["auth.ldap.filter"]
    if s["auth.enabled"] and s["auth.type"] == "matrix":
        env["MATRIX_UVS_URL"] = s["auth.matrix.uvs_url"]
        env["MATRIX_UVS_AUTH_TOKEN"] = s["auth.matrix.uvs_auth_token"]
    if s["services.jigasi"]:
        env["JIGASI_SIP_URI"] = s["sip.uri"]
        env["JIGASI_SIP_PASSWORD"] = s["sip.password"]
        env["JIGASI_SIP_SERVER"] = s["sip.server"]
        env["JIGASI_SIP_PORT"] = str(s["sip.port"])
        env["JIGASI_SIP_TRANSPORT"] = s["sip.transport"]
        env["JIGASI_PORT_MIN"] = str(s["ports.jigasi_min"])
        env["JIGASI_PORT_MAX"] = str(s["ports.jigasi_max"])
    if s["services.etherpad"]:
        env["ETHERPAD_URL_BASE"] = f"http://etherpad.{s['xmpp.domain']}:9001"
    if s["services.whiteboard"]:
        env["WHITEBOARD_COLLAB_SERVER_URL_BASE"] = f"http://whiteboard.{s['xmpp.domain']}"
        env["WHITEBOARD_COLLAB_SERVER_PUBLIC_URL"] = s["public_url"].rstrip("/")
    for name in SECRET_NAMES:
        env[name] = secrets[name]
    for name in sorted(s["env"]):
        env[name] = passthrough_value(s["env"][name])
    return env


def service_env(s: Settings, env: dict[str, str]) -> dict[str, list[str]]:
    """Upstream service -> sorted variable names it receives."""
    running = set(s.enabled_services())
    out: dict[str, list[str]] = {name: [] for name in CORE + OPTIONAL}
    for name in env:
        for service in VARS.get(name, ("", (), ""))[1]:
            if service in running:
                out[service].append(name)
    return {service: sorted(names) for service, names in out.items()}


def secret_values(s: Settings, env: dict[str, str]) -> set[str]:
    """Every value that must never be printed."""
    return {value for name, value in env.items() if is_secret_name(name) and value}


def custom_config_js(s: Settings) -> dict[str, str]:
    """BOSH and websocket URLs the browser must use, derived correctly from public_url.

    Upstream builds the websocket URL as 'wss://' + PUBLIC_URL minus a literal
    'https://' prefix, which breaks an http:// URL (wss://http://...). These
    assignments come after upstream's in config.js and win.
    """
    base = s["public_url"].rstrip("/")
    scheme, rest = base.split("://", 1)
    ws = "wss" if scheme == "https" else "ws"
    enabled = str(s["env"].get("ENABLE_XMPP_WEBSOCKET", "1")).lower() not in ("0", "false")
    return {"bosh": f"{base}/", "websocket": f"{ws}://{rest}/" if enabled else ""}


def _image(s: Settings, service: str) -> str:
    return f"{s['images.repository']}/{service}:{s['images.tag']}"


def compose_services(s: Settings, env: dict[str, str]) -> list[dict]:
    """The services of docker-compose.yml, in order, as plain data for the template."""
    names = service_env(s, env)
    prefix = s["container_prefix"]
    domain = s["xmpp.domain"]
    cfg = f"./{CONFIG_DIR}"
    # As upstream, plus uid/gid: Docker mounts tmpfs root-owned; upstream's s6 preinit fixes
    # that only with privileges (it fails under no-new-privileges), so give /run to uid 1000.
    # As upstream, plus uid/gid: Docker mounts a tmpfs root-owned, and upstream's s6 preinit
    # can fix that only with privileges (not under no-new-privileges): give /run to uid 1000.
    tmpfs = ["/run:size=16M,mode=1750,exec,uid=1000,gid=1000", "/tmp:size=16M,mode=1777,noexec"]
    script = ["CMD", "/usr/local/bin/healthcheck.sh"]
    healthy = "service_healthy"

    def base(name: str, **extra) -> dict:
        svc = {
            "name": f"jitsi-{name}",
            "upstream": name,
            "image": _image(s, name),
            "container": f"{prefix}-{name}",
            "read_only": True,
            "tmpfs": tmpfs,
            "shm_size": "",
            "ports": [],
            "volumes": [],
            "env": names.get(name, []),
            "fixed_env": [],
            "healthcheck": script,
            "retries": 5,
            "start_period": 60,
            "depends_on": [],
            "aliases": [],
        }
        svc.update(extra)
        return svc

    web_ports = [f"{s['ports.http']}:8000"]
    if s["https.enabled"]:
        web_ports.append(f"{s['ports.https']}:8443")
    services = [
        base(
            "web",
            ports=web_ports,
            volumes=[
                f"{cfg}/web:/config:Z",
                f"{cfg}/storage/web:/storage:Z",
                f"{cfg}/storage/transcripts:/usr/share/jitsi-meet/transcripts:ro,z",
                f"{cfg}/tmp/web-load-test:/usr/share/jitsi-meet/load-test:Z",
            ],
            healthcheck=["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8000/"],
            depends_on=[("jitsi-prosody", healthy)],
        ),
        base(
            "prosody",
            volumes=[
                f"{cfg}/prosody/config:/config:Z",
                f"{cfg}/prosody/prosody-plugins-custom:/prosody-plugins-custom:Z",
                f"{cfg}/storage/prosody:/var/lib/prosody:Z",
            ],
            aliases=[f"xmpp.{domain}"],
        ),
        base(
            "jicofo",
            ports=[f"127.0.0.1:{s['ports.jicofo_rest']}:8888"],
            volumes=[f"{cfg}/jicofo:/config:Z"],
            depends_on=[("jitsi-prosody", healthy)],
        ),
        base(
            "jvb",
            ports=[
                f"{s['ports.jvb_media']}:{s['ports.jvb_media']}/udp",
                f"127.0.0.1:{s['ports.jvb_colibri']}:8080",
            ],
            volumes=[f"{cfg}/jvb:/config:Z"],
            depends_on=[("jitsi-prosody", healthy)],
        ),
    ]
    big_tmpfs = [
        "/run:size=256M,mode=1750,exec,uid=1000,gid=1000",
        "/tmp:size=256M,mode=1777,noexec",
    ]
    jigasi_tmpfs = [
        "/run:size=16M,mode=1750,exec,uid=1000,gid=1000",
        "/tmp:size=128M,mode=1777,noexec",
    ]
    if s["services.jibri"]:
        services.append(
            base(
                "jibri",
                tmpfs=big_tmpfs,
                shm_size="2gb",
                volumes=[f"{cfg}/jibri:/config:Z", f"{cfg}/storage/jibri:/storage:Z"],
                fixed_env=[("DISPLAY", ":0")],
                healthcheck=[
                    "CMD",
                    "curl",
                    "-fsS",
                    "-o",
                    "/dev/null",
                    "http://127.0.0.1:2222/jibri/api/v1.0/health",
                ],
                depends_on=[("jitsi-jicofo", healthy)],
            )
        )
    if s["services.jigasi"]:
        low, high = s["ports.jigasi_min"], s["ports.jigasi_max"]
        services.append(
            base(
                "jigasi",
                tmpfs=jigasi_tmpfs,
                ports=[f"{low}-{high}:{low}-{high}/udp"],
                volumes=[f"{cfg}/jigasi:/config:Z"],
                fixed_env=[("JIGASI_MODE", "sip")],
                depends_on=[("jitsi-prosody", healthy)],
            )
        )
    if s["services.transcriber"]:
        services.append(
            base(
                "transcriber",
                image=_image(s, "jigasi"),
                tmpfs=jigasi_tmpfs,
                volumes=[
                    f"{cfg}/transcriber:/config:Z",
                    f"{cfg}/storage/transcripts:/tmp/transcripts:Z",
                ],
                fixed_env=[("JIGASI_MODE", "transcriber")],
                depends_on=[("jitsi-prosody", healthy)],
            )
        )
    node_probe = (
        "require('http').get('http://127.0.0.1:{port}{path}',"
        "r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))"
    )
    if s["services.etherpad"]:
        services.append(
            base(
                "etherpad",
                image=s["images.etherpad"],
                read_only=False,
                env=[],
                fixed_env=[
                    ("TITLE", "Video Chat"),
                    ("DEFAULT_PAD_TEXT", "Welcome to Web Chat!"),
                    ("SKIN_NAME", "colibris"),
                    (
                        "SKIN_VARIANTS",
                        "super-light-toolbar super-light-editor light-background full-width-editor",
                    ),
                    ("SUPPRESS_ERRORS_IN_PAD_TEXT", "true"),
                ],
                healthcheck=["CMD", "node", "-e", node_probe.format(port=9001, path="/health")],
                aliases=[f"etherpad.{domain}"],
            )
        )
    if s["services.whiteboard"]:
        services.append(
            base(
                "whiteboard",
                image=s["images.whiteboard"],
                read_only=False,
                env=[],
                healthcheck=["CMD", "node", "-e", node_probe.format(port=80, path="/")],
                depends_on=[("jitsi-web", "service_started")],
                aliases=[f"whiteboard.{domain}"],
            )
        )
    return services
