"""The drain protocol (jitsi_stack/ops/drain.py) against fake bridges: a scripted one (no
clock: the test's clock moves when the protocol sleeps), and one that speaks jvb's REST
API over real HTTP on the loopback (Drain.java's paths and answers, Prometheus text as
VideobridgeMetrics.kt writes it). Then the shape of stop, restart and update on a fake
stack: which bridge is drained, in what order, and what runs between."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field

import pytest

from jitsi_stack.docker import Container, Result
from jitsi_stack.ops import drain
from jitsi_stack.ops.drain import Bridge, Drainer, DrainStopped, HttpApi, NoAnswer, Policy

# -- a scripted bridge and a clock that moves when the protocol sleeps ------------------------


@dataclass
class Scripted:
    """Each bridge's endpoint counts, one per read; the last one repeats. None: no answer."""

    counts: dict[str, list]
    calls: list[tuple] = field(default_factory=list)
    refuse_drain: set[str] = field(default_factory=set)

    def drain(self, bridge: Bridge, enable: bool) -> None:
        self.calls.append(("drain", bridge.service, enable))
        if bridge.service in self.refuse_drain:
            raise NoAnswer("ConnectionRefusedError")

    def endpoints(self, bridge: Bridge) -> int:
        self.calls.append(("endpoints", bridge.service))
        seq = self.counts[bridge.service]
        value = seq.pop(0) if len(seq) > 1 else seq[0]
        if value is None:
            raise NoAnswer("HTTP 503")
        return value


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def drainer(api, timeout=10.0, on_timeout="continue"):
    clock = Clock()
    said: list[str] = []
    warned: list[str] = []
    d = Drainer(
        api,
        Policy(timeout, on_timeout),
        clock=clock,
        sleep=clock.sleep,
        say=said.append,
        warn=warned.append,
    )
    return d, said, warned, clock


def test_drains_to_zero_with_one_line_per_change():
    api = Scripted({"jitsi-jvb": [3, 3, 2, 2, 2, 1, 0]})
    d, said, warned, clock = drainer(api)
    [result] = d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert api.calls[0] == ("drain", "jitsi-jvb", True)
    assert ("drain", "jitsi-jvb", False) not in api.calls  # it is recreated next: no undo
    assert said == [
        "  jitsi-jvb: draining, 3 endpoint(s) left, 10s to jvb.drain_timeout",
        "  jitsi-jvb: draining, 2 endpoint(s) left, 8s to jvb.drain_timeout",
        "  jitsi-jvb: draining, 1 endpoint(s) left, 5s to jvb.drain_timeout",
        "  jitsi-jvb: drained after 6.0s (0 endpoints)",
    ]
    assert warned == []
    assert (result.left, result.timed_out, result.seconds) == (0, False, 6.0)


def test_an_idle_bridge_costs_one_read_and_no_sleep():
    api = Scripted({"jitsi-jvb": [0]})
    d, said, _, clock = drainer(api)
    d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert api.calls == [("drain", "jitsi-jvb", True), ("endpoints", "jitsi-jvb")]
    assert clock.now == 100.0
    assert said == ["  jitsi-jvb: drained after 0.0s (0 endpoints)"]


def test_timeout_continue_is_one_warning_and_goes_on():
    api = Scripted({"jitsi-jvb": [2]})
    d, said, warned, _ = drainer(api, timeout=3)
    [result] = d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert warned == [
        "jitsi-jvb: jvb.drain_timeout (3s) passed with 2 endpoint(s) left: going on: its calls drop"
    ]
    assert result.timed_out and result.left == 2
    assert len(said) == 1  # the count never changed: one progress line


def test_timeout_stop_takes_the_bridge_out_of_drain_and_raises():
    api = Scripted({"jitsi-jvb": [1]})
    d, _, warned, _ = drainer(api, timeout=2, on_timeout="stop")
    with pytest.raises(DrainStopped) as err:
        d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert api.calls[-1] == ("drain", "jitsi-jvb", False)
    assert "stopping (jvb.drain_on_timeout: stop)" in warned[0]
    assert str(err.value).startswith("jitsi-jvb: calls still running after jvb.drain_timeout (2s)")
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 1


def test_a_bridge_that_does_not_answer_the_drain_is_not_waited_for():
    api = Scripted({"jitsi-jvb": [5]}, refuse_drain={"jitsi-jvb"})
    d, said, warned, clock = drainer(api)
    [result] = d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert warned == [
        "jitsi-jvb: its REST API did not answer (ConnectionRefusedError): not drained"
    ]
    assert result.left is None and clock.now == 100.0
    assert ("endpoints", "jitsi-jvb") not in api.calls


