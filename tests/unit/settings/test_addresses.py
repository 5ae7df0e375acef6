"""jvb.advertise_ips: auto: STUN messages read right, detection stored once and reused,
stale or unreachable cases named in one line. The STUN server here is a small RFC 5389
responder on 127.0.0.1; tests/docker/test_callcenter.py asks the real coturn."""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path

import pytest

from jitsi_stack.settings.addresses import (
    MAGIC,
    binding_request,
    lan_address,
    parse_binding_response,
)
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings

TX = bytes(range(12))


def response(address: str, port: int = 40000, *, xor: bool = True, kind: int = 0x0101) -> bytes:
    raw = socket.inet_aton(address)
    if xor:
        raw = bytes(b ^ m for b, m in zip(raw, struct.pack("!I", MAGIC), strict=True))
        port ^= MAGIC >> 16
    attr = struct.pack("!HH", 0x0020 if xor else 0x0001, 8) + bytes([0, 1])
    attr += struct.pack("!H", port) + raw
    software = b"coturn"  # an unknown attribute before the address, padded to 4 bytes
    extra = struct.pack("!HH", 0x8022, len(software)) + software + b"\0\0"
    body = extra + attr
    return struct.pack("!HHI", kind, len(body), MAGIC) + TX + body


def test_a_binding_request_is_rfc5389():
    message = binding_request(TX)
    assert message == struct.pack("!HHI", 1, 0, MAGIC) + TX


@pytest.mark.parametrize("xor", [True, False])
def test_the_mapped_address_is_read_xor_or_plain(xor):
    assert parse_binding_response(response("203.0.113.7", xor=xor), TX) == "203.0.113.7"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x01", "short STUN message"),
        (response("203.0.113.7")[:8] + bytes(12) + response("203.0.113.7")[20:], "not an answer"),
        (response("203.0.113.7", kind=0x0111), r"STUN error response \(type 0x0111\)"),
        (struct.pack("!HHI", 0x0101, 0, MAGIC) + TX, "without a mapped address"),
    ],
)
def test_bad_answers_are_named(data, message):
    with pytest.raises(ValueError, match=message):
        parse_binding_response(data, TX)


def test_the_lan_address_is_a_real_non_loopback_address_or_none():
    found = lan_address()
    if found is not None:
        assert not found.startswith("127.")
        socket.inet_aton(found)


class Stun:
    """A UDP STUN responder: answers every Binding request with a fixed address."""

    def __init__(self, answer: str = "198.51.100.20") -> None:
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            self.requests += 1
            tx = data[8:20]
            raw = bytes(
                b ^ m
                for b, m in zip(
                    socket.inet_aton(self.answer), struct.pack("!I", MAGIC), strict=True
                )
            )
            attr = struct.pack("!HH", 0x0020, 8) + bytes([0, 1])
            attr += struct.pack("!H", peer[1] ^ (MAGIC >> 16)) + raw
            try:
                self.sock.sendto(struct.pack("!HHI", 0x0101, len(attr), MAGIC) + tx + attr, peer)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def stun():
    server = Stun()
    yield server
    server.close()


def project(root: Path, stun_port: int, extra: str = "") -> Path:
    write_settings(
        root,
        f"jvb: {{advertise_ips: [auto, 192.168.1.50], stun_server: '127.0.0.1:{stun_port}'}}\n"
        + extra,
    )
    seed_secrets(root)
    return root


def advertised(root: Path) -> list[str]:
    env = (root / "jitsi-meet" / ".env").read_text()
    line = next(x for x in env.splitlines() if x.startswith("JVB_ADVERTISE_IPS="))
    return line.split("=", 1)[1].split(",")


def test_render_detects_once_stores_and_then_needs_no_network(root, stun):
    project(root, stun.port)
    first = run_cli(root, "render")
    assert first.returncode == 0, first.stderr
    ips = advertised(root)
    assert ips[0] == "198.51.100.20"  # the public address the STUN server saw, first
    assert ips[-1] == "192.168.1.50"  # the listed one keeps its place
    stored = json.loads((root / ".jitsi-stack" / "state.json").read_text())["addresses"]
    assert stored["public"] == ["198.51.100.20"] and stored["stun"] == f"127.0.0.1:{stun.port}"
    assert stun.requests == 1
    stun.close()  # from now on, no STUN server at all
    again = run_cli(root, "render", "--check")
    assert again.returncode == 0, again.stderr
    config = json.loads(run_cli(root, "config", "--json").stdout)["settings"]["jvb.advertise_ips"]
    assert config["value"][0] == "198.51.100.20"
    assert config["source"].startswith(f"state:inv addresses (via 127.0.0.1:{stun.port}, ")


