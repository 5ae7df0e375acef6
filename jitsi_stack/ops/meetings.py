"""The supervisor's view in `inv status`: conferences and participants (jicofo's /stats),
and per bridge its version, stress, conferences and endpoints (jvb's /about/version and
Prometheus /metrics: the jitsi_jvb_stress, jitsi_jvb_conferences and
jitsi_jvb_local_endpoints gauges of VideobridgeMetrics.kt, and drain_mode, 1 while the
bridge is in drain: ops/drain.py).

Read over the loopback ports the Deployment publishes (jicofo's REST, each bridge's
colibri port), all at once (a thread each), each bounded by a short timeout; a service
that does not answer shows "-" and says why, and never fails `inv status` by itself.

The requests are plain HTTP/1.0 on a socket (`request`, which ops/drain.py uses too):
http.client (with its email parser and ssl) and concurrent.futures (with logging) would
cost every `inv status` more to import than the answers take to come back.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
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
    """A loopback API did not answer 200 (status: the HTTP status it gave; None: the
    answer was not HTTP)."""

    def __init__(self, text: str, status: int | None = None) -> None:
        super().__init__(text)
        self.status = status


MAX_BODY = 1 << 20


def _get(port: int, path: str, accept: str = "application/json") -> str:
    return request(port, path, accept=accept)


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    accept: str = "application/json",
    timeout: float | None = None,
) -> str:
    """One request to http://127.0.0.1:port/path, with no body (the loopback APIs of jicofo
    and the bridges: this view, and ops/drain.py's drain and metrics): HTTP/1.0, so the
    server answers with one plain body and closes (no proxy, no keep-alive); at most
    MAX_BODY bytes are read, and the whole request ends within timeout (default TIMEOUT;
    TimeoutError), however slowly the server trickles. The body of a 200 answer, else
    Unanswered."""
    timeout = TIMEOUT if timeout is None else timeout
    length = "" if method == "GET" else "Content-Length: 0\r\n"
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\n"
        f"{length}Connection: close\r\n\r\n"
    )
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((b"127.0.0.1", port))  # bytes: no idna codec to load for an address
        sock.sendall(head.encode("ascii"))
        while size <= MAX_BODY + (64 << 10):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no whole answer within {timeout:g}s")
            sock.settimeout(left)
            if not (chunk := sock.recv(65536)):
                break
            chunks.append(chunk)
            size += len(chunk)
    return _body(b"".join(chunks))


def _body(answer: bytes) -> str:
    """The body of a 200 answer; Unanswered for any other status or a reply that is not
    HTTP."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = lines[0].split(None, 2)
    if not sep or len(status) < 2 or not status[0].startswith("HTTP/") or not status[1].isdigit():
        raise Unanswered("not an HTTP answer")
    if status[1] != "200":
        raise Unanswered(f"HTTP {status[1]}", int(status[1]))
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    return body[:MAX_BODY].decode("utf-8", "replace")


def _dechunk(data: bytes) -> bytes:
    """A chunked body (a server may send one even to HTTP/1.0, though it should not)."""
    out = bytearray()
    while data:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


PROBLEMS = (OSError, Unanswered, ValueError, TypeError, AttributeError)


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
    stats_port = d.port("ports.jicofo_rest").host
    ports = [_colibri(b) for b in bridges]
    view.bridges = [Bridge(b.name) for b in bridges]
    failed: list[Exception] = []  # what _jicofo or _bridge did not expect: the caller's

    def ask(at: int) -> None:
        try:
            view.bridges[at] = _bridge(bridges[at].name, ports[at])
        except Exception as err:
            failed.append(err)

    def stats() -> None:
        try:
            _jicofo(stats_port, view)
        except Exception as err:
            failed.append(err)

    threads = [threading.Thread(target=stats)]
    threads += [threading.Thread(target=ask, args=(at,)) for at in range(len(bridges))]
    for thread in threads:
        thread.start()
    for thread in threads:  # each request ends within its TIMEOUT (_get's deadline)
        thread.join()
    if failed:
        raise failed[0]
    return view


def uncounted(view: Meetings) -> str:
    """One line when jicofo counts fewer operational bridges than run here ('' otherwise).
    A bridge that cannot join prosody's brewery (a wrong password, prosody gone) is healthy
    all the same, as jvb's health never asks XMPP (jitsi-videobridge JvbHealthChecker.kt),
    and jicofo sends it no conference: only this count shows it. More counted than run
    (bridges of other hosts in the same brewery) is fine."""
    counted, running = view.bridges_operational, len(view.bridges)
    if view.problem or counted is None or counted >= running:
        return ""
    names = [b.service for b in view.bridges]
    where = f"`inv logs {names[0]}`" if running == 1 else "their logs (`inv logs SERVICE`)"
    return (
        f"jicofo counts {counted} of {running} running bridge(s) operational "
        f"({', '.join(names)}): a bridge that cannot join prosody's brewery is healthy all "
        f"the same and gets no conference: see {where}"
    )


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
