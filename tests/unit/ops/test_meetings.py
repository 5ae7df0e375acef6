"""The meeting view's parsing: jvb's Prometheus text (as MetricsContainer writes it, with
and without labels, HELP/TYPE lines, counters beside gauges) and jicofo's /stats."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jitsi_stack.ops.meetings import GAUGE, Meetings, _bridge, lines

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
