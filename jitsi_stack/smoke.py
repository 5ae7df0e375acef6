"""End-to-end connectivity ("smoke") checks of a running Jitsi Meet deployment.

Each check probes one path a browser or operator depends on (web page, config.js, BOSH,
XMPP websocket, jicofo, jvb, prosody, media port, advertised addresses, TLS) and returns a
:class:`CheckResult` with a one-line detail and, on warn/fail, the likely cause and the fix.
Checks run concurrently, each bounded by ``SmokeTarget.timeout``; results come back in the
fixed order of :data:`CHECK_NAMES`. Nothing secret is printed: URLs are shown without
credentials or query strings and no environment value is echoed.

Usage from Python::

    results = run_checks(SmokeTarget(public_url="http://localhost:8443"))
    render_table(results)
    raise SystemExit(exit_code(results))
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import secrets
import shlex
import socket
import ssl
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from jitsi_stack.xmpp_probe import (
    BoshClient,
    Deadline,
    HttpStatusError,
    NotXmppError,
    ProbeError,
    ProbeTimeout,
    SaslError,
    StanzaError,
    StreamError,
    websocket_probe,
)

CHECK_NAMES: tuple[str, ...] = (
    "web",
    "config-js",
    "bosh",
    "websocket",
    "focus",
    "jvb-health",
    "jicofo-health",
    "prosody-health",
    "jvb-udp",
    "advertise-ips",
    "tls-cert",
)
# checks whose traffic goes through the web container's public port
WEB_PATH_CHECKS = frozenset({"web", "config-js", "bosh", "websocket", "tls-cert"})

STATUSES = ("pass", "warn", "fail", "skip")
TLS_WARN_DAYS = 14
TIMEOUT_GRACE = 0.25  # seconds a check may overrun its own deadline while reporting it
PROBE_NICK = "jitsi-stack-probe"
USER_AGENT = "jitsi-stack-smoke"


@dataclass(frozen=True)
class SmokeTarget:
    """Where and what to probe. Defaults match the seed's local development stack."""

    public_url: str  # e.g. "http://localhost:8443" or "https://meet.example.com"
    xmpp_domain: str = "meet.jitsi"
    muc_domain: str = "muc.meet.jitsi"
    anonymous_domain: str | None = "meet.jitsi"  # domain for SASL ANONYMOUS; None = no guests
    websocket_enabled: bool = True
    jicofo_url: str | None = "http://127.0.0.1:8888"  # None when the deployment is not local
    jvb_url: str | None = "http://127.0.0.1:8080"
    jvb_udp_port: int = 10000
    advertise_ips: tuple[str, ...] = ()
    compose_argv: tuple[str, ...] | None = None  # `docker compose ...` prefix; None = remote
    prosody_service: str = "jitsi-prosody"
    jvb_service: str = "jitsi-jvb"
    timeout: float = 10.0  # per-check timeout, seconds
    verify_tls: bool = True


@dataclass
class CheckResult:
    name: str  # stable id, one of CHECK_NAMES
    status: str  # "pass" | "warn" | "fail" | "skip"
    latency_ms: float
    detail: str  # one line: what was seen
    cause: str = ""  # for warn/fail: the likely cause
    fix: str = ""  # for warn/fail: what to do


@dataclass
class _Outcome:
    status: str
    detail: str
    cause: str = ""
    fix: str = ""


class _Fail(Exception):
    """Raised inside a check to end it with a prepared outcome."""

    def __init__(self, outcome: _Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


# --------------------------------------------------------------------------------------------
# URL helpers


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:  # "host:abc" or out of range
        return -1


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) with default ports filled in; port -1 if invalid."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), _port(url) or _DEFAULT_PORTS.get(scheme, 0)


def _hostport(url: str) -> str:
    _, host, port = _origin(url)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _display(url: str) -> str:
    """The URL without credentials, query or fragment (tokens travel in queries)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = _port(url)
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def _base(target: SmokeTarget) -> str:
    """public_url without credentials, query and trailing slash."""
    return _display(target.public_url).rstrip("/")


def _ws_base(target: SmokeTarget) -> str:
    base = _base(target)
    return ("wss" if base.startswith("https:") else "ws") + base[base.index(":") :]


def _is_loopback_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _http_session(url: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # proxies from the environment must not capture loopback traffic
    session.trust_env = not _is_loopback_host(_origin(url)[1])
    return session


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# exception -> cause / fix


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """The exception and everything it wraps (cause, context, urllib3 `reason`, args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(
            e
            for e in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args)
            if isinstance(e, BaseException)
        )


def _find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]):
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _web_down(target: SmokeTarget) -> _Outcome:
    hp = _hostport(target.public_url)
    return _Outcome(
        "fail",
        f"connection refused by {hp}",
        f"nothing answers on {hp}: is the web container running? `inv status`",
        "start it with `inv start`; if it runs, check `inv logs jitsi-web` and that the "
        "published port matches public_url",
    )


def _tls_outcome(err: ssl.SSLCertVerificationError, host: str, verify: bool) -> _Outcome:
    code = getattr(err, "verify_code", 0)
    message = getattr(err, "verify_message", "") or str(err)
    if code in (18, 19):
        cause = "self-signed certificate: browsers will refuse or warn"
        fix = "enable https.letsencrypt or install a certificate (web keys cert.crt + cert.key)"
    elif code == 10:
        cause = "the certificate has expired"
        fix = "renew it: check the acme renewal in `inv logs jitsi-web`, or install a new one"
    elif code == 62:
        cause = f"the certificate is not valid for {host}"
        fix = f"issue the certificate for {host} (LETSENCRYPT_DOMAIN must be the public host)"
    elif code in (20, 21):
        cause = (
            "the chain does not reach a trusted CA (missing intermediate, private CA or "
            "Let's Encrypt staging)"
        )
        fix = "serve the full chain (fullchain.pem); for Let's Encrypt unset the staging option"
    else:
        cause = f"TLS verification failed: {message}"
        fix = "install a valid certificate for the public host"
    if not verify:
        return _Outcome(
            "warn",
            f"certificate not trusted ({message}); verify_tls is off",
            cause,
            fix,
        )
    return _Outcome("fail", f"certificate not trusted: {message}", cause, fix)


def _from_exception(name: str, exc: BaseException, target: SmokeTarget) -> _Outcome:
    """Explain a transport failure; the web-path checks share one 'web is down' cause."""
    if isinstance(exc, _Fail):
        return exc.outcome
    timeout = target.timeout
    if _find(
        exc,
        (
            ProbeTimeout,
            requests.Timeout,
            TimeoutError,
            socket.timeout,
            subprocess.TimeoutExpired,
        ),
    ):
        stage = getattr(_find(exc, ProbeError), "stage", "") or ""
        return _Outcome(
            "fail",
            f"no answer within {timeout:g}s" + (f" ({stage})" if stage else ""),
            f"timed out after {timeout:g}s",
            _TIMEOUT_FIX.get(name, "check the service logs (`inv logs`)"),
        )
    if isinstance(exc, (requests.RequestException, OSError)) or _find(exc, OSError):
        via_web = name in WEB_PATH_CHECKS
        url = target.public_url if via_web else _service_url(name, target)
        hp = _hostport(url) if url else "?"
        cert = _find(exc, ssl.SSLCertVerificationError)
        if cert is not None:
            return _tls_outcome(cert, _origin(url)[1], target.verify_tls)
        if _find(exc, ConnectionRefusedError) or "Connection refused" in str(exc):
            if via_web:
                return _web_down(target)
            return _service_down(name, target, hp)
        if _find(exc, socket.gaierror) or "Name or service not known" in str(exc):
            host = _origin(url)[1]
            return _Outcome(
                "fail",
                f"cannot resolve {host}",
                f"DNS has no address for {host}",
                "fix the DNS record or public_url",
            )
        if _find(exc, ssl.SSLError):
            return _Outcome(
                "fail",
                f"TLS handshake with {hp} failed: {_one_line(str(_find(exc, ssl.SSLError)))}",
                "the port does not speak TLS (plain HTTP behind an https URL?) or uses an "
                "unsupported protocol",
                "use http:// in public_url for a plain-HTTP port, or serve TLS on it",
            )
        if _find(exc, (ConnectionResetError, ConnectionAbortedError)) or isinstance(
            exc, requests.ConnectionError
        ):
            return _Outcome(
                "fail",
                f"connection to {hp} dropped: {_one_line(str(exc))}",
                "the server closed the connection (a proxy or firewall in between, or a "
                "crashing service)",
                "check `inv logs` for the service and any proxy in front of it",
            )
    return _Outcome(
        "fail",
        f"{type(exc).__name__}: {_one_line(str(exc))}",
        "unexpected error while probing",
        "re-run with a longer timeout; report the detail if it persists",
    )