def test_a_read_that_fails_shows_a_question_mark_and_is_asked_again():
    api = Scripted({"jitsi-jvb": [1, None, None, 0]})
    d, said, _, _ = drainer(api)
    d.drain([Bridge("jitsi-jvb", 8080)], others=1)
    assert said[1] == "  jitsi-jvb: draining, ? endpoint(s) left, 9s to jvb.drain_timeout"
    assert said[-1].startswith("  jitsi-jvb: drained after")


def test_several_leaving_bridges_drain_together_each_with_its_own_lines():
    api = Scripted({"jitsi-jvb2": [1, 0], "jitsi-jvb3": [2, 2, 1, 0]})
    d, said, _, clock = drainer(api)
    results = d.drain([Bridge("jitsi-jvb2", 1), Bridge("jitsi-jvb3", 2)], others=1)
    assert [r.service for r in results] == ["jitsi-jvb2", "jitsi-jvb3"]
    assert clock.now == 103.0  # together: the longest, not the sum
    assert [line.split(":")[0].strip() for line in said].count("jitsi-jvb3") == 3  # 2, 1, 0


def test_the_only_bridge_says_new_calls_still_land_on_it():
    api = Scripted({"jitsi-jvb": [0]})
    d, said, _, _ = drainer(api, timeout=900)
    d.drain([Bridge("jitsi-jvb", 8080)], others=0)
    assert said[0] == (
        "jitsi-jvb: no other bridge runs: new calls still land on it while draining, and calls "
        "still on it after jvb.drain_timeout (900s) drop"
    )


@pytest.mark.parametrize(
    ("keeps", "others"),
    [(True, [2, 2, 2]), (False, [2, 1, 0])],  # recreate: all stay; stop: fewer each time
)
def test_roll_is_one_bridge_at_a_time_drain_then_act(keeps, others):
    api = Scripted({"a": [0], "b": [1, 0], "c": [0]})
    d, said, _, _ = drainer(api)
    seen: list[int] = []
    original = d.drain

    def counting(bridges, others):
        seen.append(others)
        return original(bridges, others)

    d.drain = counting  # type: ignore[method-assign]
    acted: list[str] = []

    def act(bridge):
        acted.append(bridge.service)
        api.calls.append(("act", bridge.service))

    d.roll([Bridge("a", 1), Bridge("b", 2), Bridge("c", 3)], act, 0, keeps=keeps)
    order = [c for c in api.calls if c[0] in ("drain", "act")]
    assert order == [
        ("drain", "a", True),
        ("act", "a"),
        ("drain", "b", True),
        ("act", "b"),
        ("drain", "c", True),
        ("act", "c"),
    ]
    assert seen == others


# -- jvb's REST API over real HTTP ------------------------------------------------------------


class FakeJvb(http.server.BaseHTTPRequestHandler):
    """Drain.java's paths: POST /colibri/drain/enable|disable -> 200, GET /colibri/drain;
    /metrics in Prometheus text. `status` forces an answer (500: setDrainMode threw)."""

    state = {"drain": False, "endpoints": 2, "status": 200, "metrics": True}
    requests: list[tuple[str, str]] = []

    def _answer(self, body: str, ctype: str = "text/plain") -> None:
        status = self.state["status"]
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        self.requests.append(("POST", self.path))
        if self.path == "/colibri/drain/enable":
            self.state["drain"] = True
        elif self.path == "/colibri/drain/disable":
            self.state["drain"] = False
        else:
            self.send_error(404)
            return
        self._answer("")

    def do_GET(self):  # noqa: N802
        self.requests.append(("GET", self.path))
        if self.path != "/metrics":
            self.send_error(404)
            return
        lines = [
            "# HELP jitsi_jvb_local_endpoints Number of local endpoints that exist currently.",
            "# TYPE jitsi_jvb_local_endpoints gauge",
        ]
        if self.state["metrics"]:
            lines.append(f"jitsi_jvb_local_endpoints {float(self.state['endpoints'])}")
        lines.append(f"jitsi_jvb_drain_mode {1.0 if self.state['drain'] else 0.0}")
        self._answer("\n".join(lines) + "\n", "text/plain; version=0.0.4")

    def log_message(self, *args):
        pass


@pytest.fixture
def jvb():
    FakeJvb.state.update(drain=False, endpoints=2, status=200, metrics=True)
    FakeJvb.requests.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeJvb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Bridge("jitsi-jvb", server.server_address[1])
    server.shutdown()
    server.server_close()


