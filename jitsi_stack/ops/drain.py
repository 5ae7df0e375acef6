"""Drain bridges before they are recreated, stopped or removed, so calls on them end first.

The protocol, one bridge at a time (the others keep taking new conferences):

1. ``POST /colibri/drain/enable`` on the bridge's private HTTP server (port 8080).
   jitsi-videobridge a29d97d1 ``rest/root/colibri/drain/Drain.java``: 200 with no body
   (500 if setting the flag threw), ``GET /colibri/drain`` -> ``{"drain": bool}``; the
   resource is on by default (``videobridge.rest.drain.enabled``, reference.conf), which
   docker-jitsi-meet's jvb.conf does not override (738058b4
   ``jvb/rootfs/defaults/jvb.conf``): no COLIBRI_REST_ENABLED needed. Drain only sets a
   flag (``Videobridge.setDrainMode``, the ``jitsi_jvb_drain_mode`` gauge) that jicofo
   reads from the brewery presence: jicofo *prefers* bridges not in drain
   (jicofo 7ebb13dc ``BridgeSelector.kt``), so with another bridge running new
   conferences go there; with none, they still land on the draining one.
2. Read ``jitsi_jvb_local_endpoints`` from its Prometheus ``/metrics``
   (``metrics/VideobridgeMetrics.kt``, on by default) until it is 0 or
   ``jvb.drain_timeout`` passes; one line per bridge each time its count changes.
3. On the timeout: ``jvb.drain_on_timeout`` ``continue`` goes on (those calls drop), ``stop``
   takes the bridge out of drain and stops the task (:class:`DrainStopped`, exit 1).
4. Recreate, stop or remove it (the caller's ``act``), wait for health, then the next one.

Graceful shutdown (``POST /colibri/shutdown``) is not used: it needs COLIBRI_REST_ENABLED
and SHUTDOWN_REST_ENABLED (both false in docker-jitsi-meet), makes the bridge refuse new
conferences and then *exit*, and with ``restart: unless-stopped`` Docker starts the old
container again; drain leaves the decision and the timing to jitsi-stack.

The bridge's port 8080 is published on the host's loopback (``ports.jvb_colibri``, as
upstream's compose file does: ``127.0.0.1:${JVB_COLIBRI_PORT:-8080}:8080``): it is read
from the running container, so a bridge that a lower jvb.count removes is found too. When
no such port answers (an engine on another host), the request runs inside the container
with the image's own curl (docker-jitsi-meet 738058b4 ``jvb/Dockerfile`` installs curl),
through ``Compose.exec`` (the Engine API's exec).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .. import docker, ui
from ..errors import StackError

PRIVATE_PORT = 8080  # jvb's private HTTP server (http-servers.private)
ENDPOINTS = re.compile(r"^jitsi_jvb_local_endpoints(?:\{[^}]*\})?\s+(\S+)", re.MULTILINE)
TIMEOUT = 3.0  # one request
POLL = 1.0  # seconds between two reads of a bridge's endpoints


class DrainStopped(StackError):
    """jvb.drain_on_timeout is `stop` and a bridge still had calls at the timeout."""


@dataclass(frozen=True)
class Bridge:
    service: str  # the compose service
    port: int | None  # the host's loopback port of its 8080, None when not published


class Api(Protocol):
    """What the protocol asks of a bridge (a fake in the unit tests)."""

    def drain(self, bridge: Bridge, enable: bool) -> None: ...

    def endpoints(self, bridge: Bridge) -> int: ...


class NoAnswer(Exception):
    """The bridge's REST API did not answer as jvb does."""


@dataclass
class HttpApi:
    """The real bridge: loopback port first, else curl inside the container."""

    compose: docker.Compose | None = None
    timeout: float = TIMEOUT

    def _request(self, bridge: Bridge, method: str, path: str) -> str:
        if bridge.port:
            try:
                return _http(bridge.port, method, path, self.timeout)
            except OSError as err:
                if self.compose is None:
                    raise NoAnswer(err.__class__.__name__) from None
        if self.compose is None:
            raise NoAnswer("port 8080 is not published")
        argv = ["curl", "-fsS", "-m", str(int(self.timeout)), "-X", method]
        result = self.compose.exec(
            bridge.service,
            *argv,
            f"http://127.0.0.1:{PRIVATE_PORT}{path}",
            timeout=self.timeout + 10,
        )
        if not result.ok:
            raise NoAnswer(errors_line(result.stderr) or f"curl exit {result.returncode}")
        return result.stdout

    def drain(self, bridge: Bridge, enable: bool) -> None:
        self._request(bridge, "POST", f"/colibri/drain/{'enable' if enable else 'disable'}")

    def endpoints(self, bridge: Bridge) -> int:
        text = self._request(bridge, "GET", "/metrics")
        match = ENDPOINTS.search(text)
        if not match:
            raise NoAnswer("no jitsi_jvb_local_endpoints in /metrics")
        try:
            return int(float(match.group(1)))
        except (ValueError, OverflowError):
            raise NoAnswer(f"jitsi_jvb_local_endpoints is {match.group(1)}") from None