_TIMEOUT_FIX = {
    "web": "the web container accepts connections but does not answer: `inv logs jitsi-web`",
    "config-js": "the web container does not answer: `inv logs jitsi-web`",
    "bosh": "prosody is slow or not answering behind the web container: `inv logs jitsi-prosody`",
    "websocket": "prosody is slow or not answering on /xmpp-websocket: `inv logs jitsi-prosody`",
    "focus": "jicofo is not answering: `inv logs jitsi-jicofo`",
    "jvb-health": "jvb is not answering: `inv logs jitsi-jvb`",
    "jicofo-health": "jicofo is not answering: `inv logs jitsi-jicofo`",
    "prosody-health": "`docker compose exec` hangs: check the engine and `inv logs jitsi-prosody`",
    "jvb-udp": "`docker compose port` hangs: check the Docker engine",
    "advertise-ips": "DNS resolution of the public host hangs: check the resolver",
    "tls-cert": "the TLS handshake hangs: check the web container and any proxy in front",
}


def _service_url(name: str, target: SmokeTarget) -> str | None:
    if name in ("focus", "jicofo-health"):
        return target.jicofo_url
    if name == "jvb-health":
        return target.jvb_url
    return target.public_url


def _service_down(name: str, target: SmokeTarget, hp: str) -> _Outcome:
    if name in ("focus", "jicofo-health"):
        return _Outcome(
            "fail",
            f"connection refused by {hp}",
            f"nothing answers on {hp}: the jicofo container is down or its REST port is not "
            "published (needs JICOFO_ENABLE_REST=1 and the 127.0.0.1 port mapping)",
            "`inv status`; `inv logs jitsi-jicofo`",
        )
    if name == "jvb-health":
        return _Outcome(
            "fail",
            f"connection refused by {hp}",
            f"nothing answers on {hp}: the jvb container is down or its colibri port is not "
            "published on 127.0.0.1",
            "`inv status`; `inv logs jitsi-jvb`",
        )
    return _Outcome(
        "fail", f"connection refused by {hp}", f"nothing answers on {hp}", "`inv status`"
    )


# --------------------------------------------------------------------------------------------
# config.js: a tiny evaluator for the assignments upstream writes


@dataclass
class ConfigJs:
    """Effective values of the config.js keys the checks care about (None = not set)."""

    domain: str | None = None
    muc: str | None = None
    bosh: str | None = None
    websocket: str | None = None
    # key -> source of the last assignment when it could not be evaluated
    opaque: dict[str, str] = field(default_factory=dict)


_TRACKED = {
    ("hosts", "domain"): "domain",
    ("hosts", "muc"): "muc",
    ("bosh",): "bosh",
    ("websocket",): "websocket",
}
_PUNCT = sorted(
    (
        "===",
        "!==",
        "**=",
        "...",
        ">>>",
        "<<=",
        ">>=",
        "==",
        "!=",
        "=>",
        "+=",
        "-=",
        "*=",
        "/=",
        "%=",
        "&=",
        "|=",
        "^=",
        "<=",
        ">=",
        "&&",
        "||",
        "??",
        "?.",
        "++",
        "--",
        "<<",
        ">>",
        "**",
    ),
    key=len,
    reverse=True,
)
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {"=>", "==", "===", "!=", "!==", "&&", "||", "??"}
_REGEX_AFTER_WORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | tpl | id | num | punct | regex
    value: str
    nl: bool  # a line break precedes this token (automatic semicolon insertion)