def test_http_api_posts_the_drain_and_reads_the_gauge(jvb):
    api = HttpApi()
    api.drain(jvb, True)
    assert FakeJvb.state["drain"] is True
    assert api.endpoints(jvb) == 2
    api.drain(jvb, False)
    assert FakeJvb.requests == [
        ("POST", "/colibri/drain/enable"),
        ("GET", "/metrics"),
        ("POST", "/colibri/drain/disable"),
    ]


def test_http_api_500_and_a_missing_gauge_are_no_answer(jvb):
    api = HttpApi()
    FakeJvb.state["metrics"] = False
    with pytest.raises(NoAnswer, match="no jitsi_jvb_local_endpoints"):
        api.endpoints(jvb)
    FakeJvb.state["status"] = 500
    with pytest.raises(NoAnswer, match="HTTP 500 for POST /colibri/drain/enable"):
        api.drain(jvb, True)


def test_http_api_without_a_port_asks_inside_the_container_with_curl():
    class Compose:
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def exec(self, service, *cmd, timeout=None, input=None):
            self.calls.append((service, cmd))
            return Result(("docker", "exec"), 0, "jitsi_jvb_local_endpoints 4.0\n", "")

    compose = Compose()
    api = HttpApi(compose)  # type: ignore[arg-type]
    assert api.endpoints(Bridge("jitsi-jvb2", None)) == 4
    service, cmd = compose.calls[0]
    assert service == "jitsi-jvb2"
    assert cmd[0] == "curl" and cmd[-1] == "http://127.0.0.1:8080/metrics"


def test_http_api_to_a_closed_port_is_no_answer():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    with pytest.raises(NoAnswer):
        HttpApi(timeout=1).endpoints(Bridge("jitsi-jvb", port))


# -- shape: stop, restart and update on a fake stack -----------------------------------------


def row(service: str, port: int | None = None, state: str = "running", image="jvb:old"):
    pubs = ((("127.0.0.1", 8080, port, "tcp"),) if port else ()) + (("", 10000, 10000, "udp"),)
    return Container(service, f"x-{service}", service, state, "healthy", image, "Up", pubs)


@dataclass
class FakeCompose:
    rows: list[Container]
    log: list[tuple] = field(default_factory=list)

    def ps(self):
        return list(self.rows)

    def run(self, *args, **kwargs):
        self.log.append(("compose", *args))
        if args[0] == "stop":
            self.rows = [r for r in self.rows if r.service not in args[1:]]
        return Result(("docker", "compose"), 0, "", "")


@dataclass
class FakeRunner:
    dry: bool = False


class FakeStack:
    def __init__(self, rows, bridges=("jitsi-jvb", "jitsi-jvb2"), timeout=900) -> None:
        from types import SimpleNamespace

        svcs = [SimpleNamespace(name=n, image="jvb:new") for n in bridges]
        self.d = SimpleNamespace(
            group=lambda kind: svcs if kind == "jvb" else [],
            names=["jitsi-web", *bridges],
            drain_timeout=timeout,
            drain_on_timeout="continue",
            has=lambda key: False,  # no jicofo to ask
        )
        self.compose = FakeCompose(rows)
        self.runner = FakeRunner()


@pytest.fixture
def fake_api(monkeypatch):
    api = Scripted({"jitsi-jvb": [1, 0], "jitsi-jvb2": [0], "jitsi-jvb3": [0]})
    monkeypatch.setattr(drain, "HttpApi", lambda compose: api)
    monkeypatch.setattr(drain.time, "sleep", lambda s: None)
    return api


def test_is_bridge_knows_the_ones_a_lower_count_left_behind():
    stack = FakeStack([])
    assert drain.is_bridge(stack.d, "jitsi-jvb") and drain.is_bridge(stack.d, "jitsi-jvb7")
    assert not drain.is_bridge(stack.d, "jitsi-jvbx") and not drain.is_bridge(stack.d, "web")


def test_stop_drains_and_stops_each_bridge_then_the_rest(fake_api):
    from jitsi_stack.ops.stack import stop

    stack = FakeStack([row("jitsi-web"), row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091)])
    stack.compose.log = fake_api.calls  # one timeline
    stop(stack, [])  # type: ignore[arg-type]
    timeline = [c for c in fake_api.calls if c[0] != "endpoints"]
    assert timeline == [
        ("drain", "jitsi-jvb", True),
        ("compose", "stop", "jitsi-jvb"),
        ("drain", "jitsi-jvb2", True),
        ("compose", "stop", "jitsi-jvb2"),
        ("compose", "stop"),  # then the whole project, as before
    ]