def errors_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _http(port: int, method: str, path: str, timeout: float) -> str:
    """One request to 127.0.0.1:port (the loopback reader of ops/meetings.py): the body of
    a 200 answer; NoAnswer for another status; OSError when nothing, or not HTTP, answers
    there (then the request goes through the container)."""
    from .meetings import Unanswered, request

    try:
        return request(port, path, method=method, accept="*/*", timeout=timeout)
    except Unanswered as err:
        if err.status is None:
            raise ConnectionError(str(err)) from None
        raise NoAnswer(f"HTTP {err.status} for {method} {path}") from None


# -- which bridges ----------------------------------------------------------------------


def is_bridge(d, service: str) -> bool:
    """A compose service of a bridge, also one jvb.count no longer lists (jitsi-jvb7)."""
    bridges = d.group("jvb")
    if not bridges:
        return False
    return re.fullmatch(re.escape(bridges[0].name) + r"\d*", service) is not None


def bridge_of(container: docker.Container) -> Bridge:
    port = next(
        (
            pub
            for _url, target, pub, proto in container.publishers
            if target == PRIVATE_PORT and pub
        ),
        None,
    )
    if port is None:
        return Bridge(container.service, None)
    return Bridge(container.service, port)


def running_bridges(d, running: Iterable[docker.Container]) -> dict[str, docker.Container]:
    """Every running bridge container of the project, by service, in jvb, jvb2... order."""
    rows = {c.service: c for c in running if c.state == "running" and is_bridge(d, c.service)}
    return dict(sorted(rows.items(), key=lambda kv: (len(kv[0]), kv[0])))


# -- the protocol ---------------------------------------------------------------------------


@dataclass
class Policy:
    timeout: float = 900.0  # jvb.drain_timeout
    on_timeout: str = "continue"  # jvb.drain_on_timeout

    @classmethod
    def of(cls, d) -> Policy:
        # on_disk.Rendered (inv stop without loadable settings) has neither: the defaults
        return cls(
            float(getattr(d, "drain_timeout", 900)), getattr(d, "drain_on_timeout", "continue")
        )


@dataclass
class Result:
    service: str
    left: int | None  # endpoints at the end; None: the bridge did not answer
    seconds: float
    timed_out: bool = False
    problem: str = ""


@dataclass
class Drainer:
    api: Api
    policy: Policy
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = ui.info
    warn: Callable[[str], None] = ui.warn
    poll: float = POLL
    results: list[Result] = field(default_factory=list)

    def drain(self, bridges: Sequence[Bridge], others: int) -> list[Result]:
        """Put every bridge of `bridges` in drain and wait until each has no endpoint or the
        timeout passes. `others`: bridges that keep running and take new conferences."""
        if not bridges:
            return []
        names = ", ".join(b.service for b in bridges)
        if others == 0:
            self.say(
                f"{names}: no other bridge runs: new calls still land on "
                f"{'it' if len(bridges) == 1 else 'them'} while draining, and calls still on "
                f"{'it' if len(bridges) == 1 else 'them'} after jvb.drain_timeout "
                f"({self.policy.timeout:.0f}s) drop"
            )
        start = self.clock()
        pending: dict[str, Bridge] = {}
        done: list[Result] = []
        for bridge in bridges:
            try:
                self.api.drain(bridge, True)
                pending[bridge.service] = bridge
            except NoAnswer as err:
                self.warn(f"{bridge.service}: its REST API did not answer ({err}): not drained")
                done.append(Result(bridge.service, None, 0.0, problem=str(err)))
        seen: dict[str, int | None] = {}
        while pending:
            elapsed = self.clock() - start
            left_s = max(0.0, self.policy.timeout - elapsed)
            for service, bridge in list(pending.items()):
                try:
                    count: int | None = self.api.endpoints(bridge)
                except NoAnswer:
                    count = None  # gone, or restarting: asked again on the next round
                if count == 0:
                    self.say(f"  {service}: drained after {elapsed:.1f}s (0 endpoints)")
                    done.append(Result(service, 0, elapsed))
                    del pending[service]
                    continue
                if count != seen.get(service, -1):
                    seen[service] = count
                    shown = "?" if count is None else str(count)
                    self.say(
                        f"  {service}: draining, {shown} endpoint(s) left, "
                        f"{left_s:.0f}s to jvb.drain_timeout"
                    )
            if not pending:
                break
            if elapsed >= self.policy.timeout:
                for service in pending:
                    left = seen.get(service)
                    shown = "?" if left is None else str(left)
                    action = (
                        "going on: its calls drop"
                        if self.policy.on_timeout == "continue"
                        else "stopping (jvb.drain_on_timeout: stop)"
                    )
                    self.warn(
                        f"{service}: jvb.drain_timeout ({self.policy.timeout:.0f}s) passed with "
                        f"{shown} endpoint(s) left: {action}"
                    )
                    done.append(Result(service, left, elapsed, timed_out=True))
                if self.policy.on_timeout == "stop":
                    for bridge in pending.values():
                        with contextlib.suppress(NoAnswer):
                            self.api.drain(bridge, False)
                    raise DrainStopped(
                        f"{', '.join(pending)}: calls still running after jvb.drain_timeout "
                        f"({self.policy.timeout:.0f}s); left running and taken out of drain: "
                        "re-run when they end, or raise jvb.drain_timeout"
                    )
                break
            self.sleep(min(self.poll, max(0.05, self.policy.timeout - elapsed)))
        self.results += done
        return done

    def roll(
        self,
        bridges: Sequence[Bridge],
        act: Callable[[Bridge], None],
        others: int,
        keeps: bool = True,
    ) -> None:
        """One at a time: drain it, act on it, then the next. `others`: running bridges not
        in `bridges` (they take new conferences throughout); keeps: `act` brings the bridge
        back (a recreate), so the ones done so far take new conferences too (not after a
        stop)."""
        for index, bridge in enumerate(bridges):
            self.drain([bridge], others + len(bridges) - 1 - (0 if keeps else index))
            act(bridge)


