"""Load and validate the settings: defaults < jitsi-stack.yml < profile < environment < state.

One source of truth for the whole stack. Every value remembers where it came
from (for `inv config`), and every problem becomes one line naming the key and
the fix. Nothing here touches Docker or writes files.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import SettingsError
from .schema import FIELDS, SECTIONS
from .upstream_vars import VARS

SETTINGS_FILE = "jitsi-stack.yml"
ENV_PREFIX = "JITSI_STACK_"
# Variables of the tool itself, not settings overrides.
CONTROL_VARS = {
    "JITSI_STACK_ROOT",
    "JITSI_STACK_SETTINGS",
    "JITSI_STACK_PROFILE",
    "JITSI_STACK_REQUIRE_DOCKER",
    "JITSI_STACK_TESTBED_CACHE",
}
FLOATING_TAGS = {"latest", "stable", "unstable"}

# Upstream variables that no longer work, and what to do instead.
REMOVED_VARS = {
    "DOCKER_HOST_ADDRESS": "removed upstream: set jvb.advertise_ips instead",
    "JICOFO_COMPONENT_SECRET": "unused upstream since 2021: delete it (jitsi-stack manages "
    "the six internal passwords)",
    "JVB_TCP_HARVESTER_DISABLED": "the JVB TCP fallback was removed in stable-7001: use a TURN "
    "server (env TURN_HOST/TURNS_HOST) for media over TCP",
    "JVB_TCP_PORT": "the JVB TCP fallback was removed in stable-7001: use a TURN server instead",
    "JVB_TCP_MAPPED_PORT": "the JVB TCP fallback was removed in stable-7001: use a TURN server",
    "XMPP_RECORDER_DOMAIN": "deprecated upstream: use XMPP_HIDDEN_DOMAIN",
    "TURN_CREDENTIAL": "misspelt: the upstream name is TURN_CREDENTIALS",
    "TURN_TLL": "misspelt: the upstream name is TURN_TTL",
}
for _name in (
    "ENABLE_COLIBRI_WEBSOCKET",
    "COLIBRI_WEBSOCKET_PORT",
    "COLIBRI_WEBSOCKET_REGEX",
    "COLIBRI_WEBSOCKET_JVB_LOOKUP_NAME",
    "DISABLE_COLIBRI_WEBSOCKET_JVB_LOOKUP",
    "ENABLE_COLIBRI_WEBSOCKET_UNSAFE_REGEX",
    "JVB_WS_DOMAIN",
    "JVB_WS_SERVER_ID",
    "JVB_WS_TLS",
    "ENABLE_SCTP",
    "ENABLE_OCTO_SCTP",
):
    REMOVED_VARS[_name] = (
        "removed in stable-11146 (the bridge channel is SCTP only, no colibri websocket): delete it"
    )

# Upstream variables jitsi-stack derives from settings; setting them under env: would fight.
MANAGED_VARS = {
    "PUBLIC_URL": "public_url",
    "HTTP_PORT": "ports.http",
    "HTTPS_PORT": "ports.https",
    "JVB_PORT": "ports.jvb_media",
    "JVB_COLIBRI_PORT": "ports.jvb_colibri",
    "JICOFO_REST_PORT": "ports.jicofo_rest",
    "JIGASI_PORT_MIN": "ports.jigasi_min",
    "JIGASI_PORT_MAX": "ports.jigasi_max",
    "TZ": "timezone",
    "RESTART_POLICY": "restart_policy",
    "CONFIG": "(fixed: ./jitsi-meet)",
    "JITSI_IMAGE_REPO": "images.repository",
    "JITSI_IMAGE_VERSION": "images.tag",
    "XMPP_DOMAIN": "xmpp.domain",
    "DISABLE_HTTPS": "https.enabled",
    "ENABLE_HTTP_REDIRECT": "https.http_redirect",
    "ENABLE_LETSENCRYPT": "https.letsencrypt.enabled",
    "LETSENCRYPT_DOMAIN": "https.letsencrypt.domain",
    "LETSENCRYPT_EMAIL": "https.letsencrypt.email",
    "LETSENCRYPT_USE_STAGING": "https.letsencrypt.staging",
    "ENABLE_AUTH": "auth.enabled",
    "AUTH_TYPE": "auth.type",
    "ENABLE_GUESTS": "auth.guests",
    "JWT_APP_ID": "auth.jwt.app_id",
    "JWT_APP_SECRET": "auth.jwt.app_secret",
    "JWT_ACCEPTED_ISSUERS": "auth.jwt.accepted_issuers",
    "JWT_ACCEPTED_AUDIENCES": "auth.jwt.accepted_audiences",
    "LDAP_URL": "auth.ldap.url",
    "LDAP_BASE": "auth.ldap.base",
    "LDAP_BINDDN": "auth.ldap.binddn",
    "LDAP_BINDPW": "auth.ldap.bindpw",
    "LDAP_FILTER": "auth.ldap.filter",
    "MATRIX_UVS_URL": "auth.matrix.uvs_url",
    "MATRIX_UVS_AUTH_TOKEN": "auth.matrix.uvs_auth_token",
    "ENABLE_WELCOME_PAGE": "features.welcome_page",
    "ENABLE_RECORDING": "features.recording",
    "ENABLE_TRANSCRIPTIONS": "features.transcriptions",
    "ENABLE_LOBBY": "features.lobby",
    "ENABLE_PREJOIN_PAGE": "features.prejoin_page",
    "JVB_ADVERTISE_IPS": "jvb.advertise_ips",
    "JIGASI_SIP_URI": "sip.uri",
    "JIGASI_SIP_PASSWORD": "sip.password",
    "JIGASI_SIP_SERVER": "sip.server",
    "JIGASI_SIP_PORT": "sip.port",
    "JIGASI_SIP_TRANSPORT": "sip.transport",
    "JICOFO_AUTH_PASSWORD": "(generated secret)",
    "JVB_AUTH_PASSWORD": "(generated secret)",
    "JIGASI_XMPP_PASSWORD": "(generated secret)",
    "JIGASI_TRANSCRIBER_PASSWORD": "(generated secret)",
    "JIBRI_RECORDER_PASSWORD": "(generated secret)",
    "JIBRI_XMPP_PASSWORD": "(generated secret)",
}

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_RE = re.compile(r"^[a-z0-9]+([._:/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def is_domain(value: str) -> bool:
    if not value or len(value) > 253 or value.endswith("."):
        return False
    return all(LABEL_RE.match(label) for label in value.split("."))


def parse_advertise_ip(item: str) -> tuple[ipaddress._BaseAddress, int | None]:
    """'IP' or 'IP#PORT' as upstream's JVB_ADVERTISE_IPS; raises ValueError."""
    addr, _, port = item.partition("#")
    ip = ipaddress.ip_address(addr.strip())
    if port:
        number = int(port)
        if not 1 <= number <= 65535:
            raise ValueError(port)
        return ip, number
    return ip, None


def suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass
class Settings:
    """Validated, effective settings. `values` is nested like the YAML file."""

    root: Path
    values: dict[str, Any]
    sources: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def __getitem__(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node

    @property
    def public(self):
        return urlsplit(self["public_url"])

    @property
    def public_hostport(self) -> str:
        """host[:port] as the browser sees it (NEXT_PUBLIC_JITSI_DOMAIN)."""
        parts = self.public
        default = 443 if parts.scheme == "https" else 80
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        return host if parts.port in (None, default) else f"{host}:{parts.port}"

    def enabled_services(self) -> list[str]:
        """Upstream service names that run, core first."""
        names = ["web", "prosody", "jicofo", "jvb"]
        names += [
            s
            for s in ("jibri", "jigasi", "transcriber", "etherpad", "whiteboard")
            if self[f"services.{s}"]
        ]
        return names

    def flat(self) -> dict[str, Any]:
        return {key: self[key] for key in FIELDS}


# -- loading ---------------------------------------------------------------


def _defaults() -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, spec in FIELDS.items():
        _set(tree, dotted, copy.deepcopy(spec.default))
    return tree


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[last] = value


def _read_yaml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problems.append(f"{path.name}:{where}: not valid YAML: fix the syntax")
        return {}
    except OSError as err:
        problems.append(f"{path}: cannot read ({err.strerror}): check the path and permissions")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name}: the top level must be a mapping of settings (key: value)")
        return {}
    return data


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in SECTIONS:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _unknown_key(dotted: str, origin: str) -> str:
    origin = origin.removeprefix("file:")
    upper = dotted.upper()
    if upper in REMOVED_VARS:
        return f"{origin}: {dotted}: {REMOVED_VARS[upper]}"
    if upper in MANAGED_VARS:
        return f"{origin}: {dotted} is an upstream variable: set {MANAGED_VARS[upper]} instead"
    if upper in VARS:
        return f"{origin}: {dotted} is an upstream variable: put it under env: ({upper}: value)"
    return f"{origin}: unknown setting {dotted}{suggest(dotted, FIELDS)}: fix or remove it"


