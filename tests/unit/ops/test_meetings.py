"""The meeting view's parsing: jvb's Prometheus text (as MetricsContainer writes it, with
and without labels, HELP/TYPE lines, counters beside gauges) and jicofo's /stats."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jitsi_stack.ops.meetings import GAUGE, Bridge, Meetings, _bridge, lines, uncounted

JVB_TEXT = """# HELP jitsi_jvb_stress Current stress (between 0 and 1).
# TYPE jitsi_jvb_stress gauge
jitsi_jvb_stress 0.0423
# TYPE jitsi_jvb_conferences gauge
jitsi_jvb_conferences{region="eu"} 3.0
# TYPE jitsi_jvb_conferences_created_total counter
jitsi_jvb_conferences_created_total 17.0
jitsi_jvb_local_endpoints 11.0
jitsi_jvb_endpoints_total 40.0
# TYPE jitsi_jvb_drain_mode gauge
jitsi_jvb_drain_mode 1.0
"""


@pytest.fixture
def jvb():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = JVB_TEXT if self.path == "/metrics" else '{"version": "2.3.999"}'
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_gauges_are_read_and_counters_with_the_same_prefix_ignored(jvb):
    bridge = _bridge("jitsi-jvb2", jvb)
    assert (bridge.version, bridge.stress, bridge.conferences, bridge.endpoints) == (
        "2.3.999",
        0.042,
        3,
        11,
    )
    assert not GAUGE.match("jitsi_jvb_conferences_created_total 17.0")
    assert bridge.draining is True  # a draining bridge says so in the table's last column
    assert lines(Meetings(1, 1, 1, 1, bridges=[bridge]))[1][0][-1] == "draining"


def test_a_bridge_that_does_not_answer_is_a_dash_not_an_error():
    bridge = _bridge("jitsi-jvb3", 9)  # discard: nothing listens
    assert bridge.problem == "ConnectionRefusedError" and bridge.stress is None
    summary, rows = lines(Meetings(2, 5, 1, 2, bridges=[bridge]))
    assert summary == "meetings: 2 conference(s), 5 participant(s); 1 of 2 bridge(s) operational"
    assert rows == [["jitsi-jvb3", "-", "-", "-", "-", "no answer (ConnectionRefusedError)"]]


@pytest.fixture
def failing():
    """A jicofo or bridge that answers 500 to everything (jicofo's /stats while it starts)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_an_error_answer_is_named_and_jicofo_unknown_says_why(failing):
    from jitsi_stack.ops.meetings import _jicofo

    assert _bridge("jitsi-jvb", failing).problem == "HTTP 500"
    view = Meetings()
    _jicofo(failing, view)
    assert view.conferences is None and view.problem == "jicofo stats: HTTP 500"
    assert lines(view)[0] == "meetings: unknown (jicofo stats: HTTP 500)"


def test_nan_inf_and_junk_values_show_as_unknown_not_a_crash():
    from unittest import mock

    text = "jitsi_jvb_stress NaN\njitsi_jvb_conferences +Inf\njitsi_jvb_local_endpoints junk\n"
    with mock.patch("jitsi_stack.ops.meetings._get", side_effect=['{"version": "x"}', text]):
        bridge = _bridge("jitsi-jvb", 1)
    assert (bridge.stress, bridge.conferences, bridge.endpoints, bridge.problem) == (
        None,
        None,
        None,
        "",
    )


# The loopback GET is plain HTTP/1.0 on a socket (no http.client): what it reads back.


def test_a_body_is_cut_at_its_content_length_and_a_chunked_one_is_joined():
    from jitsi_stack.ops.meetings import _body

    plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello, and junk after it"
    assert _body(plain) == "hello"
    assert _body(b"HTTP/1.0 200 OK\r\n\r\nto the close") == "to the close"
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n3;ext=1\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    )
    assert _body(chunked) == '{"a": 1}'


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "HTTP 404"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP answer"),
        (b"", "not an HTTP answer"),
        (b"HTTP/1.1 abc\r\n\r\n", "not an HTTP answer"),
    ],
)
def test_an_answer_that_is_not_a_200_is_unanswered_and_says_why(answer, why):
    from jitsi_stack.ops.meetings import Unanswered, _body

    with pytest.raises(Unanswered) as err:
        _body(answer)
    assert str(err.value) == why