def test_stop_of_targets_stops_only_the_targets_left_and_skips_orphan_bridges(fake_api):
    from jitsi_stack.ops.stack import stop

    rows = [row("jitsi-web"), row("jitsi-jvb", 8090), row("jitsi-jvb3", 8092)]  # jvb3: orphan
    stack = FakeStack(rows)
    stack.compose.log = fake_api.calls
    stop(stack, ["jitsi-web", "jitsi-jvb"])  # type: ignore[arg-type]
    timeline = [c for c in fake_api.calls if c[0] != "endpoints"]
    assert timeline == [
        ("drain", "jitsi-jvb", True),
        ("compose", "stop", "jitsi-jvb"),
        ("compose", "stop", "jitsi-web"),
    ]
    stack.compose.log = fake_api.calls = []
    stop(stack, [])  # type: ignore[arg-type]
    assert fake_api.calls == [("compose", "stop")]  # jvb3 is not in the compose file


def test_stop_without_drain_is_one_compose_stop(fake_api):
    from jitsi_stack.ops.stack import stop

    stack = FakeStack([row("jitsi-jvb", 8090)])
    stop(stack, ["jitsi-jvb"], drain_first=False)  # type: ignore[arg-type]
    assert stack.compose.log == [("compose", "stop", "jitsi-jvb")]
    assert fake_api.calls == []


def test_restart_rolls_bridges_one_by_one_then_the_other_targets(fake_api, monkeypatch):
    from jitsi_stack.ops import stack as stack_mod

    calls: list[tuple] = []

    def fake_up(stack, services, **kwargs):
        calls.append((tuple(services), kwargs.get("no_deps", False)))
        fake_api.calls.append(("up", *services))
        return 1.0

    monkeypatch.setattr(stack_mod, "up", fake_up)
    stack = FakeStack([row("jitsi-web"), row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091)])
    stack_mod.restart(stack, ["jitsi-web", "jitsi-jvb", "jitsi-jvb2"])  # type: ignore[arg-type]
    timeline = [c for c in fake_api.calls if c[0] != "endpoints"]
    assert timeline == [
        ("drain", "jitsi-jvb", True),
        ("up", "jitsi-jvb"),
        ("drain", "jitsi-jvb2", True),
        ("up", "jitsi-jvb2"),
        ("up", "jitsi-web"),
    ]
    assert calls[:2] == [(("jitsi-jvb",), True), (("jitsi-jvb2",), True)]  # --no-deps


def test_a_lower_count_drains_only_the_bridges_that_go(fake_api):
    rows = [row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091), row("jitsi-jvb3", 8092)]
    stack = FakeStack(rows, bridges=("jitsi-jvb",))
    going = drain.drain_leaving(stack, rows)
    assert going == ["jitsi-jvb2", "jitsi-jvb3"]
    assert [c for c in fake_api.calls if c[0] == "drain"] == [
        ("drain", "jitsi-jvb2", True),
        ("drain", "jitsi-jvb3", True),
    ]


def test_update_rolls_only_bridges_on_another_image(monkeypatch):
    from jitsi_stack.ops import stack as stack_mod

    class NoEngine:
        def available(self):
            return False

    monkeypatch.setattr(stack_mod.docker.Engine, "local", staticmethod(lambda runner: NoEngine()))
    stack = FakeStack([row("jitsi-jvb", 1, image="jvb:new"), row("jitsi-jvb2", 2, image="jvb:old")])
    assert stack_mod.changed_bridges(stack) == ["jitsi-jvb2"]  # type: ignore[arg-type]


def test_dry_roll_says_what_it_would_drain_and_asks_nothing(fake_api):
    stack = FakeStack([row("jitsi-jvb", 8090)])
    stack.runner.dry = True
    acted: list[str] = []
    assert drain.roll(stack, ["jitsi-jvb"], acted.append, keeps=True) == ["jitsi-jvb"]
    assert acted == ["jitsi-jvb"] and fake_api.calls == []


# -- jicofo counts the recreated bridge before the next one drains -----------------------------


def test_wait_operational_waits_for_jicofos_count_then_goes_on():
    answers = [1, 1, 2]
    clock = Clock()
    count = drain.wait_operational(
        8888, 2, 60, ask=lambda port: answers.pop(0), clock=clock, sleep=clock.sleep
    )
    assert count == 2 and clock.now == 101.0


