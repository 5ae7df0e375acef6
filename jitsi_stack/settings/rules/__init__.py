"""Validation rules. Each problem is one line: the key, what is wrong, the fix.

`check(settings)` is run by every render; `check(settings, strict=True)` adds
the rules of `nox -s lint` (production readiness).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from ...store import paths
from ...store.files import MAX_FILE_BYTES
from ...store.secrets import is_secret_name
from ...validators import (
    EMAIL_RE,
    IMAGE_RE,
    MAX_TOKEN_TTL,
    NAME_RE,
    VAR_RE,
    is_domain,
    is_loopback_host,
    show,
    suggest,
    tag_problem,
)
from ..layers import Settings
from ..schema import FIELDS
from ..upstream import LUA_STRING_VARS, MANAGED, REMOVED, managed_fix, variables
from .frontend import check as frontend_check
from .frontend import warn as frontend_warn
from .helm import settings_problems as helm_problems
from .media import advertise, certificate, metrics, public_host, turn
from .swarm import settings_problems as swarm_problems

# Passthrough variables whose value changes a derived fact: they must be domains.
DOMAIN_VARS = (
    "XMPP_AUTH_DOMAIN",
    "XMPP_MUC_DOMAIN",
    "XMPP_INTERNAL_MUC_DOMAIN",
    "XMPP_GUEST_DOMAIN",
    "XMPP_HIDDEN_DOMAIN",
    "XMPP_SERVER",
)


def _type_problem(key: str, value) -> str | None:
    """None when value fits the field's kind, else the one-line problem (never a secret)."""
    spec = FIELDS[key]
    kind = spec.kind
    shown = "the value" if spec.secret else show(value)
    if value is None:
        return f"{key}: has no value: write one, or remove the key to keep the default"
    if kind == "bool":
        if not isinstance(value, bool):
            left_out = f", or remove it ({spec.auto})" if spec.auto else ""
            return f"{key}: {shown} is not true or false: write true or false{left_out}"
    elif kind in ("int", "port", "optional_port"):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{key}: {shown} is not a whole number: write a number like {spec.default}"
        if kind == "port" and not 1 <= value <= 65535:
            return f"{key}: port {value} is out of range: use a port between 1 and 65535"
        if kind == "optional_port" and not 0 <= value <= 65535:
            return f"{key}: port {value} is out of range: use 0 (off) or a port 1-65535"
        if kind == "int" and value <= 0:
            return f"{key}: {value} must be greater than 0"
    elif kind in ("list", "ip_list"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key}: must be a list of text values, e.g. [a, b]"
        for item in value:
            if _control(item):
                return f"{key}: an entry contains a control character: remove it"
    elif kind == "mapping":
        if not isinstance(value, dict):
            return f"{key}: must be a mapping NAME: value"
    elif kind == "choice":
        if value not in spec.choices:
            return (
                f"{key}: unknown value {shown}{suggest(str(value), spec.choices)}: "
                f"use one of {', '.join(spec.choices)}"
            )
    elif not isinstance(value, str):
        if spec.secret:
            return f"{key}: must be text: quote the value in jitsi-stack.yml ('...')"
        return f"{key}: {shown} must be text: quote it"
    elif key != "web.custom_config_js" and ("\n" in value or "\r" in value):
        return f"{key}: must be a single line: remove the line break"
    elif _control(value.replace("\n", "").replace("\t", "")):
        return f"{key}: contains a control character (NUL, escape, ...): remove it"
    return None


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check(s: Settings, strict: bool = False) -> tuple[list[str], list[str]]:
    """(errors, warnings) for effective settings; strict adds the production rules."""
    errors: list[str] = []
    warnings: list[str] = []
    for key in FIELDS:
        problem = _type_problem(key, s[key])
        if problem:
            errors.append(problem)
    if errors:  # later rules assume the types are right
        return errors, warnings

    _names(s, errors)
    _public_url(s, errors, warnings, strict)
    _ports(s, errors)
    _https(s, errors)
    _auth(s, errors, strict)
    _features(s, errors)
    advertise(s, errors, warnings, strict)
    turn(s, errors, warnings)
    certificate(s, errors, warnings, strict)
    metrics(s, errors)
    _passthrough(s, errors)
    errors.extend(helm_problems(s))
    errors.extend(swarm_problems(s))
    _lua_strings(s, errors)
    _files(s, errors)
    frontend_check(s, errors)
    if not errors:
        frontend_warn(s, warnings)
    return errors, warnings