def test_addresses_shows_each_address_and_where_it_came_from(root, stun):
    project(root, stun.port)
    out = run_cli(root, "addresses", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["advertise_ips"]
    assert rows[0] == {
        "address": "198.51.100.20",
        "scope": "public",
        "source": rows[0]["source"],
    }
    assert rows[0]["source"].startswith(f"public: STUN server 127.0.0.1:{stun.port}")
    assert rows[-1] == {
        "address": "192.168.1.50",
        "scope": "private",
        "source": "jvb.advertise_ips",
    }


def test_refresh_without_an_answer_is_one_line_and_keeps_what_was_stored(root, stun):
    project(root, stun.port)
    assert run_cli(root, "render").returncode == 0
    stun.close()
    before = tree_snapshot(root)
    out = run_cli(root, "addresses", "--refresh")
    assert out.returncode == 1
    assert out.lines == [
        f"error: jvb.stun_server: no answer from 127.0.0.1:{stun.port} over UDP in 3.5s: check "
        "the server and the firewall, or list the public address in jvb.advertise_ips"
    ]
    assert tree_snapshot(root) == before


def test_another_stun_server_makes_the_stored_result_stale(root, stun):
    project(root, stun.port)
    assert run_cli(root, "render").returncode == 0
    other = Stun("198.51.100.99")
    try:
        project(root, other.port)
        status = run_cli(root, "config")
        assert any("auto is not detected yet for this jvb.stun_server" in x for x in status.lines)
        assert run_cli(root, "render").returncode == 0
        assert advertised(root)[0] == "198.51.100.99"
    finally:
        other.close()


def test_dry_run_detects_but_stores_and_writes_nothing(root, stun):
    project(root, stun.port)
    before = tree_snapshot(root)
    out = run_cli(root, "--dry", "render")
    assert out.returncode == 0, out.stderr
    assert tree_snapshot(root) == before


def test_damaged_stored_addresses_are_one_line(root, stun):
    project(root, stun.port)
    assert run_cli(root, "render").returncode == 0
    path = root / ".jitsi-stack" / "state.json"
    data = json.loads(path.read_text())
    data["addresses"]["public"] = ["not-an-ip"]
    path.write_text(json.dumps(data))
    out = run_cli(root, "render")
    assert out.returncode == 1
    assert len(out.lines) == 1
    assert "'addresses.public' must be a list of IP addresses" in out.lines[0]


class Chatter:
    """A UDP peer that answers every datagram with a stream of unrelated ones (junk, then
    well-formed STUN answers to other transactions), every 50 ms until closed."""

    def __init__(self, junk: tuple[bytes, ...]) -> None:
        self.junk = junk
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        try:
            _, peer = self.sock.recvfrom(2048)
        except OSError:
            return
        while not self.stop.wait(0.05):
            try:
                self.sock.sendto(self.junk[self.sent % len(self.junk)], peer)
            except OSError:
                return
            self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


JUNK = {
    # each used to restart the try's timeout: detection waited for ever
    "not-stun": (b"hello, this is not STUN", response("198.51.100.7")),
    # each used to abort detection ("answered badly: short STUN message")
    "short": (b"\x00" * 8, b"\x01\x01"),
}


@pytest.mark.parametrize("junk", list(JUNK.values()), ids=list(JUNK))
def test_a_peer_that_keeps_sending_junk_cannot_hold_detection(junk):
    """Datagrams that are no answer to our request are ignored, and every try ends at its
    own deadline however many arrive (3.5 s in all, as with a silent server)."""
    import time

    from jitsi_stack.errors import StackError
    from jitsi_stack.settings.addresses import RETRIES, stun_public

    peer = Chatter(junk)
    started = time.monotonic()
    try:
        with pytest.raises(StackError) as err:
            stun_public(f"127.0.0.1:{peer.port}")
    finally:
        peer.close()
    took = time.monotonic() - started
    assert sum(RETRIES) - 0.2 <= took < sum(RETRIES) + 1.5, took
    assert peer.sent > 20  # the junk really kept coming
    assert str(err.value).startswith(f"jvb.stun_server: no answer from 127.0.0.1:{peer.port}")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an answer to refuse
        ("169.254.1.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
    ],
)
def test_a_stun_answer_that_cannot_carry_media_is_refused_before_anything_is_written(
    root, answer, kind
):
    server = Stun(answer)
    try:
        project(root, server.port, "public_url: https://meet.example.com\n")
        before = tree_snapshot(root)
        out = run_cli(root, "render")
    finally:
        server.close()
    assert out.returncode == 1
    assert out.lines == [
        f"error: jvb.stun_server: 127.0.0.1:{server.port} answered {answer}, a {kind} address, "
        "which cannot carry media to browsers: ask a STUN server outside this host's networks, "
        "or list the public address in jvb.advertise_ips"
    ]
    assert tree_snapshot(root) == before


def test_a_loopback_stun_answer_is_kept_when_the_public_url_is_local_too(root):
    server = Stun("127.0.0.1")
    try:
        project(root, server.port, "public_url: http://localhost:8443\n")
        out = run_cli(root, "render")
    finally:
        server.close()
    assert out.returncode == 0, out.lines
    assert advertised(root)[0] == "127.0.0.1"


@pytest.mark.parametrize("value", ["auto", "'auto'", "'auto, 192.168.1.50'"])
def test_auto_without_brackets_is_refused_before_detection_or_a_write(root, stun, value):
    write_settings(root, f"jvb: {{advertise_ips: {value}, stun_server: '127.0.0.1:{stun.port}'}}\n")
    seed_secrets(root)
    before = tree_snapshot(root)
    for argv in (("render",), ("addresses", "--refresh"), ("start",)):
        out = run_cli(root, *argv)
        assert (out.returncode, out.lines) == (
            2,
            ["error: jvb.advertise_ips: must be a list of text values, e.g. [a, b]"],
        ), argv
    assert stun.requests == 0
    assert tree_snapshot(root) == before