def test_wait_operational_gives_the_last_count_at_the_timeout_and_none_for_a_silent_jicofo():
    clock = Clock()
    count = drain.wait_operational(8888, 2, 3, ask=lambda port: 1, clock=clock, sleep=clock.sleep)
    assert count == 1
    assert clock.now >= 103.0
    assert (
        drain.wait_operational(8888, 2, 3, ask=lambda port: None, clock=clock, sleep=None) is None
    )


def test_jicofo_operational_reads_the_bridge_selector_and_is_none_when_closed():
    import json
    import socket

    class Stats(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"bridge_selector": {"operational_bridge_count": 3}}).encode()
            self.send_response(200 if self.path == "/stats" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert drain.jicofo_operational(server.server_address[1]) == 3
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert drain.jicofo_operational(port, timeout=1) is None


# -- start: jicofo must count every running bridge -------------------------------------------


class JicofoStack(FakeStack):
    """FakeStack with a jicofo whose REST port is 8888 and bridges that log `line`."""

    def __init__(self, rows, line="") -> None:
        from types import SimpleNamespace

        super().__init__(rows)
        self.d.has = lambda key: key == "jicofo"
        self.d.service = lambda key: SimpleNamespace(name="jitsi-jicofo")
        self.d.port = lambda setting: SimpleNamespace(host=8888)
        compose_run = self.compose.run

        def run(*args, **kwargs):
            result = compose_run(*args, **kwargs)
            if args[0] == "logs":
                return Result(("docker", "compose"), 0, f"{args[-1]}: {line}\n", "")
            return result

        self.compose.run = run  # type: ignore[method-assign]

    def mask(self, text: str) -> str:
        return text


def test_start_fails_when_jicofo_counts_fewer_bridges_than_run_with_their_log_lines(monkeypatch):
    from jitsi_stack.errors import StackError
    from jitsi_stack.ops import stack as stack_mod

    stack = JicofoStack([row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091)], "not-authorized")
    asked: list[tuple] = []

    def wait(port, wanted, timeout):
        asked.append((port, wanted, timeout))
        return 1

    monkeypatch.setattr(drain, "wait_operational", wait)
    with pytest.raises(StackError) as caught:
        stack_mod.bridges_counted(stack, 25)  # type: ignore[arg-type]
    assert asked == [(8888, 2, 25)]
    message = str(caught.value)
    assert message.startswith("jicofo counts 1 of 2 running bridge(s) operational after 25s")
    assert "jitsi-jvb, jitsi-jvb2" in message and "\n" not in message
    for svc in ("jitsi-jvb", "jitsi-jvb2"):
        assert f"--- last log lines of {svc} ---\n{svc}: not-authorized" in caught.value.detail


@pytest.mark.parametrize("count", [2, 3, None])
def test_start_goes_on_when_jicofo_counts_them_all_or_does_not_answer(monkeypatch, count):
    from jitsi_stack.ops import stack as stack_mod

    stack = JicofoStack([row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091)])
    monkeypatch.setattr(drain, "wait_operational", lambda port, wanted, timeout: count)
    stack_mod.bridges_counted(stack, 25)  # type: ignore[arg-type]


def test_an_unhealthy_jicofo_brings_the_bridges_log_lines_along():
    from jitsi_stack.ops import stack as stack_mod

    stack = JicofoStack([])
    show = stack_mod._to_show  # noqa: SLF001
    assert show(stack, ["jitsi-jicofo"]) == ["jitsi-jicofo", "jitsi-jvb", "jitsi-jvb2"]  # type: ignore[arg-type]
    assert show(stack, ["jitsi-jvb2", "jitsi-jicofo"]) == [
        "jitsi-jvb2",
        "jitsi-jicofo",
        "jitsi-jvb",
    ]  # type: ignore[arg-type]
    assert show(stack, ["jitsi-web"]) == ["jitsi-web"]  # type: ignore[arg-type]


def test_a_no_op_start_counts_on_the_containers_it_just_listed(monkeypatch):
    """No second `docker compose ps` when the caller has the list (a no-op start)."""
    from jitsi_stack.ops import stack as stack_mod

    stack = JicofoStack([])  # compose ps would list nothing
    asked: list[int] = []
    monkeypatch.setattr(
        drain, "wait_operational", lambda port, wanted, timeout: asked.append(wanted) or wanted
    )
    listed = [row("jitsi-jvb", 8090), row("jitsi-jvb2", 8091), row("jitsi-web")]
    stack_mod.bridges_counted(stack, 25, listed)  # type: ignore[arg-type]
    assert asked == [2]
    stack_mod.bridges_counted(stack, 25)  # type: ignore[arg-type]
    assert asked == [2]  # compose's list has no bridge: nothing to wait for