def _lua_strings(s: Settings, errors: list[str]) -> None:
    """Values prosody's templates paste into a Lua string must not end or escape it."""
    values: list[tuple[str, str, bool]] = []  # (key, value, secret)
    for key, spec in FIELDS.items():
        if spec.upstream in LUA_STRING_VARS:
            raw = s[key]
            for item in raw if isinstance(raw, list) else [raw]:
                values.append((key, str(item), spec.secret))
    for name, value in s["env"].items():
        if name in LUA_STRING_VARS:
            values.append((f"env.{name}", str(value), is_secret_name(name)))
    for key, value, _secret in values:
        bad = next((c for c in ('"', "\\") if c in value), "")
        if bad:
            errors.append(
                f"{key}: contains {bad}, which prosody's config (a Lua string) cannot hold: "
                f"choose a value without {bad}"
            )


def _names(s: Settings, errors: list[str]) -> None:
    for key in ("project_name", "container_prefix", "network.name"):
        if not NAME_RE.match(s[key]):
            errors.append(
                f"{key}: {show(s[key])} is not a valid Docker name: use lowercase letters, "
                "digits, '-' and '_'"
            )
    if s["network.name"] in ("jitsi-internal", f"{s['project_name']}-jitsi-internal"):
        errors.append(
            f"network.name: {s['network.name']} is the name of Jitsi's own network: choose "
            "another name for the network shared with the platform"
        )
    if not is_domain(s["xmpp.domain"]):
        errors.append(
            f"xmpp.domain: {show(s['xmpp.domain'])} is not a valid domain: use a name like "
            "meet.jitsi"
        )
    repo = s["images.repository"]
    if not IMAGE_RE.match(repo) or ":" in repo.split("/")[-1]:
        errors.append(
            f"images.repository: {show(repo)} is not a registry path: use e.g. ghcr.io/jitsi "
            "(no tag)"
        )
    problem = tag_problem(s["images.tag"])
    if problem:
        errors.append(f"images.tag: {problem}")
    for key in ("images.etherpad", "images.whiteboard"):
        if not IMAGE_RE.match(s[key]):
            errors.append(f"{key}: {show(s[key])} is not an image reference: use name:tag")
    if not _timezone_ok(s["timezone"]):
        errors.append(
            f"timezone: {show(s['timezone'])} is not a time zone: use e.g. UTC or Europe/Berlin"
        )


def _timezone_ok(name: str) -> bool:
    if not name or " " in name or name.startswith("/") or ".." in name:
        return False
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Without a tz database on this host (no /usr/share/zoneinfo, no tzdata package),
        # the containers' own database decides.
        return not any(os.path.isdir(p) for p in zoneinfo.TZPATH)
    return True


def _public_url(s, errors, warnings, strict) -> None:
    url = s["public_url"]
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        errors.append(
            f"public_url: {show(url)} is not a valid URL (port or IPv6 address): use e.g. "
            "https://meet.example.com or https://[2001:db8::1]"
        )
        return
    if parts.scheme not in ("http", "https") or not host:
        errors.append(
            f"public_url: {show(url)} is not an http(s) URL: use e.g. "
            "https://meet.example.com or http://localhost:8443"
        )
        return
    if parts.username or parts.password:
        errors.append("public_url: must not contain a user or password: remove the user:pass@ part")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        errors.append(
            f"public_url: {show(url)} has a path, query or fragment: Jitsi must be served at "
            "the root, use scheme://host[:port]"
        )
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not is_domain(host):
            errors.append(f"public_url: host {show(host)} is not a valid domain or IP address")
    if parts.scheme == "http" and not is_loopback_host(host):
        message = (
            f"public_url: {url} is plain http for a host other than localhost: browsers "
            "block camera and microphone there; use https://"
        )
        (errors if strict else warnings).append(message)
    # The published port must be the one in the URL when nothing else sits in front.
    if is_loopback_host(host):
        want = s["ports.https"] if parts.scheme == "https" else s["ports.http"]
        effective = port or (443 if parts.scheme == "https" else 80)
        if parts.scheme == "https" and not s["https.enabled"]:
            errors.append(
                f"public_url: {url} is https on {host} but https.enabled is false: set "
                "https.enabled: true or use http://"
            )
        elif effective != want:
            key = "ports.https" if parts.scheme == "https" else "ports.http"
            errors.append(
                f"public_url: port {effective} differs from {key} ({want}): make them the same"
            )


