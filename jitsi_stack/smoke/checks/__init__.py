"""The checks, one function per name in CHECK_NAMES, and the HTTP helpers they share.

A check is ``check(target, deadline) -> Outcome``; it may raise, and the runner turns the
exception into an outcome (explain.py). web.py holds the browser's page checks, xmpp.py the
signalling path, host.py what only the machine running the stack can see.
"""

from __future__ import annotations

import secrets

import requests

from jitsi_stack.validators import is_loopback_host

from ..target import SmokeTarget, origin, tls_verify
from ..xmpp import Deadline

USER_AGENT = "jitsi-stack-smoke"


def http_session(url: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # proxies from the environment must not capture loopback traffic
    session.trust_env = not is_loopback_host(origin(url)[1])
    return session


def http_get(url: str, target: SmokeTarget, deadline: Deadline, what: str) -> requests.Response:
    return http_session(url).get(
        url, timeout=deadline.left(what), verify=tls_verify(target), allow_redirects=False
    )


def probe_room(target: SmokeTarget) -> str:
    """A fresh room JID nobody else uses; it disappears with its last occupant."""
    return f"jitsi-stack-probe-{secrets.token_hex(6)}@{target.muc_domain}"


def operational_bridges(target: SmokeTarget, deadline: Deadline) -> int | None:
    """bridge_selector.operational_bridge_count from jicofo's /stats; None when unknown."""
    url = (target.jicofo_url or "").rstrip("/") + "/stats"
    try:
        resp = http_get(url, target, deadline, "GET /stats")
        count = resp.json().get("bridge_selector", {}).get("operational_bridge_count")
    except (requests.RequestException, ValueError, AttributeError):
        return None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def bridges_text(count: int, target: SmokeTarget) -> str:
    """'1 of 2 bridges operational' (the expected count from the target)."""
    noun = "bridge" if target.expected_bridges == 1 else "bridges"
    return f"{count} of {target.expected_bridges} {noun} operational"
