"""What a browser loads first: the page (web), its config.js (config-js), the certificate."""

from __future__ import annotations

import socket
import ssl
import time
from urllib.parse import urljoin

from ..configjs import (
    JS_TIME_LIMIT,
    ConfigJsError,
    error_outcome,
    evaluate_config_js,
    judge_config_js,
)
from ..explain import CheckFailed, Outcome, tls_outcome
from ..target import SmokeTarget, base, display, origin
from ..xmpp import Deadline
from . import http_get

TLS_WARN_DAYS = 14
MAX_REDIRECTS = 5


def check_web(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """GET / like a browser, following same-host redirects; the page must be Jitsi Meet."""
    url = base(target) + "/"
    start_host = origin(url)[1]
    hops: list[str] = []
    for _ in range(MAX_REDIRECTS + 1):
        resp = http_get(url, target, deadline, "GET /")
        location = resp.headers.get("Location")
        if not (resp.is_redirect and location):
            break
        nxt = urljoin(url, location)
        if origin(nxt)[1] != start_host:
            return Outcome(
                "fail",
                f"{resp.status_code} redirect from {display(url)} to {display(nxt)}",
                "the web server sends browsers to another host (a proxy or PUBLIC_URL "
                "pointing elsewhere)",
                "set public_url to the address the site really answers on",
            )
        hops.append(f"{resp.status_code}→{display(nxt)}")
        url = nxt
    else:
        return Outcome(
            "fail",
            f"more than {MAX_REDIRECTS} redirects",
            "redirect loop",
            "check ENABLE_HTTP_REDIRECT / proxy",
        )
    via = f" after {', '.join(hops)}" if hops else ""
    if resp.status_code != 200:
        cause = {
            404: "the web container serves no page at / (wrong port, or another service)",
            502: "a proxy in front cannot reach the web container",
            503: "the web container or a proxy is overloaded or starting",
        }.get(resp.status_code, f"the web server answers {resp.status_code}")
        return Outcome(
            "fail", f"HTTP {resp.status_code}{via}", cause, "`inv logs jitsi-web`; `inv status`"
        )
    detail = f"HTTP 200{via}, {len(resp.content)} bytes"
    if "config.js" not in resp.text and "jitsi" not in resp.text.lower():
        return Outcome(
            "warn",
            detail,
            "the page does not look like Jitsi Meet: another service may hold this port",
            "check which process publishes the port (`docker ps`, `ss -ltnp`)",
        )
    if hops and origin(url) != origin(target.public_url):
        return Outcome(
            "warn",
            detail,
            f"public_url is {base(target)} but the site redirects to {display(url)}",
            "set public_url (PUBLIC_URL) to the final URL so config.js and the checks agree",
        )
    return Outcome("pass", detail)


def check_config_js(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """GET /config.js, run it as the page would (QuickJS) and judge what it sets."""
    url = base(target) + "/config.js"
    resp = http_get(url, target, deadline, "GET /config.js")
    if resp.status_code != 200:
        return Outcome(
            "fail",
            f"HTTP {resp.status_code} for {display(url)}",
            "the web container does not serve config.js (it is rendered at container start)",
            "`inv logs jitsi-web`; recreate it with `inv start`",
        )
    limit = min(JS_TIME_LIMIT, max(0.05, deadline.remaining()))
    try:
        cfg = evaluate_config_js(resp.text, base(target) + "/", time_limit=limit)
    except ConfigJsError as exc:
        return error_outcome(exc, target)
    return judge_config_js(cfg, target)


def check_tls_cert(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """The certificate browsers get: trusted, valid for the host, not about to expire."""
    scheme, host, port = origin(target.public_url)
    if scheme != "https":
        return Outcome("skip", "public_url is plain http: no certificate to check")
    context = ssl.create_default_context(cafile=target.cafile or None)
    with socket.create_connection((host, port), timeout=deadline.left("TCP connect")) as sock:
        sock.settimeout(deadline.left("TLS handshake"))
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                cert: dict = tls.getpeercert() or {}  # nested tuples of (name, value)
                version = tls.version() or "TLS"
        except ssl.SSLCertVerificationError as exc:
            raise CheckFailed(tls_outcome(exc, host, target.verify_tls)) from exc
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        return Outcome("warn", "certificate has no expiry date", "unusual certificate", "")
    days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
    issuer = dict(x[0] for x in cert.get("issuer", ()) if x)
    subject = dict(x[0] for x in cert.get("subject", ()) if x)
    by = issuer.get("organizationName") or issuer.get("commonName") or "?"
    name = subject.get("commonName") or host
    expiry = time.strftime("%Y-%m-%d", time.gmtime(ssl.cert_time_to_seconds(not_after)))
    detail = (
        f"{version}, subject {name}, valid for {host}, issued by {by}, expires {expiry} "
        f"(in {days:.0f} days)"
    )
    if days < TLS_WARN_DAYS:
        return Outcome(
            "warn",
            detail,
            f"the certificate expires in under {TLS_WARN_DAYS} days and has not been renewed",
            "check the renewal (`inv logs jitsi-web`, acme-renewal) or install a new certificate",
        )
    return Outcome("pass", detail)