MAX_BRIDGES = 16  # on one host: each is a JVM of about 1 GB; more hosts scale further
# jvb reference.conf graceful-shutdown-max-duration (jitsi-videobridge a29d97d1): 24 hours
MAX_DRAIN_SECONDS = 86400


def _ports(s, errors) -> None:
    used: dict[tuple[str, int], str] = {}

    def claim(key: str, proto: str, number: int) -> None:
        other = used.get((proto, number))
        if other:
            errors.append(
                f"{key}: port {number}/{proto} is also used by {other}: choose another port"
            )
        else:
            used[(proto, number)] = key

    claim("ports.http", "tcp", s["ports.http"])
    if s["https.enabled"]:
        claim("ports.https", "tcp", s["ports.https"])
    if not 1 <= s["jvb.drain_timeout"] <= MAX_DRAIN_SECONDS:
        errors.append(
            f"jvb.drain_timeout: {s['jvb.drain_timeout']} seconds: use 1 to "
            f"{MAX_DRAIN_SECONDS} (jvb's graceful-shutdown-max-duration, 24 hours)"
        )
    count = s["jvb.count"]
    if not 1 <= count <= MAX_BRIDGES:
        errors.append(f"jvb.count: {count} bridges: use 1 to {MAX_BRIDGES} on one host")
        count = 1
    for key in ("ports.jvb_colibri", "ports.jvb_media"):
        if s[key] + count - 1 > 65535:
            errors.append(f"{key}: {s[key]} + {count - 1} (jvb.count) passes 65535: lower {key}")
    for number in range(count):  # bridge N takes the N-th port from each base
        suffix = "" if count == 1 else f" (bridge {number + 1})"
        claim(f"ports.jvb_colibri{suffix}", "tcp", s["ports.jvb_colibri"] + number)
        claim(f"ports.jvb_media{suffix}", "udp", s["ports.jvb_media"] + number)
    claim("ports.jicofo_rest", "tcp", s["ports.jicofo_rest"])
    if s["metrics.enabled"]:
        for key in ("metrics.grafana_port", "metrics.prometheus_port"):
            if s[key]:  # Prometheus's 0: not published
                claim(key, "tcp", s[key])
    if s["turn.enabled"] and s["turn.server"] == "bundled":
        claim("turn.port", "udp", s["turn.port"])
        claim("turn.port", "tcp", s["turn.port"])
        if s["turn.tls"]:
            claim("turn.tls_port", "tcp", s["turn.tls_port"])
        low, high = s["turn.relay_min"], s["turn.relay_max"]
        for number in range(low, high + 1) if high - low < 500 else ():
            if ("udp", number) in used:
                errors.append(
                    f"turn.relay_min: the relay range {low}-{high}/udp contains port "
                    f"{number}/udp of {used[('udp', number)]}: move one of them"
                )
                break
    if s["services.jigasi"]:
        low, high = s["ports.jigasi_min"], s["ports.jigasi_max"]
        if low > high:
            errors.append(f"ports.jigasi_min: {low} is above ports.jigasi_max ({high}): swap them")
        else:
            media = [s["ports.jvb_media"] + n for n in range(count)]
            inside = [m for m in media if low <= m <= high]
            if inside:
                which = "ports.jvb_media" if inside[0] == media[0] else "a bridge's media port"
                errors.append(
                    f"ports.jigasi_min: the range {low}-{high}/udp contains "
                    f"{which} ({inside[0]}): move one of them"
                )


