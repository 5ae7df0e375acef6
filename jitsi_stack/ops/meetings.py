"""The supervisor's view in `inv status`: conferences and participants (jicofo's /stats),
and per bridge its version, stress, conferences and endpoints (jvb's /about/version and
Prometheus /metrics: the jitsi_jvb_stress, jitsi_jvb_conferences and
jitsi_jvb_local_endpoints gauges of VideobridgeMetrics.kt, and drain_mode, 1 while the
bridge is in drain: ops/drain.py).

Read over the loopback ports the Deployment publishes (jicofo's REST, each bridge's
colibri port), all at once, each bounded by a short timeout; a service that does not
answer shows "-" and says why, and never fails `inv status` by itself.
"""

from __future__ import annotations

import http.client
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

TIMEOUT = 2.0
GAUGE = re.compile(
    r"^(jitsi_jvb_(?:stress|conferences|local_endpoints|drain_mode))(?:\{[^}]*\})?\s+(\S+)"
)


@dataclass
class Bridge:
    service: str
    version: str = "-"
    stress: float | None = None
    conferences: int | None = None
    endpoints: int | None = None
    problem: str = ""
    draining: bool | None = None  # jitsi_jvb_drain_mode (VideobridgeMetrics.kt): jicofo avoids it


@dataclass
class Meetings:
    conferences: int | None = None
    participants: int | None = None
    bridges_operational: int | None = None
    bridges_total: int | None = None
    problem: str = ""  # jicofo's stats could not be read
    bridges: list[Bridge] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


class Unanswered(Exception):
    """A loopback API did not answer 200."""


def _get(port: int, path: str, accept: str = "application/json") -> str:
    """GET http://127.0.0.1:port/path (http.client: no proxy, and none of the 100 ms a
    requests import costs every `inv status`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        body = resp.read(1 << 20).decode("utf-8", "replace")
    finally:
        conn.close()
    if resp.status != 200:
        raise Unanswered(f"HTTP {resp.status}")
    return body


PROBLEMS = (OSError, http.client.HTTPException, Unanswered, ValueError, TypeError, AttributeError)


def _why(err: Exception) -> str:
    return str(err) if isinstance(err, Unanswered) else err.__class__.__name__


def _jicofo(port: int, view: Meetings) -> None:
    try:
        data = json.loads(_get(port, "/stats"))
        view.conferences = int(data.get("conferences", 0))
        view.participants = int(data.get("participants", 0))
        selector = data.get("bridge_selector") or {}
        view.bridges_operational = selector.get("operational_bridge_count")
        view.bridges_total = selector.get("bridge_count")
    except PROBLEMS as err:
        view.problem = f"jicofo stats: {_why(err)}"


def _bridge(service: str, port: int) -> Bridge:
    bridge = Bridge(service)
    try:
        bridge.version = str(json.loads(_get(port, "/about/version")).get("version", "-"))
        text = _get(port, "/metrics", "text/plain; version=0.0.4")
    except PROBLEMS as err:
        bridge.problem = _why(err)
        return bridge
    for line in text.splitlines():
        match = GAUGE.match(line)
        if not match:
            continue
        name = match.group(1)
        try:
            value = float(match.group(2))
            int(value)  # NaN and +Inf (legal Prometheus values) are no count
        except (ValueError, OverflowError):
            continue
        if name.endswith("drain_mode"):
            bridge.draining = value >= 1
        elif name.endswith("stress"):
            bridge.stress = round(value, 3)
        elif name.endswith("conferences"):
            bridge.conferences = int(value)
        else:
            bridge.endpoints = int(value)
    return bridge


def _colibri(bridge) -> int:
    return next(p.host for p in bridge.ports if p.setting == "ports.jvb_colibri")


def collect(d, running: set[str]) -> Meetings | None:
    """The view, or None when jicofo does not run (nothing to ask)."""
    jicofo = d.service("jicofo")
    if jicofo.name not in running:
        return None
    view = Meetings()
    bridges = [b for b in d.bridges if b.name in running]
    with ThreadPoolExecutor(max_workers=1 + len(bridges)) as pool:
        asked = pool.submit(_jicofo, d.port("ports.jicofo_rest").host, view)
        found = [pool.submit(_bridge, b.name, _colibri(b)) for b in bridges]
        asked.result()
        view.bridges = [f.result() for f in found]
    return view


def lines(view: Meetings) -> tuple[str, list[list[str]]]:
    """(the summary line, the bridge table's rows)."""
    if view.problem:
        summary = f"meetings: unknown ({view.problem})"
    else:
        summary = (
            f"meetings: {view.conferences} conference(s), {view.participants} participant(s); "
            f"{view.bridges_operational} of {view.bridges_total} bridge(s) operational"
        )

    def show(value) -> str:
        return "-" if value is None else str(value)

    rows = [
        [b.service, b.version, show(b.stress), show(b.conferences), show(b.endpoints)]
        + ([f"no answer ({b.problem})"] if b.problem else ["draining" if b.draining else ""])
        for b in view.bridges
    ]
    return summary, rows
