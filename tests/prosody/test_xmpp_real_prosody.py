"""BOSH and websocket checks against a REAL prosody.

Debian's /usr/bin/prosody (`apt-get install -y prosody`) is started on loopback with a
temporary config, and a stand-in focus component answers conference requests like jicofo.
Without prosody these tests skip with a loud reason, or fail when JSTEST_REQUIRE_PROSODY=1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jitsi_stack.smoke import run_checks
from jitsi_stack.smoke.xmpp import BoshClient, Deadline, open_rooms

from ..unit.smoke.helpers import by_name, free_port, local_target


@dataclass
class Prosody:
    url: str
    component_port: int
    focus_secret: str
    data_dir: Path
    log: Path
    procs: list[subprocess.Popen] = field(default_factory=list)


PROSODY_CFG = """\
-- jitsi-stack unit test prosody: loopback only, temporary state
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}/certs"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{d}/prosody.log" }} }}
modules_enabled = {{ "saslauth", "disco", "ping", "bosh", "websocket", "http" }}
modules_disabled = {{ "s2s" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {component} }}
component_interfaces = {{ "127.0.0.1" }}
http_ports = {{ {http} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
s2s_ports = {{ }}
http_default_host = "meet.jitsi"
consider_bosh_secure = true
consider_websocket_secure = true
cross_domain_bosh = true
cross_domain_websocket = true
c2s_require_encryption = false
storage = "internal"

VirtualHost "meet.jitsi"
    authentication = "anonymous"

Component "muc.meet.jitsi" "muc"
    muc_room_locking = false
    muc_room_default_public = true

Component "focus.meet.jitsi"
    component_secret = "{secret}"
"""


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    binary = "/usr/bin/prosody"
    if not Path(binary).exists():
        missing = f"{binary} is missing; install it with `apt-get install -y prosody`"
        if os.environ.get("JSTEST_REQUIRE_PROSODY") == "1":
            pytest.fail(f"JSTEST_REQUIRE_PROSODY=1 but {missing}")
        pytest.skip(
            f"!!! REAL-PROSODY BOSH/WEBSOCKET TESTS SKIPPED: {missing} "
            "(JSTEST_REQUIRE_PROSODY=1 makes this a failure) !!!"
        )
    d = tmp_path_factory.mktemp("prosody")
    (d / "data").mkdir()
    (d / "certs").mkdir()
    http, c2s, component = free_port(), free_port(), free_port()
    secret = secrets.token_hex(16)
    cfg = d / "prosody.cfg.lua"
    cfg.write_text(PROSODY_CFG.format(d=d, c2s=c2s, component=component, http=http, secret=secret))
    out = (d / "stdout.log").open("w")
    proc = subprocess.Popen([binary, "-F", "--config", str(cfg)], stdout=out, stderr=out)
    info = Prosody(f"http://127.0.0.1:{http}", component, secret, d / "data", d / "prosody.log")
    try:
        for _ in range(100):
            if proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", http), 0.2):
                break
            time.sleep(0.1)
        else:
            pytest.fail("prosody did not open its HTTP port")
        if proc.poll() is not None:
            log = info.log.read_text() if info.log.exists() else ""
            pytest.fail(f"prosody exited with {proc.returncode}:\n{log[-2000:]}")
        yield info
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


class FakeFocus(threading.Thread):
    """An XEP-0114 component on focus.meet.jitsi answering conference requests like jicofo.

    Real jicofo answers ready='true' once it has joined the room; this stand-in only answers,
    which is all a plain prosody (without jitsi's join-until-focus lock) needs.
    """

    def __init__(self, prosody: Prosody, ready: bool = True) -> None:
        super().__init__(daemon=True)
        self.prosody = prosody
        self.ready = ready
        self.requests: list[str] = []
        self.connected = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", prosody.component_port), timeout=5)

    def run(self) -> None:
        parser = ET.XMLPullParser(events=("start", "end"))
        self.sock.sendall(
            b"<stream:stream xmlns='jabber:component:accept' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='focus.meet.jitsi'>"
        )
        depth = 0
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                parser.feed(data)
                for event, el in parser.read_events():
                    if event == "start":
                        depth += 1
                        if depth == 1:
                            digest = hashlib.sha1(  # XEP-0114 handshake is SHA-1 by spec
                                (el.get("id", "") + self.prosody.focus_secret).encode(),
                                usedforsecurity=False,
                            ).hexdigest()
                            self.sock.sendall(f"<handshake>{digest}</handshake>".encode())
                        continue
                    depth -= 1
                    if depth == 1:
                        self._stanza(el)
        except OSError:
            return

    def _stanza(self, el: ET.Element) -> None:
        name = el.tag.rsplit("}", 1)[-1]
        if name == "handshake":
            self.connected.set()
            return
        conf = el.find("{http://jitsi.org/protocol/focus}conference")
        if name == "iq" and el.get("type") == "set" and conf is not None:
            room = conf.get("room", "")
            self.requests.append(room)
            answer = ET.Element(
                "iq",
                {"type": "result", "id": el.get("id", ""), "to": el.get("from", "")},
            )
            answer.set("from", el.get("to", ""))
            ET.SubElement(
                answer,
                "conference",
                {
                    "xmlns": "http://jitsi.org/protocol/focus",
                    "room": room,
                    "ready": "true" if self.ready else "false",
                    "focusjid": "focus@auth.meet.jitsi",
                },
            )
            self.sock.sendall(ET.tostring(answer))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"</stream:stream>")
            self.sock.close()
        self.join(5)


@pytest.fixture
def focus(prosody: Prosody) -> Iterator[FakeFocus]:
    component = FakeFocus(prosody)
    component.start()
    assert component.connected.wait(5), "prosody did not accept the focus component"
    yield component
    component.stop()


def muc_rooms(prosody: Prosody) -> list[str]:
    """disco#items on the MUC service, from a separate anonymous session."""
    return open_rooms(prosody.url + "/http-bind", "meet.jitsi", "muc.meet.jitsi", 5)


def test_disco_items_sees_an_open_room(prosody: Prosody) -> None:
    """Positive control: the 'no rooms left' assertions below can see rooms at all."""
    client = BoshClient(prosody.url + "/http-bind", "meet.jitsi", Deadline(5))
    room = f"control-{secrets.token_hex(4)}@muc.meet.jitsi"
    try:
        client.connect()
        client.login_anonymous()
        client.bind()
        assert "110" in client.join_room(room, "control")
        assert room in muc_rooms(prosody)
        client.leave_room(room, "control")
    finally:
        client.terminate()
    assert room not in muc_rooms(prosody)


def test_bosh_and_websocket_against_real_prosody(prosody: Prosody, focus: FakeFocus) -> None:
    target = local_target(prosody.url, timeout=5.0)
    results = by_name(run_checks(target, only=["bosh", "websocket"]))
    bosh, ws = results["bosh"], results["websocket"]
    assert bosh.status == "pass", bosh
    assert "session → SASL ANONYMOUS → bind → conference request → join → leave" in bosh.detail
    assert "room created" in bosh.detail
    (room,) = focus.requests  # the probe asked the focus first, as jitsi-meet does
    assert room.startswith("jitsi-stack-probe-") and room.endswith("@muc.meet.jitsi")
    assert room.split("@")[0] in bosh.detail
    assert ws.status == "pass", ws
    assert "subprotocol=xmpp" in ws.detail
    assert "ANONYMOUS" in ws.detail
    # nothing left behind: no room, no account
    assert muc_rooms(prosody) == []
    assert not list(prosody.data_dir.rglob("accounts"))


def test_bosh_without_focus_blames_jicofo_and_joins_nothing(prosody: Prosody) -> None:
    (result,) = run_checks(local_target(prosody.url, timeout=5.0), only=["bosh"])
    assert result.status == "fail"
    assert "session → SASL ANONYMOUS → bind ok" in result.detail
    assert "focus.meet.jitsi did not answer the conference request" in result.cause
    assert "jicofo is not connected to prosody" in result.cause
    assert muc_rooms(prosody) == []


def test_bosh_focus_not_ready_fails(prosody: Prosody) -> None:
    component = FakeFocus(prosody, ready=False)
    component.start()
    assert component.connected.wait(5)
    try:
        (result,) = run_checks(local_target(prosody.url, timeout=2.0), only=["bosh"])
    finally:
        component.stop()
    assert result.status == "fail"
    assert "ready=false" in result.detail
    assert len(component.requests) >= 2  # retried with the web client's back-off
    assert muc_rooms(prosody) == []


def test_bosh_without_guests_warns(prosody: Prosody) -> None:
    target = local_target(prosody.url, anonymous_domain=None)
    (result,) = run_checks(target, only=["bosh"])
    assert result.status == "warn"
    assert "login skipped" in result.detail


def test_wrong_xmpp_domain_is_explained(prosody: Prosody) -> None:
    target = local_target(prosody.url, xmpp_domain="nope.example", anonymous_domain="nope.example")
    results = by_name(run_checks(target, only=["bosh", "websocket"]))
    for name in ("bosh", "websocket"):
        assert results[name].status == "fail", results[name]
        assert "does not serve the XMPP domain 'nope.example'" in results[name].cause