def _https(s, errors) -> None:
    le = "https.letsencrypt"
    if s["https.http_redirect"] and not s["https.enabled"]:
        errors.append("https.http_redirect: needs https.enabled: true (or turn the redirect off)")
    if not s[f"{le}.enabled"]:
        return
    if not s["https.enabled"]:
        errors.append(f"{le}.enabled: needs https.enabled: true")
    domain, email = s[f"{le}.domain"], s[f"{le}.email"]
    host = public_host(s)
    if not domain:
        errors.append(f"{le}.domain: required when Let's Encrypt is on: set the public domain")
    elif not is_domain(domain):
        errors.append(f"{le}.domain: {show(domain)} is not a valid domain")
    elif domain != host:
        errors.append(
            f"{le}.domain: {domain} differs from the public_url host {host}: make them the same"
        )
    if not email:
        errors.append(f"{le}.email: required when Let's Encrypt is on: set a contact address")
    elif not EMAIL_RE.match(email):
        errors.append(f"{le}.email: {show(email)} is not an e-mail address")
    if s["ports.http"] != 80 or s["ports.https"] != 443:
        errors.append(
            f"{le}.enabled: Let's Encrypt needs host ports 80 and 443 (ports.http is "
            f"{s['ports.http']}, ports.https is {s['ports.https']}): set them to 80 "
            "and 443"
        )


def _auth(s, errors, strict) -> None:
    if not s["auth.enabled"]:
        return
    kind = s["auth.type"]
    if kind == "jwt":
        if not s["auth.jwt.app_id"]:
            errors.append("auth.jwt.app_id: required when auth.type is jwt: set the app id")
        if not s["auth.jwt.app_secret"]:
            pass  # generated once, kept with the other secrets
        elif s["auth.jwt.app_secret"].strip("\"'") in (
            "0",
            "f",
            "F",
            "false",
            "False",
            "FALSE",
            "",
        ):
            # jitsi-meet.cfg.lua:4 renders app_secret only when `JWT_APP_SECRET | toBool`:
            # tpl's toBool reads these as false, and token auth is then switched off.
            errors.append(
                "auth.jwt.app_secret: upstream reads this value as false and drops the "
                "secret (token auth off): choose a long random secret"
            )
        elif strict and len(s["auth.jwt.app_secret"]) < 32:
            errors.append(
                "auth.jwt.app_secret: shorter than 32 characters: use a long random secret (or "
                "leave it empty: jitsi-stack generates one)"
            )
        if s["auth.jwt.token_ttl"] > MAX_TOKEN_TTL:
            errors.append(
                f"auth.jwt.token_ttl: {s['auth.jwt.token_ttl']} must be at most {MAX_TOKEN_TTL} "
                "(366 days): mint shorter-lived tokens"
            )
        if s["auth.jwt.moderator_from_token"]:
            # environment.token_roles renders these for jicofo: an own value would hand
            # owner back to every token holder or to the first to join.
            for name in ("JICOFO_ENABLE_AUTH", "ENABLE_AUTO_OWNER"):
                if name in s["env"]:
                    errors.append(
                        f"env.{name}: set by auth.jwt.moderator_from_token (moderators come "
                        "from the token): remove it, or set moderator_from_token: false"
                    )
            if s["auth.guests"]:
                # With jicofo's authentication off (token_roles), jicofo no longer refuses a
                # new room to a requester outside XMPP_DOMAIN (jicofo 7ebb13dc
                # xmpp/ConferenceIqHandler.kt:226-242 runs only with an authAuthority): an
                # anonymous guest could open any room. Upstream's way to make guests wait for
                # a token holder, jitsi-meet's mod_muc_wait_for_host (with persistent_lobby
                # and WAIT_FOR_HOST_DISABLE_AUTO_OWNERS, jitsi-meet.cfg.lua:47,406-408), counts
                # any token holder as host and comes from the unpinned plugin .deb: refused
                # instead (docs/tokens.md, "Guests").
                errors.append(
                    "auth.guests: with auth.type jwt and moderator_from_token, guests without a "
                    "token could open rooms themselves: remove auth.guests (it then defaults to "
                    "false; customers get tokens without --moderator), or set "
                    "moderator_from_token: false"
                )
    elif kind == "ldap":
        url = s["auth.ldap.url"]
        if not url:
            errors.append("auth.ldap.url: required when auth.type is ldap: set ldap(s)://host/")
        elif urlsplit(url).scheme not in ("ldap", "ldaps") or not urlsplit(url).hostname:
            errors.append(f"auth.ldap.url: {show(url)} is not an ldap:// or ldaps:// URL")
        if not s["auth.ldap.base"]:
            errors.append("auth.ldap.base: required when auth.type is ldap: set the search base")
    elif kind == "matrix" and not s["auth.matrix.uvs_url"]:
        errors.append("auth.matrix.uvs_url: required when auth.type is matrix: set the UVS URL")


