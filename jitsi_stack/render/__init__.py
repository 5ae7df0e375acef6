"""Render the generated files from a Deployment, in memory; `apply` writes them.

Templates live in the package (jitsi_stack/templates/), laid out like the files
they produce. Rendering is strict (an undefined name is an error naming it) and
deterministic. Only jitsi-meet/.env and coturn's config (both 0600) may hold a
secret value: the plan refuses to go on if one would appear anywhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from ..deployment import PROSODY_METRICS_ALIAS
from ..deployment.frontend import CSP_FILE
from ..errors import StackError
from ..store import devca, paths

if TYPE_CHECKING:
    import jinja2

    from ..deployment import Deployment


# -- filters -------------------------------------------------------------------------


def yaml_str(value) -> str:
    """A JSON string is a valid YAML double-quoted scalar."""
    return json.dumps(str(value), ensure_ascii=False)


def compose_escape(value) -> str:
    """A literal $ in compose YAML is written $$."""
    return str(value).replace("$", "$$")


def env_quote(value) -> str:
    """Quote a value for jitsi-meet/.env as Compose's dotenv parser reads it."""
    text = str(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise StackError("a value for jitsi-meet/.env contains a line break or NUL: use one line")
    if text and all(c.isalnum() or c in "._-/:,@+=%" for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def js_str(value) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jitsi_stack", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, dotenv and JS, never HTML
    )
    env.filters.update(
        yaml_str=yaml_str, compose_escape=compose_escape, env_quote=env_quote, js_str=js_str
    )
    return env


# -- the plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    path: str  # relative to the project root (a template's path is this + ".j2")
    text: str
    mode: int
    may_hold_secrets: bool = False
    owner: int | None = None  # uid (and gid) the file must belong to, when run as root
    secret_file: bool = False  # a private key: never shown, not even masked


@dataclass(frozen=True)
class Plan:
    outputs: tuple[Output, ...]
    tree: tuple[str, ...]  # directories under jitsi-meet/ the containers mount
    hidden: frozenset[str]  # values to mask in anything printed

    def output(self, path: str) -> Output:
        return next(o for o in self.outputs if o.path == path)


OUTPUTS = (  # (path, mode, may hold secrets)
    (paths.COMPOSE_FILE, 0o644, False),
    (paths.ENV_FILE, 0o600, True),
    (paths.CUSTOM_CONFIG, 0o644, False),
)


def template_text(name: str, context: dict) -> str:
    """One template rendered as is. A template the package lacks (or one it includes) is a
    broken installation, not the user's file: jinja2's TemplateNotFound is an OSError,
    which would otherwise read as `cannot use a file: ...: fix it`."""
    import jinja2

    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound as err:
        raise StackError(
            f"the installed jitsi-stack is missing its template templates/{err.name}: "
            "reinstall jitsi-stack (a broken installation, not your settings)"
        ) from None


def _render(name: str, context: dict) -> str:
    import jinja2

    try:
        text = template_text(name, context)
    except jinja2.UndefinedError as err:
        raise StackError(f"templates/{name}: undefined name: {err.message}") from err
    except jinja2.TemplateSyntaxError as err:
        raise StackError(f"templates/{name}:{err.lineno}: {err.message}") from err
    return text.rstrip("\n") + "\n"


COTURN_CONF = f"{paths.CONFIG_DIR}/coturn/turnserver.conf"
NOBODY = 65534  # the official coturn image runs as nobody:nogroup
CONTAINER_UID = 1000  # the Jitsi images run as this user


def plan(d: Deployment, secrets: dict[str, str], dev: devca.Bundle | None = None) -> Plan:
    """dev: the development CA's server certificate to install (frontend.dev_https), made
    or read by apply; without it none is installed."""
    csp = d.frontend.csp if d.frontend is not None else ""
    context = {
        "d": d,
        "dotenv": d.dotenv(secrets),
        "config_dir": paths.CONFIG_DIR,
        "turn_external": _public_ips(d),
        "prosody_metrics_alias": PROSODY_METRICS_ALIAS,
        "web_digest": web_digest(csp, dev if d.certificate is None else None),
    }
    coturn = _coturn_conf(d, secrets, context) if d.turn.bundled else None
    context["coturn_digest"] = coturn_digest(coturn, d.secret("TURN_CREDENTIALS", secrets))
    outputs = [
        Output(path, _render(f"{path}.j2", context), mode, holds) for path, mode, holds in OUTPUTS
    ]
    if coturn is not None:
        outputs.append(coturn)
    if d.metrics is not None:
        from . import dashboards

        for path in (d.metrics.config, d.metrics.datasources, d.metrics.providers):
            outputs.append(Output(path, _render(f"{path}.j2", context), 0o644))
        text = dashboards.text(d.metrics.datasource_uid)
        outputs.append(Output(d.metrics.dashboard, text, 0o644))
    if csp:
        outputs.append(Output(CSP_FILE, _render(f"{CSP_FILE}.j2", context), 0o644))
    outputs += _certificates(d)
    if d.certificate is None and dev is not None:
        outputs += _dev_certificate(dev)
    hidden = frozenset(d.hidden(secrets))
    for out in outputs:
        if not out.may_hold_secrets and any(value in out.text for value in hidden):
            raise StackError(f"a secret would be written to {out.path}: report this bug")
    return Plan(tuple(outputs), mounted_dirs(outputs[0].text), hidden)


def _coturn_conf(d: Deployment, secrets: dict[str, str], context: dict) -> Output:
    """coturn's config file, its shared secret in it (static-auth-secret=): not on any
    command line (the host's process list) and never through the image entrypoint's
    `eval "echo $arg"` (coturn/coturn 8024aa63, docker/coturn/rootfs/usr/local/bin/
    docker-entrypoint.sh lines 8-12), which splits and globs it. 0600, the image's user's
    (nobody, docker/coturn/debian/Dockerfile line 137)."""
    from ..settings.rules.media import coturn_value_problem

    secret = d.secret("TURN_CREDENTIALS", secrets)
    if not secret or coturn_value_problem(secret):  # the rules refuse such a setting
        raise StackError("turn.secret: coturn's config file cannot hold it: report this bug")
    text = _render(f"{COTURN_CONF}.j2", {**context, "turn_secret": secret})
    return Output(COTURN_CONF, text, 0o600, may_hold_secrets=True, owner=NOBODY)


def web_digest(csp: str, dev: devca.Bundle | None) -> str:
    """A label on web's service that changes with what web reads only when it starts (the
    frame-ancestors header, the development certificate), so `docker compose up`
    recreates it when they change."""
    import hashlib

    parts = csp.encode("utf-8") + b"\x00" + (dev.server_cert if dev is not None else b"")
    return hashlib.sha256(parts).hexdigest()[:16]


def _dev_certificate(dev: devca.Bundle) -> list[Output]:
    """The development CA's server certificate where the web image reads an operator's
    keys (/config/keys, copied to /storage/keys on start: docker-jitsi-meet 738058b4
    web/rootfs/etc/s6-overlay/scripts/config lines 86-90); the chain includes the CA."""
    from ..deployment.facts import Certificate

    chain = (dev.server_cert + dev.ca_cert).decode("ascii")
    return [
        Output(Certificate.web_cert, chain, 0o644, owner=CONTAINER_UID),
        Output(
            Certificate.web_key,
            dev.server_key.decode("ascii"),
            0o600,
            may_hold_secrets=True,
            owner=CONTAINER_UID,
            secret_file=True,
        ),
    ]


def coturn_digest(conf: Output | None, secret: str) -> str:
    """A label on coturn's service that changes with its config file, so `docker compose up`
    recreates coturn when the file (its secret included) changes: Compose sees only the
    compose file. Keyed by the secret, it tells a reader no more than every client's TURN
    password already does (base64(HMAC-SHA1(secret, username)))."""
    import hashlib
    import hmac

    if conf is None:
        return ""
    mac = hmac.new(secret.encode("utf-8"), conf.text.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:16]


def _public_ips(d: Deployment) -> list[str]:
    """The bridge's advertised public addresses: coturn's external-ip."""
    import ipaddress

    from ..validators import is_public_ip

    found = []
    for item in d.advertise_ips:
        try:
            ip = ipaddress.ip_address(item.partition("#")[0])
        except ValueError:
            continue
        if is_public_ip(ip):
            found.append(str(ip))
    return found


def _certificates(d: Deployment) -> list[Output]:
    """The site's certificate and key where the web image reads them, and a copy coturn
    (running as nobody) can read for TURN over TLS."""
    cert = d.certificate
    if cert is None:
        return []
    from ..settings.certs import Refused, load_certificates, read_bounded

    try:  # checked by the rules already; again here, as read now (a file swapped since)
        raw = read_bounded(cert.cert, "https.certificate.cert")
        load_certificates(raw, cert.cert, "https.certificate.cert")  # no key in the 0644 copy
        crt = raw.decode("ascii")
        key = read_bounded(cert.key, "https.certificate.key").decode("ascii")
    except UnicodeDecodeError:
        raise StackError(f"https.certificate.key: {cert.key} is not ASCII text (PEM)") from None
    except Refused as exc:
        raise StackError(str(exc)) from None
    out = [
        Output(cert.web_cert, crt, 0o644, owner=CONTAINER_UID),
        Output(
            cert.web_key,
            key,
            0o600,
            may_hold_secrets=True,
            owner=CONTAINER_UID,
            secret_file=True,
        ),
    ]
    if d.turn.bundled and d.turn.tls:
        out += [
            Output(cert.turn_cert, crt, 0o644, owner=NOBODY),
            Output(
                cert.turn_key, key, 0o400, may_hold_secrets=True, owner=NOBODY, secret_file=True
            ),
        ]
    return out


def mounted_dirs(compose_text: str) -> tuple[str, ...]:
    """The host directories under jitsi-meet/ that the rendered compose file mounts."""
    import yaml

    prefix = f"./{paths.CONFIG_DIR}/"
    found = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    for svc in (yaml.load(compose_text, Loader=loader).get("services") or {}).values():  # noqa: S506
        for volume in svc.get("volumes") or ():
            source = str(volume).split(":", 1)[0]
            if source.startswith(prefix):
                found.append(source.removeprefix("./"))
    return tuple(dict.fromkeys(found))
