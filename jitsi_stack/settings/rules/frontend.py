"""The frontend's settings: who may frame meetings (frontend.origins) and the token URL."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...validators import is_domain, is_loopback_host

if TYPE_CHECKING:
    from ..layers import Settings

ORIGIN_FIX = "use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000"


def origin_problem(text: str) -> str:
    """Why text is not an origin a CSP frame-ancestors source may name; '' when it is.
    CSP3 host-source: scheme "://" host [":" port], a host may start with "*." and the
    port may be "*"; no path, query, fragment or user (an origin has none)."""
    if not isinstance(text, str) or not text or text != text.strip() or " " in text:
        return "is empty or has spaces"
    if text == "*" or text.startswith("*"):
        return "is a bare wildcard: name the frontend's origin"
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "has no scheme://"
    if scheme.lower() not in ("http", "https"):
        return f"has the scheme {scheme}: only http and https frame a meeting"
    if any(c in rest for c in "/?#"):
        return "has a path, query or fragment: an origin has none"
    if "@" in rest:
        return "has a user or password: an origin has none"
    host, port = rest, ""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return "has an unclosed IPv6 address"
        host, tail = rest[: end + 1], rest[end + 1 :]
        if tail and not tail.startswith(":"):
            return "is not scheme://host[:port]"
        port = tail[1:]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"has the host {host}, not an IPv6 address"
    else:
        host, _colon, port = rest.partition(":")
        if _colon and not port:
            return "has an empty port"
        bare = host[2:] if host.startswith("*.") else host
        if "*" in bare:
            return "has a wildcard other than a leading *. in the host"
        try:
            ipaddress.IPv4Address(bare)
            if host.startswith("*."):
                return "has a wildcard on an IP address"
        except ValueError:
            if not (is_domain(bare) or bare == "localhost"):
                return f"has the host {host}, not a domain or IP address"
    if port and port != "*" and not (port.isdigit() and 0 < int(port) < 65536):
        return f"has the port {port}: use 1-65535 or *"
    return ""


def normal(origin: str) -> str:
    """The origin as a browser compares it: scheme and host lower case, default port off."""
    parts = urlsplit(origin.replace("*.", "wildcard-.", 1))
    scheme = parts.scheme.lower()
    netloc = parts.netloc.lower().replace("wildcard-.", "*.", 1)
    default = {"http": ":80", "https": ":443"}[scheme]
    return f"{scheme}://{netloc.removesuffix(default)}"


def dev_https(s: Settings) -> bool:
    """https with the development CA: frontend.dev_https, when nothing else serves https
    (https.enabled off) and public_url is plain http (an https public_url without
    https.enabled means something in front of the stack holds the site's certificate)."""
    return (
        bool(s["frontend.dev_https"])
        and not s["https.enabled"]
        and s["public_url"].lower().startswith("http://")
    )


def ca_warnings(s: Settings) -> list[str]:
    """The development CA not trusted on this machine: one line, for `inv config` and
    `inv start` only (it reads the CA and the system's trust store: not for every
    settings load)."""
    from ...store import devca

    if not dev_https(s):
        return []
    try:
        found = devca.peek(s.root)
    except Exception:  # noqa: BLE001 - render refuses a damaged CA in one line
        found = None
    if found is None or devca.trusted(found):
        return []
    host = urlsplit(s["public_url"]).hostname or "localhost"
    return [
        f"frontend.dev_https: this machine does not trust the development CA "
        f"({devca.CA_CERT}): browsers refuse https://{host}:{s['ports.https']}: run "
        "`inv dev-ca.trust` (or `inv dev-ca.trust --print`)"
    ]


def warn(s: Settings, warnings: list[str]) -> None:
    """The warnings that save a day, one line each (inv config, inv start)."""
    parts = urlsplit(s["public_url"])
    host = parts.hostname or ""
    if parts.scheme == "http" and not dev_https(s) and not s["https.enabled"]:
        warnings.append(
            f"frontend: the stack has no https endpoint ({s['public_url']} is plain http): "
            "@jitsi/react-sdk and external_api.js load only https://<domain>/ and will fail: "
            "leave frontend.dev_https on (development) or set https"
        )
    if not s["frontend.origins"] and not is_loopback_host(host) and s["frontend.env_file"]:
        warnings.append(
            "frontend.origins: empty in production: only the stack itself may frame "
            "meetings, the platform's frontend is refused by the browser: add its origin, "
            "e.g. https://agents.example.com"
        )


def check(s: Settings, errors: list[str]) -> None:
    seen: dict[str, str] = {}
    for origin in s["frontend.origins"]:
        why = origin_problem(origin)
        if why:
            errors.append(f"frontend.origins: {origin!r} {why}: {ORIGIN_FIX}")
            continue
        key = normal(origin)
        if key in seen:
            errors.append(
                f"frontend.origins: {origin!r} is the same origin as {seen[key]!r}: list it once"
            )
        seen[key] = origin
    url = s["frontend.token_url"]
    if url and not (url.startswith("/") or url.startswith("https://")):
        http_local = url.startswith(("http://localhost", "http://127.0.0.1"))
        if not http_local:
            errors.append(
                f"frontend.token_url: {url!r} is neither a path nor an https URL: use e.g. "
                "/api/jitsi-token or https://platform.example.com/api/jitsi-token"
            )