def _features(s, errors) -> None:
    if s["features.recording"] and not s["services.jibri"]:
        errors.append("features.recording: needs the recorder: set services.jibri: true")
    if s["features.transcriptions"] and not s["services.transcriber"]:
        errors.append("features.transcriptions: needs services.transcriber: true")
    # prosody creates the recorder and transcriber accounts only with these flags on
    # (prosody/rootfs/etc/s6-overlay/scripts/register-setup:108-131, stable-11146-2):
    # without them the service cannot log in, yet would look healthy.
    if s["services.jibri"] and not s["features.recording"]:
        errors.append(
            "services.jibri: needs features.recording: true (prosody creates the recorder's "
            "account only then)"
        )
    if s["services.transcriber"] and not s["features.transcriptions"]:
        errors.append(
            "services.transcriber: needs features.transcriptions: true (prosody creates the "
            "transcriber's account only then)"
        )
    if s["services.jigasi"]:
        for key in ("sip.uri", "sip.password", "sip.server"):
            if not s[key]:
                errors.append(f"{key}: required when services.jigasi is on: set the SIP account")
        uri = s["sip.uri"]
        if uri and "@" not in uri:
            errors.append(f"sip.uri: {show(uri)} is not user@server: write the full SIP address")


def _passthrough(s, errors) -> None:
    for name, value in s["env"].items():
        key = f"env.{name}"
        if not isinstance(name, str) or not VAR_RE.match(name):
            shown = name if isinstance(name, str) and name.isprintable() else show(name)
            errors.append(f"env.{shown}: not a variable name: use UPPER_CASE")
        elif name in REMOVED:
            errors.append(f"{key}: {REMOVED[name]}")
        elif name in MANAGED:
            errors.append(f"{key}: {managed_fix(name)}")
        elif name not in variables():
            errors.append(
                f"{key}: not an upstream docker-jitsi-meet variable"
                f"{suggest(name, variables())}: fix the name"
            )
        elif isinstance(value, (dict, list)) or value is None:
            errors.append(f"{key}: must be a single value (text, number or true/false)")
        elif not isinstance(value, (str, int, float, bool)):
            errors.append(f"{key}: must be text, a number or true/false: quote it")
        elif "\n" in str(value) or "\r" in str(value):
            errors.append(f"{key}: must be a single line: remove the line break")
        elif _control(str(value)):
            errors.append(f"{key}: contains a control character (NUL, escape, ...): remove it")
        elif name in DOMAIN_VARS and not is_domain(str(value)):
            errors.append(f"{key}: {show(value)} is not a domain: use e.g. muc.meet.jitsi")


def _files(s, errors) -> None:
    from ...store.files import NotRegular, read_bounded, refusal

    for name in s["compose.extra_files"]:
        path = s.root / name
        try:  # the file as `up` reads it: regular (through a link), bounded, never waited on
            read_bounded(path, follow=True)
        except NotRegular as refused:
            errors.append(
                refusal(f"compose.extra_files: {name}", refused, "a compose file", EXTRA_FIX)
            )
        except OSError:
            errors.append(f"compose.extra_files: {name} does not exist: fix the path")
    target = s["frontend.env_file"]
    if target:
        path = s.root / target
        managed = [s.root / p for p in (paths.STATE_DIR, paths.CONFIG_DIR, paths.BACKUP_ARCHIVES)]
        managed += [s.root / p for p in paths.GENERATED] + list(s.files)
        resolved = _resolved(path)
        if any(resolved == _resolved(m) or resolved.is_relative_to(_resolved(m)) for m in managed):
            errors.append(
                f"frontend.env_file: {target} is managed by jitsi-stack: name the "
                "frontend's own env file (e.g. ../frontend/.env.local)"
            )
        elif path.is_symlink():
            errors.append(f"frontend.env_file: {target} is a symbolic link: name the real file")
        elif path.exists() and not path.is_file():
            errors.append(f"frontend.env_file: {target} is not a regular file: name a file")
        elif path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
            errors.append(
                f"frontend.env_file: {target}: is more than 1 MiB, the most a frontend env "
                "file may have: name the frontend's .env file"
            )
        elif not path.parent.is_dir():
            errors.append(
                f"frontend.env_file: the directory of {target} does not exist: fix the "
                "path or create the directory"
            )


EXTRA_FIX = "name a compose file"


def _resolved(path):
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path