# -- jicofo sees the bridge again ------------------------------------------------------------


def jicofo_operational(port: int, timeout: float = TIMEOUT) -> int | None:
    """jicofo's count of operational bridges (GET /stats, bridge_selector; jicofo's REST
    port on the host's loopback, ports.jicofo_rest), None when it does not answer."""
    import json

    try:
        data = json.loads(_http(port, "GET", "/stats", timeout))
        value = (data.get("bridge_selector") or {}).get("operational_bridge_count")
        return int(value) if value is not None else None
    except (OSError, NoAnswer, ValueError, TypeError, AttributeError):
        return None


def wait_operational(
    port: int,
    wanted: int,
    timeout: float,
    *,
    ask=jicofo_operational,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Wait until jicofo counts `wanted` operational bridges or `timeout` passes; returns
    its last count (None: jicofo does not answer, so there is nothing to wait on)."""
    start = clock()
    while True:
        count = ask(port)
        if count is None or count >= wanted or clock() - start >= timeout:
            return count
        sleep(0.5)


# -- on a stack -----------------------------------------------------------------------------


def drainer(stack, **kwargs) -> Drainer:
    return Drainer(HttpApi(stack.compose), Policy.of(stack.d), **kwargs)


def roll(stack, services: Sequence[str], act: Callable[[str], None], *, keeps: bool) -> list[str]:
    """Drain, then `act` on, each running bridge among `services`, one at a time. Returns
    the bridges handled (in order). keeps: act brings the bridge back (recreate)."""
    d = stack.d
    running = running_bridges(d, stack.compose.ps())
    chosen = [running[s] for s in services if s in running]
    if not chosen:
        return []
    others = len([s for s in running if s not in services])
    if stack.runner.dry:
        for c in chosen:
            ui.info(
                f"would drain {c.service} (POST /colibri/drain/enable, wait up to "
                f"{Policy.of(d).timeout:.0f}s for 0 endpoints)"
            )
            act(c.service)
        return [c.service for c in chosen]

    drainer(stack).roll(
        [bridge_of(c) for c in chosen], lambda b: act(b.service), others, keeps=keeps
    )
    return [c.service for c in chosen]


def leaving(stack, running: Iterable[docker.Container]) -> list[Bridge]:
    """Running bridges that the settings no longer list (a lower jvb.count)."""
    names = set(stack.d.names)
    return [bridge_of(c) for s, c in running_bridges(stack.d, running).items() if s not in names]


def drain_leaving(stack, running: Sequence[docker.Container]) -> list[str]:
    """Drain every bridge a lower jvb.count removes, all at once (none of them takes new
    conferences; the bridges that stay do), before `up --remove-orphans` removes them."""
    going = leaving(stack, running)
    if not going:
        return []
    if stack.runner.dry:
        for b in going:
            ui.info(f"would drain {b.service} before removing it (jvb.count)")
        return [b.service for b in going]
    staying = len(running_bridges(stack.d, running)) - len(going)
    drainer(stack).drain(going, staying)
    return [b.service for b in going]
