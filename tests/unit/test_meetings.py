"""The meeting view's parsing: jvb's Prometheus text (as MetricsContainer writes it, with
and without labels, HELP/TYPE lines, counters beside gauges) and jicofo's /stats."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jitsi_stack.meetings import GAUGE, Meetings, _bridge, lines

JVB_TEXT = """# HELP jitsi_jvb_stress Current stress (between 0 and 1).
# TYPE jitsi_jvb_stress gauge
jitsi_jvb_stress 0.0423
# TYPE jitsi_jvb_conferences gauge
jitsi_jvb_conferences{region="eu"} 3.0
# TYPE jitsi_jvb_conferences_created_total counter
jitsi_jvb_conferences_created_total 17.0
jitsi_jvb_local_endpoints 11.0
jitsi_jvb_endpoints_total 40.0
"""


@pytest.fixture
def jvb():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            body = JVB_TEXT if self.path == "/metrics" else '{"version": "2.3.999"}'
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
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


def test_a_bridge_that_does_not_answer_is_a_dash_not_an_error():
    bridge = _bridge("jitsi-jvb3", "http://127.0.0.1:9")
    assert bridge.problem == "ConnectionError" and bridge.stress is None
    summary, rows = lines(Meetings(2, 5, 1, 2, bridges=[bridge]))
    assert summary == "meetings: 2 conference(s), 5 participant(s); 1 of 2 bridge(s) operational"
    assert rows == [["jitsi-jvb3", "-", "-", "-", "-", "no answer (ConnectionError)"]]
