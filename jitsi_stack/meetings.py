"""The supervisor's view in `inv status`: conferences and participants (jicofo's /stats),
and per bridge its version, stress, conferences and endpoints (jvb's /about/version and
Prometheus /metrics: the jitsi_jvb_stress, jitsi_jvb_conferences and
jitsi_jvb_local_endpoints gauges of VideobridgeMetrics.kt).

Read over the loopback ports the Deployment publishes (jicofo's REST, each bridge's
colibri port), all at once, each bounded by a short timeout; a service that does not
answer shows "-" and says why, and never fails `inv status` by itself.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import requests

TIMEOUT = 2.0
GAUGE = re.compile(r"^(jitsi_jvb_(?:stress|conferences|local_endpoints))(?:\{[^}]*\})?\s+(\S+)")


@dataclass
class Bridge:
    service: str
    version: str = "-"
    stress: float | None = None
    conferences: int | None = None
    endpoints: int | None = None
    problem: str = ""


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


def _get(url: str, accept: str = "application/json") -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy from the environment
    return session.get(url, timeout=TIMEOUT, headers={"Accept": accept})


def _jicofo(url: str, view: Meetings) -> None:
    try:
        data = _get(f"{url}/stats").json()
        view.conferences = int(data.get("conferences", 0))
        view.participants = int(data.get("participants", 0))
        selector = data.get("bridge_selector") or {}
        view.bridges_operational = selector.get("operational_bridge_count")
        view.bridges_total = selector.get("bridge_count")
    except (requests.RequestException, ValueError, TypeError, AttributeError) as err:
        view.problem = f"jicofo stats: {err.__class__.__name__}"


def _bridge(service: str, url: str) -> Bridge:
    bridge = Bridge(service)
    try:
        bridge.version = str(_get(f"{url}/about/version").json().get("version", "-"))
        text = _get(f"{url}/metrics", "text/plain; version=0.0.4").text
    except (requests.RequestException, ValueError, AttributeError) as err:
        bridge.problem = err.__class__.__name__
        return bridge
    for line in text.splitlines():
        match = GAUGE.match(line)
        if not match:
            continue
        name, value = match.group(1), float(match.group(2))
        if name.endswith("stress"):
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
        asked = pool.submit(_jicofo, f"http://127.0.0.1:{d.port('ports.jicofo_rest').host}", view)
        found = [pool.submit(_bridge, b.name, f"http://127.0.0.1:{_colibri(b)}") for b in bridges]
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
        + ([f"no answer ({b.problem})"] if b.problem else [""])
        for b in view.bridges
    ]
    return summary, rows