def _read_string(src: str, i: int, quote: str) -> tuple[str, int, bool]:
    """Read a quoted literal starting after the quote; return (value, end, has_template)."""
    out: list[str] = []
    has_tpl = False
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n:
            nxt = src[i + 1]
            if nxt == "u" and src[i + 2 : i + 3] == "{":
                end = src.find("}", i + 3)
                out.append(chr(int(src[i + 3 : end], 16)))
                i = end + 1
                continue
            if nxt == "u":
                out.append(chr(int(src[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt == "x":
                out.append(chr(int(src[i + 2 : i + 4], 16)))
                i += 4
                continue
            if nxt == "\n":
                i += 2
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if c == quote:
            return "".join(out), i + 1, has_tpl
        if quote == "`" and src.startswith("${", i):
            has_tpl = True
        if c == "\n" and quote != "`":
            break  # unterminated: stop at the line end
        out.append(c)
        i += 1
    return "".join(out), i, has_tpl


def _js_tokens(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n, nl = 0, len(src), False
    while i < n:
        c = src[i]
        if c in " \t\r\f\v\ufeff":
            i += 1
        elif c == "\n":
            nl = True
            i += 1
        elif src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if "\n" in src[i : (n if end < 0 else end)]:
                nl = True
            i = n if end < 0 else end + 2
        elif src.startswith("<!--", i) or (src.startswith("-->", i) and nl):
            end = src.find("\n", i)  # HTML-like comments are legal in browser scripts
            i = n if end < 0 else end
        elif c in "'\"`":
            value, i, has_tpl = _read_string(src, i + 1, c)
            toks.append(_Tok("tpl" if has_tpl else "str", value, nl))
            nl = False
        elif c.isalpha() or c in "_$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "_$"):
                j += 1
            toks.append(_Tok("id", src[i:j], nl))
            nl, i = False, j
        elif c.isdigit():
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "._"):
                j += 1
            toks.append(_Tok("num", src[i:j], nl))
            nl, i = False, j
        elif c == "/" and (
            not toks
            or (toks[-1].kind == "punct" and toks[-1].value in _REGEX_AFTER)
            or (toks[-1].kind == "id" and toks[-1].value in _REGEX_AFTER_WORDS)
        ):
            j, in_class = i + 1, False
            while j < n and src[j] != "\n":
                if src[j] == "\\":
                    j += 2
                    continue
                if src[j] == "[":
                    in_class = True
                elif src[j] == "]":
                    in_class = False
                elif src[j] == "/" and not in_class:
                    break
                j += 1
            j += 1
            while j < n and src[j].isalpha():
                j += 1
            toks.append(_Tok("regex", src[i:j], nl))
            nl, i = False, j
        else:
            op = next((p for p in _PUNCT if src.startswith(p, i)), c)
            toks.append(_Tok("punct", op, nl))
            nl, i = False, i + len(op)
    return toks


class _Opaque:
    """Marker: the expression could not be evaluated statically."""


_OPAQUE = _Opaque()
_EMPTY_VARS = {"subdir", "subdomain"}  # upstream's SSI tenant variables; '' outside tenants
_LOCATION_ROOTS = frozenset({"window", "document", "self", "globalThis"})


def _eval_expr(
    toks: list[_Tok], i: int, location: str | None, stops: frozenset[str]
) -> tuple[Any, int]:
    """Evaluate ``operand (+ operand)*``; returns (str | None | _OPAQUE, index after)."""
    parts: list[Any] = []
    n = len(toks)
    while True:
        if i >= n:
            return _OPAQUE, i
        value, i = _eval_operand(toks, i, location)
        parts.append(value)
        if i < n and toks[i].kind == "punct" and toks[i].value == "+":
            i += 1
            continue
        break
    ends = i >= n or toks[i].nl or (toks[i].kind == "punct" and toks[i].value in stops)
    if not ends or any(isinstance(p, _Opaque) for p in parts):
        return _OPAQUE, i
    if len(parts) == 1:
        return parts[0], i
    if any(p is None for p in parts):
        return _OPAQUE, i  # 'x' + undefined == 'xundefined': not a usable URL either way
    return "".join(parts), i


def _eval_operand(toks: list[_Tok], i: int, location: str | None) -> tuple[Any, int]:
    tok = toks[i]
    if tok.kind == "str":
        return tok.value, i + 1
    if tok.kind == "punct" and tok.value == "(":
        value, j = _eval_expr(toks, i + 1, location, frozenset({")"}))
        if j < len(toks) and toks[j].value == ")":
            return value, j + 1
        return _OPAQUE, j
    if tok.kind != "id":
        return _OPAQUE, i + 1
    # dotted identifier path
    path, j = [tok.value], i + 1
    while (
        j + 1 < len(toks)
        and toks[j].kind == "punct"
        and toks[j].value == "."
        and toks[j + 1].kind == "id"
    ):
        path.append(toks[j + 1].value)
        j += 2
    if j < len(toks) and toks[j].kind == "punct" and toks[j].value in ("(", "[", "?."):
        return _OPAQUE, j  # calls and indexing are beyond a static read
    if len(path) == 1 and path[0] in ("undefined", "null"):
        return None, j
    if len(path) == 1 and path[0] in _EMPTY_VARS:
        return "", j
    is_location = path[:1] == ["location"] and len(path) == 2
    is_location |= len(path) == 3 and path[0] in _LOCATION_ROOTS and path[1] == "location"
    if location and is_location:
        parts = urlsplit(location)
        host = parts.netloc.rsplit("@", 1)[-1]
        value = {
            "host": host,
            "hostname": parts.hostname or "",
            "protocol": f"{parts.scheme}:",
            "origin": f"{parts.scheme}://{host}",
            "port": str(parts.port or ""),
        }.get(path[-1])
        if value is not None:
            return value, j
    return _OPAQUE, j


def _config_path(toks: list[_Tok], i: int) -> tuple[tuple[str, ...], int] | None:
    """Match ``config(.name|['name'])+`` at i; return (path, index after)."""
    if toks[i].kind != "id" or toks[i].value != "config":
        return None
    if i > 0 and toks[i - 1].kind == "punct" and toks[i - 1].value in (".", "?."):
        return None
    path: list[str] = []
    j, n = i + 1, len(toks)
    while j < n and toks[j].kind == "punct":
        if toks[j].value == "." and j + 1 < n and toks[j + 1].kind == "id":
            path.append(toks[j + 1].value)
            j += 2
        elif (
            toks[j].value == "["
            and j + 2 < n
            and toks[j + 1].kind == "str"
            and toks[j + 2].value == "]"
        ):
            path.append(toks[j + 1].value)
            j += 3
        else:
            break
    return (tuple(path), j) if path else None


def _source(toks: list[_Tok], start: int, end: int) -> str:
    """Source text of the statement starting at ``start`` (at least up to ``end``)."""
    depth, j = 0, start
    while j < len(toks):
        tok = toks[j]
        if j > start and depth == 0 and (tok.nl or tok.value == ";") and j >= end:
            break
        if tok.kind == "punct" and tok.value in "([{":
            depth += 1
        elif tok.kind == "punct" and tok.value in ")]}":
            depth -= 1
        j += 1
    end = max(end, j)
    text = " ".join(repr(t.value) if t.kind == "str" else t.value for t in toks[start:end])
    return _one_line(text, 80)


def parse_config_js(text: str, location: str | None = None) -> ConfigJs:
    """Effective ``config.hosts.domain/muc``, ``config.bosh`` and ``config.websocket``.

    Upstream serves system-config.js + settings-config.js + custom-config.js concatenated,
    so the last assignment wins. Right-hand sides are concatenations of quoted strings and
    the tenant variables ``subdir``/``subdomain`` (evaluated as ''); ``location.host`` and
    friends are taken from ``location`` (the page URL) when given. ``config.hosts = {...}``
    with keys replaces the hosts object; the ``config.hosts = {}`` ensure-exists idiom is
    ignored. Anything else (ternaries, calls) is recorded in ``opaque``.
    """
    toks = _js_tokens(text)
    values: dict[str, Any] = {}
    i, n = 0, len(toks)
    while i < n:
        tok = toks[i]
        if tok.kind == "id" and tok.value == "delete" and i + 1 < n:
            hit = _config_path(toks, i + 1)
            if hit:
                path, i = hit
                for tracked, key in _TRACKED.items():
                    if tracked[: len(path)] == path:
                        values[key] = None
                continue
        hit = _config_path(toks, i) if tok.kind == "id" else None
        if not hit:
            i += 1
            continue
        path, j = hit
        if j >= n or toks[j].kind != "punct" or toks[j].value not in ("=", "+="):
            i = j
            continue
        op, start = toks[j].value, j + 1
        if path == ("hosts",) and op == "=" and start < n and toks[start].value == "{":
            i = _assign_hosts_object(toks, start, location, values)
            continue
        key = _TRACKED.get(path)
        value, end = _eval_expr(toks, start, location, frozenset({";", ",", "}", ")"}))
        raw = ("opaque", _source(toks, start, max(end, start + 1)))
        if key:
            if op == "+=":
                prev = values.get(key)
                both = isinstance(prev, str) and isinstance(value, str)
                value = prev + value if both else _OPAQUE
            values[key] = raw if isinstance(value, _Opaque) else value
        elif path == ("hosts",) and op == "=":
            values["domain"] = values["muc"] = raw  # hosts replaced by something computed
        i = max(end, i + 1)
    result = ConfigJs()
    for key, value in values.items():
        if isinstance(value, tuple):
            result.opaque[key] = value[1]
        else:
            setattr(result, key, value)
    return result


def _assign_hosts_object(
    toks: list[_Tok], i: int, location: str | None, values: dict[str, Any]
) -> int:
    """Handle ``config.hosts = { domain: '...', muc: '...' }``; return index after '}'."""
    n = len(toks)
    j = i + 1
    found: dict[str, Any] = {}
    while j < n and toks[j].value != "}":
        if toks[j].kind in ("id", "str") and j + 1 < n and toks[j + 1].value == ":":
            name = toks[j].value
            if j + 2 < n and toks[j + 2].value in ("{", "["):
                depth, j = 0, j + 2  # nested literal: skip it
                while j < n:
                    if toks[j].value in ("{", "["):
                        depth += 1
                    elif toks[j].value in ("}", "]"):
                        depth -= 1
                        if depth == 0:
                            j += 1
                            break
                    j += 1
                found[name] = _OPAQUE
            else:
                value, end = _eval_expr(toks, j + 2, location, frozenset({",", "}"}))
                found[name] = (
                    ("opaque", _source(toks, j + 2, max(end, j + 3)))
                    if isinstance(value, _Opaque)
                    else value
                )
                j = end
            if j < n and toks[j].value == ",":
                j += 1
        else:
            j += 1
    if found:  # `config.hosts = {}` only makes sure the object exists
        values["domain"] = found.get("domain")
        values["muc"] = found.get("muc")
    return j + 1


_WSS_HTTP_BUG = re.compile(r"^wss?://https?://", re.IGNORECASE)


def judge_config_js(cfg: ConfigJs, target: SmokeTarget) -> _Outcome:
    """Compare the effective config.js values with the target; see the check docs."""
    fails: list[tuple[str, str]] = []
    warns: list[tuple[str, str]] = []
    page = _origin(target.public_url)
    redo = "run `inv render` and recreate the web container (`inv start`)"
    for key, raw in cfg.opaque.items():
        warns.append(
            (
                f"config.{_KEY_PATH[key]} is computed at runtime ({raw}) and was not verified",
                "keep custom-config.js overrides to plain strings so they can be checked",
            )
        )
    for key, want in (("domain", target.xmpp_domain), ("muc", target.muc_domain)):
        have = getattr(cfg, key)
        if key in cfg.opaque:
            continue
        if have != want:
            fails.append(
                (
                    f"config.{_KEY_PATH[key]} is {have!r}, expected {want!r}: the web "
                    "container and the settings disagree (stale container or wrong settings)",
                    redo,
                )
            )
    if "bosh" not in cfg.opaque:
        if not cfg.bosh:
            fails.append(("config.js sets no BOSH URL (config.bosh)", redo))
        else:
            resolved = urljoin(_base(target) + "/", cfg.bosh)
            if _origin(resolved) != page:
                fails.append(
                    (
                        f"config.bosh points to {_display(resolved)}, not to the site "
                        f"{_base(target)}: browsers cannot reach it (mixed content or CORS)",
                        "point config.bosh at the public URL (PUBLIC_URL) and " + redo,
                    )
                )
    ws = cfg.websocket
    if "websocket" not in cfg.opaque:
        ws_scheme = "wss" if page[0] == "https" else "ws"
        if not ws:
            if target.websocket_enabled:
                fails.append(
                    (
                        "config.js sets no websocket URL although websocket is enabled in "
                        "the settings (the running web container has ENABLE_XMPP_WEBSOCKET "
                        "off)",
                        redo,
                    )
                )
        elif _WSS_HTTP_BUG.match(ws):
            fails.append(
                (
                    f"config.websocket is {_clean(ws)!r}: upstream builds it as 'wss://' + "
                    "PUBLIC_URL minus a leading 'https://', so an http:// PUBLIC_URL yields "
                    "'wss://http://…' and browsers cannot connect",
                    f"override it in custom-config.js with config.websocket = "
                    f"'{ws_scheme}://{_hostport(target.public_url)}/xmpp-websocket' "
                    "(jitsi-stack renders this for http public URLs: `inv render`, recreate "
                    "web) or serve the site over https",
                )
            )
        else:
            have = _origin(ws)
            if have[0] != ws_scheme:
                why = (
                    "browsers block ws:// from an https page (mixed content)"
                    if ws_scheme == "wss"
                    else "wss:// needs TLS, which this plain-HTTP port does not speak"
                )
                fails.append(
                    (
                        f"config.websocket uses {have[0]}:// but the site is {page[0]}://: {why}",
                        f"set config.websocket to {ws_scheme}://{_hostport(target.public_url)}"
                        "/xmpp-websocket (custom-config.js) and " + redo,
                    )
                )
            elif have[1:] != page[1:]:
                fails.append(
                    (
                        f"config.websocket points to {have[1]}:{have[2]}, not to the site "
                        f"{page[1]}:{page[2]}",
                        "set PUBLIC_URL to the address browsers use and " + redo,
                    )
                )
            if not target.websocket_enabled:
                warns.append(
                    (
                        "config.js sets a websocket URL although websocket is disabled in the "
                        "settings: browsers will use it",
                        redo,
                    )
                )
    detail = (
        f"domain={_show(cfg, 'domain')} muc={_show(cfg, 'muc')} bosh={_show(cfg, 'bosh')} "
        f"websocket={_show(cfg, 'websocket')}"
    )
    if fails:
        return _Outcome("fail", detail, *_merge(fails))
    if warns:
        return _Outcome("warn", detail, *_merge(warns))
    return _Outcome("pass", detail)


_KEY_PATH = {"domain": "hosts.domain", "muc": "hosts.muc", "bosh": "bosh", "websocket": "websocket"}


def _show(cfg: ConfigJs, key: str) -> str:
    if key in cfg.opaque:
        return "<computed>"
    value = getattr(cfg, key)
    return "unset" if value is None else _clean(value)


def _clean(value: str) -> str:
    """A config URL without credentials or query string (tokens travel in queries)."""
    return re.sub(r"//[^/@]*@", "//", value.split("?", 1)[0])


def _merge(items: list[tuple[str, str]]) -> tuple[str, str]:
    causes = "; ".join(c for c, _ in items)
    fixes: list[str] = []
    for _, f in items:
        if f not in fixes:
            fixes.append(f)
    return causes, "; ".join(fixes)


# --------------------------------------------------------------------------------------------
# the checks


def _get(url: str, target: SmokeTarget, deadline: Deadline, what: str) -> requests.Response:
    return _http_session(url).get(
        url, timeout=deadline.left(what), verify=target.verify_tls, allow_redirects=False
    )


def _check_web(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    url = _base(target) + "/"
    start_host = _origin(url)[1]
    hops: list[str] = []
    for _ in range(6):
        resp = _get(url, target, deadline, "GET /")
        location = resp.headers.get("Location")
        if not (resp.is_redirect and location):
            break
        nxt = urljoin(url, location)
        if _origin(nxt)[1] != start_host:
            return _Outcome(
                "fail",
                f"{resp.status_code} redirect from {_display(url)} to {_display(nxt)}",
                "the web server sends browsers to another host (a proxy or PUBLIC_URL "
                "pointing elsewhere)",
                "set public_url to the address the site really answers on",
            )
        hops.append(f"{resp.status_code}→{_display(nxt)}")
        url = nxt
    else:
        return _Outcome(
            "fail", "more than 5 redirects", "redirect loop", "check ENABLE_HTTP_REDIRECT / proxy"
        )
    via = f" after {', '.join(hops)}" if hops else ""
    if resp.status_code != 200:
        cause = {
            404: "the web container serves no page at / (wrong port, or another service)",
            502: "a proxy in front cannot reach the web container",
            503: "the web container or a proxy is overloaded or starting",
        }.get(resp.status_code, f"the web server answers {resp.status_code}")
        return _Outcome(
            "fail", f"HTTP {resp.status_code}{via}", cause, "`inv logs jitsi-web`; `inv status`"
        )
    body = resp.text
    detail = f"HTTP 200{via}, {len(resp.content)} bytes"
    if "config.js" not in body and "jitsi" not in body.lower():
        return _Outcome(
            "warn",
            detail,
            "the page does not look like Jitsi Meet: another service may hold this port",
            "check which process publishes the port (`docker ps`, `ss -ltnp`)",
        )
    if hops and _origin(url) != _origin(target.public_url):
        return _Outcome(
            "warn",
            detail,
            f"public_url is {_base(target)} but the site redirects to {_display(url)}",
            "set public_url (PUBLIC_URL) to the final URL so config.js and the checks agree",
        )
    return _Outcome("pass", detail)


def _check_config_js(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    url = _base(target) + "/config.js"
    resp = _get(url, target, deadline, "GET /config.js")
    if resp.status_code != 200:
        return _Outcome(
            "fail",
            f"HTTP {resp.status_code} for {_display(url)}",
            "the web container does not serve config.js (it is rendered at container start)",
            "`inv logs jitsi-web`; recreate it with `inv start`",
        )
    cfg = parse_config_js(resp.text, location=_base(target) + "/")
    return judge_config_js(cfg, target)


def _probe_room(target: SmokeTarget) -> str:
    return f"jitsi-stack-probe-{secrets.token_hex(6)}@{target.muc_domain}"


_BACKOFF = (1.0, 2.0, 4.0)  # lib-jitsi-meet retries a not-ready answer after 1 s, 2 s, ...


def _check_bosh(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    url = _base(target) + "/http-bind"
    domain = target.anonymous_domain or target.xmpp_domain
    client = BoshClient(url, domain, deadline, verify=target.verify_tls, http=_http_session(url))
    done: list[str] = []
    room = _probe_room(target)
    try:
        client.connect()
        done.append("session")
        if target.anonymous_domain is None:
            mechs = ", ".join(client.mechanisms()) or "none"
            return _Outcome(
                "warn",
                f"BOSH session to {domain} via {_display(url)} ok (SASL: {mechs}); login skipped",
                "guests are not allowed (anonymous_domain is None): login and room join were "
                "not tested",
                "set anonymous_domain to the guest domain to test the guest path end to end",
            )
        client.login_anonymous()
        done.append("SASL ANONYMOUS")
        client.bind()
        done.append("bind")
        focus = f"focus.{target.xmpp_domain}"
        answer = client.conference_request(room, focus)
        for pause in _BACKOFF:
            if answer.ready or deadline.remaining() <= pause:
                break
            time.sleep(pause)
            answer = client.conference_request(room, focus)
        if not answer.ready:
            return _Outcome(
                "fail",
                f"{' → '.join(done)} ok; jicofo answered ready=false for the probe room",
                "jicofo cannot host the room yet: no bridge (jvb down or not logged in) or it "
                "is still starting",
                "`inv logs jitsi-jicofo jitsi-jvb`; see the focus and jvb-health checks",
            )
        done.append("conference request")
        # lib-jitsi-meet's nick: the first 8 characters of the server-assigned JID node
        # (upstream's muc_resource_validate enforces this for anonymous users)
        nick = (client.jid or "").split("@", 1)[0][:8] or PROBE_NICK
        statuses = client.join_room(room, nick)
        done.append("join")
        client.leave_room(room, nick)
        done.append("leave")
        created = " (room created)" if "201" in statuses else ""
        return _Outcome(
            "pass",
            f"{' → '.join(done)} via {_display(url)} as guest on {domain}; probe room "
            f"{room.split('@', 1)[0]}{created} left",
        )
    except ProbeError as exc:
        raise _Fail(_bosh_failure(exc, done, target, url, domain)) from exc
    finally:
        # terminating the session also takes the probe out of any room it is still in
        client.terminate()


def _bosh_failure(
    exc: ProbeError, done: list[str], target: SmokeTarget, url: str, domain: str
) -> _Outcome:
    ok = f"{' → '.join(done)} ok; " if done else ""
    message = str(exc).removeprefix(f"{exc.stage}: ")
    detail = f"{ok}failed at {exc.stage or 'BOSH'}: {message}"
    logs = "`inv logs jitsi-prosody`"
    if isinstance(exc, ProbeTimeout):
        if exc.stage.startswith("waiting for the MUC"):
            return _Outcome(
                "fail",
                detail,
                f"timed out after {target.timeout:g}s: prosody held the join (it waits until "
                "jicofo is in the room) or the MUC is not answering",
                "`inv logs jitsi-jicofo jitsi-prosody`",
            )
        return _Outcome("fail", detail, f"timed out after {target.timeout:g}s", logs)
    if isinstance(exc, HttpStatusError):
        if exc.status in (404, 405):
            cause = (
                f"{_display(url)} answers {exc.status}: the web container does not proxy "
                "/http-bind, or prosody's bosh module is off"
            )
            fix = "check XMPP_BOSH_URL_BASE and `inv logs jitsi-web`"
        elif exc.status in (502, 503, 504):
            cause = (
                f"the web container answers {exc.status} on /http-bind: it cannot reach "
                "prosody (prosody down, or XMPP_BOSH_URL_BASE wrong)"
            )
            fix = f"`inv status`; {logs}"
        else:
            cause = f"/http-bind answers HTTP {exc.status}"
            fix = f"`inv logs jitsi-web`; {logs}"
        return _Outcome("fail", detail, cause, fix)
    if isinstance(exc, NotXmppError):
        return _Outcome(
            "fail",
            detail,
            f"{_display(url)} does not speak BOSH: /http-bind is not proxied to prosody",
            "check the web container's /http-bind route (XMPP_BOSH_URL_BASE) and any proxy",
        )
    if isinstance(exc, StreamError):
        # prosody answers a session request for a domain it does not serve with
        # improper-addressing (XEP-0124 names host-unknown for the same case)
        unknown_host = exc.condition == "host-unknown" or (
            exc.condition == "improper-addressing" and not done
        )
        if unknown_host:
            return _Outcome(
                "fail",
                detail,
                f"prosody does not serve the XMPP domain {domain!r}",
                "set xmpp_domain / anonymous_domain to the deployment's XMPP_DOMAIN / guest domain",
            )
        return _Outcome("fail", detail, f"prosody ended the session: {exc.condition}", logs)
    if isinstance(exc, SaslError):
        if exc.condition == "mechanism-not-offered":
            return _Outcome(
                "fail",
                detail,
                f"anonymous (guest) login is not offered on {domain}",
                "set anonymous_domain to the guest domain (auth with guests enabled uses the "
                "guest domain), or None when guests are not allowed",
            )
        return _Outcome("fail", detail, f"SASL ANONYMOUS refused: {exc.condition}", logs)
    if isinstance(exc, StanzaError):
        if exc.stage == "conference request":
            if exc.condition == "not-authorized":
                return _Outcome(
                    "warn",
                    detail,
                    "guests may not start a meeting (authentication is enabled): the room "
                    "join was not tested",
                    "expected with auth; test with a moderator account in a browser",
                )
            focus = f"focus.{target.xmpp_domain}"
            if exc.condition in ("service-unavailable", "remote-server-timeout"):
                # upstream's client_proxy component answers service-unavailable when no jicofo
                # is connected; an external component that is not connected (jicofo before
                # 2021) gives remote-server-timeout
                return _Outcome(
                    "fail",
                    detail,
                    f"{focus} did not answer the conference request ({exc.condition}): "
                    "jicofo is not connected to prosody",
                    "`inv logs jitsi-jicofo`; a jicofo password rotated after the first start "
                    "needs the prosody account updated",
                )
            return _Outcome(
                "fail",
                detail,
                f"prosody has no {focus} component to route the conference request "
                f"({exc.condition}); upstream's prosody proxies it to jicofo (client_proxy)",
                "check that xmpp_domain matches XMPP_DOMAIN and that prosody runs the upstream "
                "configuration (`inv logs jitsi-prosody`)",
            )
        if exc.stage.startswith("waiting for the MUC"):
            return _Outcome(
                "fail",
                detail,
                f"the MUC {target.muc_domain} refused the probe: {exc.condition}",
                "check muc_domain (XMPP_MUC_DOMAIN), lobby/password settings and "
                "`inv logs jitsi-prosody`",
            )
        return _Outcome("fail", detail, f"prosody answered {exc.condition}", logs)
    return _Outcome("fail", detail, str(exc), logs)


def _check_websocket(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    if not target.websocket_enabled:
        return _Outcome("skip", "websocket disabled in the settings")
    import websocket  # websocket-client

    url = _ws_base(target) + "/xmpp-websocket"
    try:
        answer = websocket_probe(url, target.xmpp_domain, deadline, verify=target.verify_tls)
    except websocket.WebSocketBadStatusException as exc:
        status = getattr(exc, "status_code", 0)
        detail = f"upgrade of {_display(url)} refused with HTTP {status}"
        if status == 404:
            cause = (
                "the web container does not proxy /xmpp-websocket (ENABLE_XMPP_WEBSOCKET=0?) "
                "or prosody's websocket module is off"
            )
            fix = (
                "enable websocket in the settings and recreate web; behind a reverse proxy "
                "forward /xmpp-websocket with the Upgrade and Connection headers"
            )
        elif status in (502, 503, 504):
            cause = "the web container cannot reach prosody on /xmpp-websocket (prosody down?)"
            fix = "`inv status`; `inv logs jitsi-prosody`"
        elif status == 501:
            cause = "prosody did not get the xmpp subprotocol (a proxy strips Sec-WebSocket-*)"
            fix = "forward the Sec-WebSocket-Protocol header in the proxy"
        elif status == 200:
            cause = (
                "the server answered 200 instead of switching protocols: /xmpp-websocket is "
                "not proxied to prosody (ENABLE_XMPP_WEBSOCKET=0 on the web container) or a "
                "proxy drops the Upgrade/Connection headers"
            )
            fix = "enable websocket and recreate web; forward Upgrade and Connection in proxies"
        else:
            cause = f"the websocket upgrade was refused with HTTP {status}"
            fix = "`inv logs jitsi-web`; `inv logs jitsi-prosody`"
        raise _Fail(_Outcome("fail", detail, cause, fix)) from exc
    except websocket.WebSocketException as exc:
        if "subprotocol" in str(exc).lower() or "Invalid WebSocket Header" in str(exc):
            raise _Fail(
                _Outcome(
                    "fail",
                    f"{_display(url)}: {exc}",
                    "the server upgraded without the xmpp subprotocol (RFC 7395): not prosody",
                    "route /xmpp-websocket to prosody",
                )
            ) from exc
        raise
    except ProbeTimeout:
        raise
    except StreamError as exc:
        cause = (
            f"prosody does not serve the XMPP domain {target.xmpp_domain!r}"
            if exc.condition == "host-unknown"
            else f"prosody closed the stream: {exc.condition or exc}"
        )
        raise _Fail(
            _Outcome(
                "fail",
                f"{_display(url)}: {exc}",
                cause,
                "check xmpp_domain and `inv logs jitsi-prosody`",
            )
        ) from exc
    except ProbeError as exc:
        raise _Fail(
            _Outcome(
                "fail",
                f"{_display(url)}: {exc}",
                "the websocket endpoint does not speak XMPP (RFC 7395)",
                "route /xmpp-websocket to prosody",
            )
        ) from exc
    mechs = ", ".join(answer.mechanisms) or "none"
    closed = "closed cleanly" if answer.closed_by_server else "closed"
    return _Outcome(
        "pass",
        f"{_display(url)} subprotocol={answer.subprotocol} stream from "
        f"{answer.stream_from or '?'}; SASL: {mechs}; {closed}",
    )


def _check_focus(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    if target.jicofo_url is None:
        return _Outcome("skip", "jicofo_url not set (remote deployment)")
    url = target.jicofo_url.rstrip("/") + "/conference-request/v1"
    room = _probe_room(target)
    body = {  # the shape lib-jitsi-meet posts when conferenceRequestUrl is set
        "machineUid": secrets.token_hex(16),
        "properties": {"rtcstatsEnabled": False, "visitors-version": 1},
        "room": room,
    }
    resp = _http_session(url).post(
        url,
        json=body,
        timeout=deadline.left("POST /conference-request/v1"),
        verify=target.verify_tls,
        allow_redirects=False,
    )
    if resp.status_code == 403:
        return _Outcome(
            "warn",
            "HTTP 403: jicofo requires authentication to create rooms",
            "authentication is enabled, so an anonymous conference request is refused",
            "expected with auth; the guest path is covered by the bosh check",
        )
    if resp.status_code == 404:
        return _Outcome(
            "fail",
            f"HTTP 404 for {_display(url)}",
            "jicofo's REST API has no conference-request endpoint (REST disabled or an old jicofo)",
            "enable jicofo REST (JICOFO_ENABLE_REST=1) and recreate jicofo",
        )
    if resp.status_code != 200:
        return _Outcome(
            "fail",
            f"HTTP {resp.status_code}: {_one_line(resp.text, 100)}",
            "jicofo rejected the conference request",
            "`inv logs jitsi-jicofo`",
        )
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _Outcome(
            "fail",
            "answer is not a JSON object",
            f"something other than jicofo answers on {_hostport(url)}",
            "check the jicofo port mapping",
        )
    ready = data.get("ready") in (True, "true")
    focus_jid = str(data.get("focusJid") or "?")
    if not ready:
        return _Outcome(
            "fail",
            f"ready={data.get('ready')!r} for the probe room (focusJid {focus_jid})",
            "jicofo has no bridge (jvb down or not logged in) or is not connected to prosody",
            "`inv logs jitsi-jvb jitsi-jicofo`; check the jvb-health check and the JVB password",
        )
    vnode = f", vnode {data['vnode']}" if data.get("vnode") else ""
    # ready=true only says focus joined the room; media needs a bridge. jicofo's /stats
    # (always routed) counts the operational bridges of its bridge selector.
    bridges = _operational_bridges(target, deadline)
    if bridges == 0:
        return _Outcome(
            "fail",
            "ready=true for the probe room, but jicofo has 0 operational bridges",
            "no bridge is logged in to prosody (jvb down, unhealthy or wrong JVB password): "
            "a conference would start without media",
            "`inv logs jvb`; `inv status`; check the jvb-health check",
        )
    counted = "" if bridges is None else f", {bridges} operational bridge(s)"
    return _Outcome(
        "pass",
        f"ready=true for {room.split('@', 1)[0]} (focusJid {focus_jid}{vnode}{counted}); "
        "jicofo ends the empty conference by itself",
    )


def _operational_bridges(target: SmokeTarget, deadline: Deadline) -> int | None:
    """bridge_selector.operational_bridge_count from jicofo's /stats; None when unknown."""
    url = (target.jicofo_url or "").rstrip("/") + "/stats"
    try:
        resp = _get(url, target, deadline, "GET /stats")
        count = resp.json().get("bridge_selector", {}).get("operational_bridge_count")
    except (requests.RequestException, ValueError, AttributeError):
        return None
    return count if isinstance(count, int) else None


def _health(target: SmokeTarget, deadline: Deadline, url: str | None, service: str) -> _Outcome:
    if url is None:
        return _Outcome("skip", f"{service} URL not set (remote deployment)")
    full = url.rstrip("/") + "/about/health"
    resp = _get(full, target, deadline, "GET /about/health")
    if 200 <= resp.status_code < 300:
        return _Outcome("pass", f"HTTP {resp.status_code} from {_display(full)}")
    body = _one_line(resp.text, 100)
    detail = f"HTTP {resp.status_code} from {_display(full)}" + (f": {body}" if body else "")
    if service == "jicofo" and resp.status_code == 404:
        return _Outcome(
            "warn",
            detail,
            "jicofo health checks are disabled, so /about/health does not exist",
            "set JICOFO_ENABLE_HEALTH_CHECKS=1 and recreate jicofo",
        )
    if service == "jicofo":
        cause = "jicofo reports unhealthy: no operational bridge or no XMPP connection"
        fix = "`inv logs jitsi-jicofo jitsi-jvb`"
    else:
        cause = "jvb reports unhealthy: not connected to prosody or its health test failed"
        fix = "`inv logs jitsi-jvb`; check the JVB password and prosody"
    return _Outcome("fail", detail, cause, fix)


def _check_jvb_health(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    return _health(target, deadline, target.jvb_url, "jvb")


def _check_jicofo_health(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    return _health(target, deadline, target.jicofo_url, "jicofo")


def _compose(target: SmokeTarget, deadline: Deadline, *args: str) -> subprocess.CompletedProcess:
    argv = target.compose_argv or ()
    try:
        return subprocess.run(
            [*argv, *args],
            capture_output=True,
            text=True,
            timeout=deadline.left(f"running docker compose {args[0]}"),
            check=False,
        )
    except FileNotFoundError as exc:
        raise _Fail(
            _Outcome(
                "fail",
                f"{argv[0] if argv else 'docker'} not found on PATH",
                "Docker (Compose v2) is not installed here",
                "install Docker, or pass compose_argv=None for a remote deployment",
            )
        ) from exc


def _compose_missing(text: str, service: str) -> _Outcome | None:
    low = text.lower()
    if "not running" in low or "no container" in low or "no such service" in low:
        return _Outcome(
            "fail",
            _one_line(text, 120),
            f"the {service} container is not running",
            f"`inv start`; `inv logs {service}`",
        )
    return None


def _check_prosody_health(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    if target.compose_argv is None:
        return _Outcome("skip", "no compose project (remote deployment)")
    svc = target.prosody_service
    proc = _compose(target, deadline, "exec", "-T", svc, "/usr/local/bin/healthcheck.sh")
    out = _one_line((proc.stdout or "") + " " + (proc.stderr or ""), 120)
    if proc.returncode == 0:
        return _Outcome("pass", f"healthcheck.sh in {svc}: {_one_line(proc.stdout, 80) or 'ok'}")
    missing = _compose_missing(out, svc)
    if missing:
        return missing
    if proc.returncode in (126, 127) or "no such file" in out.lower():
        return _Outcome(
            "fail",
            f"exit {proc.returncode}: {out}",
            "the prosody image has no /usr/local/bin/healthcheck.sh (not an upstream image?)",
            "use the upstream prosody image (ghcr.io/jitsi/prosody)",
        )
    if "HAS ERRORS" in out:
        cause = "prosody reports a module in an error state"
    else:
        cause = "prosody's /health does not answer OK"
    return _Outcome("fail", f"exit {proc.returncode}: {out}", cause, f"`inv logs {svc}`")


def _check_jvb_udp(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    port = target.jvb_udp_port
    fix = f"publish {port}/udp (ports.jvb_media) and open it in the firewall"
    if target.compose_argv is None:
        return _Outcome(
            "skip",
            f"remote deployment: UDP {port} reachability must be tested from outside "
            "(e.g. a browser call with 3 participants)",
        )
    svc = target.jvb_service
    proc = _compose(target, deadline, "port", "--protocol", "udp", svc, str(port))
    out = (proc.stdout or "").strip()
    mappings = [m for m in out.split() if re.fullmatch(r"\S*:[1-9]\d*", m)]
    if proc.returncode == 0 and mappings:
        return _Outcome(
            "pass",
            f"{svc} {port}/udp published on {', '.join(mappings)} (firewall not checked)",
        )
    text = _one_line(f"{out} {proc.stderr or ''}", 120)
    missing = _compose_missing(text, svc)
    if missing:
        return missing
    return _Outcome(
        "fail",
        f"{port}/udp of {svc} is not published ({text or 'no mapping'})",
        "media cannot reach the bridge: calls with 3+ participants lose audio/video",
        fix,
    )


_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_advertise(entries: Iterable[str]) -> tuple[list[_IP], list[str]]:
    ips: list[_IP] = []
    bad: list[str] = []
    for raw in entries:
        entry = raw.strip()
        addr, sep, port = entry.rpartition("#") if "#" in entry else (entry, "", "")
        try:
            ip = ipaddress.ip_address(addr.strip("[]"))
            if sep and not (port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(port)
        except ValueError:
            bad.append(entry)
            continue
        ips.append(ip)
    return ips, bad


def _check_advertise_ips(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    ips, bad = _parse_advertise(target.advertise_ips)
    if bad:
        return _Outcome(
            "fail",
            f"not an IP or IP#PORT: {', '.join(repr(b) for b in bad)}",
            "jvb.advertise_ips has malformed entries; jvb would advertise nothing useful",
            "write each entry as IP or IP#PORT (JVB_ADVERTISE_IPS)",
        )
    host = _origin(target.public_url)[1]
    local = _is_loopback_host(host)
    shown = ", ".join(target.advertise_ips) or "none"
    if not ips:
        if local:
            return _Outcome("pass", f"none set; fine for {host} (media stays on this machine)")
        return _Outcome(
            "warn",
            f"no advertised addresses; public host {host}",
            "media will fail when a third participant joins",
            "set jvb.advertise_ips to the host's public address",
        )
    try:
        public = [ipaddress.ip_address(host)]
    except ValueError:
        if local:
            public = []
        else:
            deadline.left(f"resolving {host}")
            try:
                infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                public = sorted({ipaddress.ip_address(i[4][0]) for i in infos}, key=str)
            except OSError:
                public = []
    if not any(ip.is_global for ip in ips) and any(ip.is_global for ip in public):
        return _Outcome(
            "warn",
            f"advertised {shown}; {host} is {', '.join(map(str, public))}",
            "only private/loopback addresses are advertised while the public host is public: "
            "remote participants get no reachable media address",
            "add the host's public address to jvb.advertise_ips (JVB_ADVERTISE_IPS)",
        )
    seen = f"; {host} is {', '.join(map(str, public))}" if public and not local else ""
    return _Outcome("pass", f"advertised {shown}{seen}")


def _check_tls_cert(target: SmokeTarget, deadline: Deadline) -> _Outcome:
    scheme, host, port = _origin(target.public_url)
    if scheme != "https":
        return _Outcome("skip", "public_url is plain http: no certificate to check")
    context = ssl.create_default_context()
    with socket.create_connection((host, port), timeout=deadline.left("TCP connect")) as sock:
        sock.settimeout(deadline.left("TLS handshake"))
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                cert = tls.getpeercert() or {}
                version = tls.version() or "TLS"
        except ssl.SSLCertVerificationError as exc:
            raise _Fail(_tls_outcome(exc, host, target.verify_tls)) from exc
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        return _Outcome("warn", "certificate has no expiry date", "unusual certificate", "")
    days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
    issuer = dict(x[0] for x in cert.get("issuer", ()) if x)
    by = issuer.get("organizationName") or issuer.get("commonName") or "?"
    detail = f"{version}, valid for {host}, issued by {by}, expires in {days:.0f} days"
    if days < TLS_WARN_DAYS:
        return _Outcome(
            "warn",
            detail,
            f"the certificate expires in under {TLS_WARN_DAYS} days and has not been renewed",
            "check the renewal (`inv logs jitsi-web`, acme-renewal) or install a new certificate",
        )
    return _Outcome("pass", detail)


_CHECKS: dict[str, Callable[[SmokeTarget, Deadline], _Outcome]] = {
    "web": _check_web,
    "config-js": _check_config_js,
    "bosh": _check_bosh,
    "websocket": _check_websocket,
    "focus": _check_focus,
    "jvb-health": _check_jvb_health,
    "jicofo-health": _check_jicofo_health,
    "prosody-health": _check_prosody_health,
    "jvb-udp": _check_jvb_udp,
    "advertise-ips": _check_advertise_ips,
    "tls-cert": _check_tls_cert,
}
if tuple(_CHECKS) != CHECK_NAMES:  # pragma: no cover - import-time consistency guard
    raise RuntimeError("_CHECKS and CHECK_NAMES disagree")


# --------------------------------------------------------------------------------------------
# running


def _run_one(name: str, target: SmokeTarget) -> CheckResult:
    started = time.perf_counter()
    deadline = Deadline(target.timeout)
    try:
        outcome = _CHECKS[name](target, deadline)
    except Exception as exc:  # every failure becomes a result, never an exception
        outcome = _from_exception(name, exc, target)
    latency = (time.perf_counter() - started) * 1000
    if outcome.status not in ("warn", "fail"):
        outcome.cause = outcome.fix = ""
    return CheckResult(
        name=name,
        status=outcome.status,
        latency_ms=round(latency, 1),
        detail=_one_line(outcome.detail, 300),
        cause=outcome.cause,
        fix=outcome.fix,
    )


def _collect(name: str, future: Future, started: float, target: SmokeTarget) -> CheckResult:
    budget = started + target.timeout + TIMEOUT_GRACE - time.perf_counter()
    try:
        return future.result(timeout=max(0.0, budget))
    except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError since 3.11
        future.cancel()
        return CheckResult(
            name=name,
            status="fail",
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            detail=f"no result within {target.timeout:g}s",
            cause=f"timed out after {target.timeout:g}s",
            fix=_TIMEOUT_FIX.get(name, ""),
        )


def _select(only: list[str] | None) -> list[str]:
    if not only:
        return list(CHECK_NAMES)
    unknown = [n for n in only if n not in _CHECKS]
    if unknown:
        raise ValueError(
            f"unknown check(s) {', '.join(unknown)}; choose from {', '.join(CHECK_NAMES)}"
        )
    wanted = set(only)
    return [n for n in CHECK_NAMES if n in wanted]


def run_checks(
    target: SmokeTarget, *, only: list[str] | None = None, concurrent: bool = True
) -> list[CheckResult]:
    """Run the selected checks (all by default) and return results in CHECK_NAMES order.

    Every check gets ``target.timeout`` seconds; one that overruns is reported as failed
    ("timed out after Ns") while its thread finishes in the background.
    """
    scheme, host, port = _origin(target.public_url)
    if scheme not in ("http", "https") or not host or port < 1:
        raise ValueError(f"public_url must be an http(s) URL, got {_display(target.public_url)}")
    names = _select(only)
    if not target.verify_tls:
        # the caller opted out of verification (tls-cert still reports it): no per-request noise
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    results: dict[str, CheckResult] = {}
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="smoke")
    try:
        if concurrent:
            started = {}
            for n in names:
                started[n] = (time.perf_counter(), pool.submit(_run_one, n, target))
            for n, (t0, fut) in started.items():
                results[n] = _collect(n, fut, t0, target)
        else:
            for n in names:
                t0 = time.perf_counter()
                results[n] = _collect(n, pool.submit(_run_one, n, target), t0, target)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [results[n] for n in names]


# --------------------------------------------------------------------------------------------
# reporting


_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def verdict(results: list[CheckResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    word = "FAIL" if counts["fail"] else ("PASS with warnings" if counts["warn"] else "PASS")
    parts = [f"{counts['fail']} failed", f"{counts['warn']} warned", f"{counts['pass']} passed"]
    if counts["skip"]:
        parts.append(f"{counts['skip']} skipped")
    return f"smoke: {word} — {', '.join(parts)}"


def render_table(results: list[CheckResult], console: Any = None) -> None:
    """Print a rich table (check, result, latency, detail / cause + fix) and a verdict line."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    table = Table(title="jitsi-stack smoke checks", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("detail / cause + fix", overflow="fold")
    for r in results:
        info = Text(r.detail)
        if r.status in ("warn", "fail"):
            if r.cause:
                info.append("\ncause: ", style="bold").append(r.cause)
            if r.fix:
                info.append("\nfix: ", style="bold").append(r.fix)
        table.add_row(
            r.name,
            Text(r.status.upper(), style=_STYLE.get(r.status, "")),
            f"{r.latency_ms:.0f} ms",
            info,
        )
    console.print(table)
    failed = any(r.status == "fail" for r in results)
    warned = any(r.status == "warn" for r in results)
    style = "bold red" if failed else ("yellow" if warned else "bold green")
    console.print(Text(verdict(results), style=style))


def to_json(results: list[CheckResult]) -> str:
    """A JSON list of result objects; ``CheckResult(**item)`` rebuilds each one."""
    return json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False)


def write_junit(results: list[CheckResult], path: str | Path) -> None:
    """JUnit XML: one <testcase> per check; fail -> <failure>, skip -> <skipped>.

    A warning counts as passed and carries its cause and fix in <system-out>.
    """
    suite = ET.Element(
        "testsuite",
        {
            "name": "jitsi-stack smoke",
            "tests": str(len(results)),
            "failures": str(sum(r.status == "fail" for r in results)),
            "errors": "0",
            "skipped": str(sum(r.status == "skip" for r in results)),
            "time": f"{sum(r.latency_ms for r in results) / 1000:.3f}",
        },
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": "jitsi_stack.smoke",
                "name": r.name,
                "time": f"{r.latency_ms / 1000:.3f}",
            },
        )
        if r.status == "fail":
            failure = ET.SubElement(
                case, "failure", {"message": r.cause or r.detail, "type": "fail"}
            )
            failure.text = f"{r.detail}\ncause: {r.cause}\nfix: {r.fix}"
        elif r.status == "skip":
            ET.SubElement(case, "skipped", {"message": r.detail})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (
                f"WARN: {r.detail}\ncause: {r.cause}\nfix: {r.fix}"
                if r.status == "warn"
                else r.detail
            )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def exit_code(results: list[CheckResult]) -> int:
    """1 if any check failed, else 0 (warnings and skips do not fail the run)."""
    return 1 if any(r.status == "fail" for r in results) else 0


# --------------------------------------------------------------------------------------------
# a small CLI for manual runs: python -m jitsi_stack.smoke --url http://localhost:8443


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m jitsi_stack.smoke", description=__doc__.split("\n")[0]
    )
    p.add_argument("--url", default="http://localhost:8443", help="public URL of the site")
    p.add_argument("--xmpp-domain", default="meet.jitsi")
    p.add_argument("--muc-domain", default="muc.meet.jitsi")
    p.add_argument("--anonymous-domain", default="meet.jitsi", help="'' when guests are off")
    p.add_argument("--no-websocket", action="store_true")
    p.add_argument("--remote", action="store_true", help="skip the jicofo/jvb loopback checks")
    p.add_argument("--compose", default="", help="docker compose argv prefix, shell-quoted")
    p.add_argument("--advertise-ip", action="append", default=[], metavar="IP[#PORT]")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--only", action="append", choices=CHECK_NAMES)
    p.add_argument("--sequential", action="store_true")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--junit", metavar="PATH", help="also write a JUnit XML report")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    target = SmokeTarget(
        public_url=args.url,
        xmpp_domain=args.xmpp_domain,
        muc_domain=args.muc_domain,
        anonymous_domain=args.anonymous_domain or None,
        websocket_enabled=not args.no_websocket,
        jicofo_url=None if args.remote else "http://127.0.0.1:8888",
        jvb_url=None if args.remote else "http://127.0.0.1:8080",
        advertise_ips=tuple(args.advertise_ip),
        compose_argv=tuple(shlex.split(args.compose)) if args.compose else None,
        timeout=args.timeout,
        verify_tls=not args.insecure,
    )
    results = run_checks(target, only=args.only, concurrent=not args.sequential)
    if args.json:
        sys.stdout.write(to_json(results) + "\n")
    else:
        render_table(results)
    if args.junit:
        write_junit(results, args.junit)
    return exit_code(results)


if __name__ == "__main__":
    raise SystemExit(main())