def _apply(tree, sources, flat: dict[str, Any], origin: str, problems: list[str]) -> None:
    for dotted, value in flat.items():
        if dotted not in FIELDS:
            problems.append(_unknown_key(dotted, origin))
            continue
        if dotted == "env" and isinstance(value, dict):
            # merge passthrough variables instead of replacing the mapping
            current = dict(_get(tree, "env"))
            current.update(value)
            value = current
        _set(tree, dotted, value)
        sources[dotted] = origin


def _get(tree, dotted):
    for part in dotted.split("."):
        tree = tree[part]
    return tree


def settings_paths(root: Path, environ: dict[str, str]) -> list[Path]:
    main = Path(environ.get("JITSI_STACK_SETTINGS") or root / SETTINGS_FILE)
    if not main.is_absolute():
        main = root / main
    paths = [main]
    profile = environ.get("JITSI_STACK_PROFILE", "").strip()
    if profile:
        paths.append(main.with_name(f"{main.stem}.{profile}{main.suffix}"))
    local = root / "jitsi-stack.local.yml"
    paths.append(local)
    return paths


def _env_overrides(environ: dict[str, str], problems: list[str]) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in CONTROL_VARS:
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest.startswith("ENV__"):
            out["env." + rest[5:]] = (raw, name)
            continue
        dotted = rest.lower().replace("__", ".")
        if dotted not in FIELDS:
            env_names = [ENV_PREFIX + k.upper().replace(".", "__") for k in FIELDS]
            problems.append(
                f"environment: unknown override {name}{suggest(name, env_names)}: fix or unset it"
            )
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if FIELDS[dotted].kind in ("str", "path", "tag") and not isinstance(value, str):
            value = raw
        out[dotted] = (value, name)
    return out


def load(
    root: Path,
    environ: dict[str, str] | None = None,
    state: dict | None = None,
    *,
    validate_rules: bool = True,
) -> Settings:
    """Effective settings for the project at root; raises SettingsError listing every problem."""
    environ = dict(os.environ if environ is None else environ)
    root = Path(root).resolve()
    problems: list[str] = []
    tree = _defaults()
    sources = {k: "default" for k in FIELDS}
    used: list[Path] = []
    paths = settings_paths(root, environ)
    for index, path in enumerate(paths):
        if not path.exists():
            if index == 1 and environ.get("JITSI_STACK_PROFILE"):
                problems.append(
                    f"JITSI_STACK_PROFILE: profile file {path.name} does not exist: create it "
                    "or unset JITSI_STACK_PROFILE"
                )
            if index == 0 and environ.get("JITSI_STACK_SETTINGS"):
                problems.append(
                    f"JITSI_STACK_SETTINGS: {path} does not exist: fix the path or unset it"
                )
            continue
        used.append(path)
        data = _read_yaml(path, problems)
        flat = _flatten(data)
        if "env" in flat and not isinstance(flat["env"], dict):
            problems.append(f"{path.name}: env must be a mapping NAME: value")
            flat.pop("env")
        _apply(tree, sources, flat, f"file:{_rel(path, root)}", problems)
    overrides = _env_overrides(environ, problems)
    for dotted, (value, name) in overrides.items():
        if dotted.startswith("env."):
            _set(tree, "env", {**_get(tree, "env"), dotted[4:]: value})
            sources["env"] = f"env:{name}"
        else:
            _set(tree, dotted, value)
            sources[dotted] = f"env:{name}"
    state_warnings = []
    for dotted, entry in (state or {}).get("overrides", {}).items():
        if dotted not in FIELDS or not isinstance(entry, dict):
            continue
        configured = _get(tree, dotted)
        if configured == entry.get("value"):
            continue  # the settings caught up with `inv update`: nothing to override
        if entry.get("over") == configured:
            _set(tree, dotted, entry.get("value"))
            sources[dotted] = "state:inv update"
        else:  # the operator changed the setting since: the newer decision wins
            state_warnings.append(
                f"{dotted}: `inv update` chose {entry.get('value')!r} over {entry.get('over')!r}, "
                f"but the settings now say {configured!r}: using {configured!r}"
            )
    if problems:
        raise SettingsError(problems)
    settings = Settings(root=root, values=tree, sources=sources, files=used)
    from . import rules  # late import: rules needs Settings

    errors, warnings = rules.check(settings, strict=False) if validate_rules else ([], [])
    settings.warnings = state_warnings + warnings
    if errors:
        raise SettingsError(errors)
    return settings


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