def test_a_huge_body_is_read_only_up_to_the_bound():
    from jitsi_stack.ops.meetings import MAX_BODY, _body

    big = b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * (MAX_BODY + 10)
    assert len(_body(big)) == MAX_BODY


def test_every_bridge_is_asked_at_once_and_each_row_keeps_its_bridge(jvb):
    """Two bridges and jicofo (here one server answers all three): rows in the
    Deployment's order, each from its own answer."""
    from types import SimpleNamespace

    from jitsi_stack.ops.meetings import collect

    def bridge(name):
        return SimpleNamespace(
            name=name, ports=[SimpleNamespace(setting="ports.jvb_colibri", host=jvb)]
        )

    d = SimpleNamespace(
        service=lambda key: SimpleNamespace(name="jitsi-jicofo"),
        bridges=[bridge("jitsi-jvb"), bridge("jitsi-jvb2"), bridge("jitsi-jvb3")],
        port=lambda setting: SimpleNamespace(host=9),  # jicofo: nothing listens
    )
    view = collect(d, {"jitsi-jicofo", "jitsi-jvb", "jitsi-jvb3"})
    assert [b.service for b in view.bridges] == ["jitsi-jvb", "jitsi-jvb3"]
    assert all(b.version == "2.3.999" and b.endpoints == 11 for b in view.bridges)
    assert view.problem == "jicofo stats: ConnectionRefusedError"


def test_a_server_that_trickles_its_answer_is_cut_at_the_timeout(monkeypatch):
    """A byte at a time, each within the socket's timeout: the request still ends."""
    import socket

    from jitsi_stack.ops import meetings

    monkeypatch.setattr(meetings, "TIMEOUT", 0.5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b"x")
                stop.wait(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    try:  # without _get's deadline this would read for ever
        bridge = meetings._bridge("jitsi-jvb", listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
    assert bridge.problem == "TimeoutError"


def _view(counted, running, problem=""):
    names = ["jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"][:running]
    return Meetings(0, 0, counted, counted, problem, [Bridge(n) for n in names])


@pytest.mark.parametrize(
    ("counted", "running", "problem", "said"),
    [
        (1, 1, "", ""),
        (3, 2, "", ""),  # bridges of other hosts in the same brewery
        (None, 2, "", ""),  # jicofo's stats without a bridge selector
        (0, 1, "jicofo stats: ConnectionRefusedError", ""),  # unknown is not short
        (0, 0, "", ""),
        (
            0,
            1,
            "",
            "jicofo counts 0 of 1 running bridge(s) operational (jitsi-jvb): a bridge that "
            "cannot join prosody's brewery is healthy all the same and gets no conference: "
            "see `inv logs jitsi-jvb`",
        ),
        (
            1,
            3,
            "",
            "jicofo counts 1 of 3 running bridge(s) operational (jitsi-jvb, jitsi-jvb2, "
            "jitsi-jvb3): a bridge that cannot join prosody's brewery is healthy all the same "
            "and gets no conference: see their logs (`inv logs SERVICE`)",
        ),
    ],
)
def test_status_says_when_jicofo_counts_fewer_bridges_than_run(counted, running, problem, said):
    assert uncounted(_view(counted, running, problem)) == said


def test_a_short_count_fails_status_json_with_it_as_the_verdict():
    """Every service healthy, jicofo counting one of two bridges: not ok, and the verdict
    is the count's line (the services' verdict when one of them is bad)."""
    import json
    from types import SimpleNamespace

    from jitsi_stack.ops.status import Row, as_json_text

    stack = SimpleNamespace(problem="", d=SimpleNamespace(project="p"))

    def row(service, state="running", health="healthy"):
        return Row(service, state, health, "", "", "", "", "")

    rows = [row("jitsi-jvb"), row("jitsi-jvb2")]
    data = json.loads(as_json_text(stack, rows, view=_view(1, 2)))  # type: ignore[arg-type]
    assert data["ok"] is False
    assert data["verdict"].startswith("jicofo counts 1 of 2 running bridge(s) operational")
    assert json.loads(as_json_text(stack, rows, view=_view(2, 2)))["ok"] is True  # type: ignore[arg-type]
    rows[1] = row("jitsi-jvb2", "exited", "")
    data = json.loads(as_json_text(stack, rows, view=_view(1, 2)))  # type: ignore[arg-type]
    assert data["ok"] is False and "jitsi-jvb2" in data["verdict"]
    assert not data["verdict"].startswith("jicofo counts")
