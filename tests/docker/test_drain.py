"""Calls survive operations: a guest (a real XMPP client over BOSH) in a conference whose
endpoint is on a bridge; `inv update`, a lower jvb.count and `inv restart` drain that
bridge and wait for the call to end (the test ends it) or jvb.drain_timeout, one bridge at
a time, while the other bridge takes new conferences.

The guest plays jicofo's colibri2 part for its own room (the jicofo stand-in does not
allocate on bridges): a <conference-modify xmlns='jitsi:colibri2'> to the bridge's XMPP
session creates its endpoint, expire='true' ends it, as jicofo does when a participant
leaves (the jvb stand-in, tests/testbed/images/jvb/jvb.py, cites the bridge's source).
Every wait is for a sign: a line of the task's output, a metric, the process's exit."""

from __future__ import annotations

import http.client
import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.project import (
    REPO,
    clean_environ,
    inv,
    stand_in_settings,
    started_stack,
    write_settings,
)

pytestmark = pytest.mark.docker

PROJECT = "jsdrain"
HTTP, MEDIA, COLIBRI, JICOFO = 24443, 12400, 24080, 24888
START = "jsdrain1"  # the testbed images under this module's own tags
TAG = "jsdrain2"  # what `inv update --tag` switches to
SERVICES = ("web", "prosody", "jicofo", "jvb")
COLIBRI2 = "jitsi:colibri2"
BRIDGE_JID = "jvb@auth.meet.jitsi/{nick}"  # the stand-in's resource is its nickname
WAIT = 240  # seconds for a sign of the task before the test gives up


def settings(count: int, timeout: int = 200) -> str:
    return (
        stand_in_settings(PROJECT, HTTP, MEDIA, COLIBRI, JICOFO).replace(
            "tag: good", f"tag: {START}"
        )
        + f"jvb: {{count: {count}, drain_timeout: {timeout}}}\n"
    )


def get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, (port, path, resp.status)
        return resp.read().decode()
    finally:
        conn.close()


def gauge(port: int, name: str) -> float:
    match = re.search(rf"^jitsi_jvb_{name} (\S+)$", get(port, "/metrics"), re.MULTILINE)
    assert match, name
    return float(match.group(1))


def draining(port: int) -> bool:
    return json.loads(get(port, "/colibri/drain"))["drain"]


def ids() -> dict[str, str]:
    fmt = '{{.Label "com.docker.compose.service"}} {{.ID}}'
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=com.docker.compose.project={PROJECT}"]
        + ["--format", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


class Guest:
    """A guest in a room, with its endpoint on a bridge (colibri2 as jicofo sends it)."""

    def __init__(self, room: str) -> None:
        from jitsi_stack.smoke.xmpp import BoshClient, Deadline

        self.client = BoshClient(f"http://localhost:{HTTP}/http-bind", "meet.jitsi", Deadline(60))
        self.room = f"{room}@muc.meet.jitsi"
        self.client.connect()
        self.client.login_anonymous()
        self.client.bind()
        assert self.client.conference_request(self.room, "focus.meet.jitsi").ready
        self.nick = (self.client.jid or "guest").split("@", 1)[0][:8]
        self.client.join_room(self.room, self.nick)

    def colibri(self, nick: str, meeting: str, endpoint: str, *, expire: bool = False) -> None:
        ep = "expire='true'" if expire else "create='true'"
        create = "" if expire else " create='true'"
        payload = (
            f"<conference-modify xmlns='{COLIBRI2}' meeting-id='{meeting}' "
            f"name='{self.room}'{create}><endpoint id='{endpoint}' {ep}/></conference-modify>"
        )
        self.client.iq("set", payload, "colibri2", to=BRIDGE_JID.format(nick=nick))

    def end(self) -> None:
        self.client.leave_room(self.room, self.nick)
        self.client.terminate()


class Task:
    """`inv ARGS` running in the background; its stderr read line by line."""

    def __init__(self, base: Path, *args: str, env: dict | None = None) -> None:
        full = clean_environ(JITSI_STACK_ROOT=str(base), **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
            cwd=base,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.out = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_line(self, pattern: str) -> str:
        """The first line (from now on) matching pattern; fails when the task ends first."""
        while True:
            line = self.queue.get(timeout=WAIT)
            if line is None:
                raise AssertionError(f"task ended before {pattern!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdout is not None  # stderr is the reader thread's alone
        out = self.proc.stdout.read()
        self.proc.wait(timeout=600)
        while (line := self.queue.get(timeout=60)) is not None:
            self.lines.append(line)
        return self.proc.returncode, "\n".join(self.lines) + "\n" + out


def own_tags(*tags: str) -> list[str]:
    """Tag the testbed images as `tags`, the bridge from this tree's stand-in (the one with
    drain): work trees share the engine, and another tree's build may put its own jvb
    stand-in under :good at any time. Returns the references made (to remove after)."""
    from tests.testbed.build import LABEL, build_images, image_ref, sources_hash

    def label(ref: str) -> str:
        return subprocess.run(
            ["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}', ref],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()

    made = []
    for _attempt in range(3):
        if label(image_ref("jvb")) != sources_hash():
            build_images(only=("jvb",))
        for tag in tags:
            for svc in SERVICES:
                ref = image_ref(svc, tag)
                subprocess.run(["docker", "tag", image_ref(svc), ref], check=True)
                made.append(ref)
        if all(label(image_ref("jvb", tag)) == sources_hash() for tag in tags):
            return made
    raise AssertionError("another work tree keeps replacing the jvb stand-in under :good")


@pytest.fixture(scope="module")
def images(testbed_images):
    made = own_tags(START, TAG)
    yield
    subprocess.run(["docker", "image", "rm", *made], capture_output=True, check=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, images):
    folder = tmp_path_factory.mktemp("drain") / "project"
    with started_stack(folder, PROJECT, settings(2)) as (base, _):
        yield base


def test_the_bridge_stand_in_shuts_down_gracefully_as_jvb_does(images):
    """POST /colibri/shutdown only with both REST flags (404 otherwise), JSON only (415),
    graceful-shutdown required (400); graceful with no endpoint: the bridge exits with code
    0 after the shutting-down delay (jvb-finish then stops the container)."""
    name = f"{PROJECT}-shutdown"
    port = 24090
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)

    def run(*env: str) -> None:
        argv = ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080"]
        for pair in ("JVB_AUTH_PASSWORD=x", "XMPP_SERVER=127.0.0.1", *env):
            argv += ["-e", pair]
        subprocess.run([*argv, f"jitsi-stack-testbed/jvb:{START}"], check=True, capture_output=True)

    def post(body: str, ctype: str = "application/json") -> int:
        for _ in range(100):  # the sign: the HTTP API answers (it starts in well under 10 s)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", "/colibri/shutdown", body, {"Content-Type": ctype})
                return conn.getresponse().status
            except (ConnectionError, http.client.HTTPException):
                threading.Event().wait(0.1)
        raise AssertionError("the bridge's HTTP API never answered")

    try:
        run()
        assert post('{"graceful-shutdown": true}') == 404  # the resource is not there
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=True)
        run(
            "COLIBRI_REST_ENABLED=true",
            "SHUTDOWN_REST_ENABLED=true",
            "JVB_TESTBED_SHUTTING_DOWN_DELAY=1",
        )
        assert post('{"graceful-shutdown": true}', "text/plain") == 415
        assert post("{}") == 400
        assert post('{"graceful-shutdown": true}') == 200
        code = subprocess.run(
            ["docker", "wait", name], capture_output=True, text=True, timeout=60, check=True
        )
        assert code.stdout.strip() == "0"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_update_drains_the_bridge_with_a_call_first_and_the_other_takes_new_ones(stack):
    write_settings(stack, settings(2))
    assert inv(stack, "start").returncode == 0
    before = ids()
    guest = Guest("drain-update")
    try:
        guest.colibri("jvb", "m-update", guest.nick)
        assert gauge(COLIBRI, "local_endpoints") == 1.0
        task = Task(stack, "update", "--tag", TAG)
        task.wait_line(r"jitsi-jvb: draining, 1 endpoint\(s\) left")
        # the call goes on: jvb1 is the same container, in drain, its endpoint still there
        assert ids()["jitsi-jvb"] == before["jitsi-jvb"]
        assert draining(COLIBRI) and gauge(COLIBRI, "drain_mode") == 1.0
        assert gauge(COLIBRI, "local_endpoints") == 1.0
        # jvb2 is not draining and takes a new conference meanwhile
        assert not draining(COLIBRI + 1)
        guest.colibri("jvb2", "m-new", "newcomer")
        assert gauge(COLIBRI + 1, "local_endpoints") == 1.0
        guest.colibri("jvb2", "m-new", "newcomer", expire=True)
        stats = json.loads(get(JICOFO, "/stats"))
        assert stats["conferences"] == 1, stats  # the guest's room still runs
        view = json.loads(inv(stack, "status", "--json").stdout)["meetings"]  # what staff see
        assert {b["service"]: b["draining"] for b in view["bridges"]} == {
            "jitsi-jvb": True,
            "jitsi-jvb2": False,
        }
        guest.colibri("jvb", "m-update", guest.nick, expire=True)  # the call ends
    finally:
        guest.end()
    code, output = task.finish()
    assert code == 0, output
    drained1 = output.index("jitsi-jvb: drained after")
    assert drained1 < output.index("jitsi-jvb2: drained after"), output  # one at a time
    assert f"running {TAG}" in output
    status = json.loads(inv(stack, "status", "--json").stdout)
    assert status["ok"], status
    bridges = {r["service"]: r for r in status["services"] if "jvb" in r["service"]}
    assert {r["tag"] for r in bridges.values()} == {TAG}, bridges
    after = ids()
    assert all(after[s] != before[s] for s in ("jitsi-jvb", "jitsi-jvb2"))
    assert not draining(COLIBRI) and not draining(COLIBRI + 1)  # new containers


def test_lowering_the_count_drains_the_bridge_that_goes(stack):
    write_settings(stack, settings(2))
    assert inv(stack, "start").returncode == 0
    before = ids()
    guest = Guest("drain-scale")
    try:
        guest.colibri("jvb2", "m-scale", guest.nick)
        write_settings(stack, settings(1))
        task = Task(stack, "start")
        task.wait_line(r"jitsi-jvb2: draining, 1 endpoint\(s\) left")
        assert ids()["jitsi-jvb2"] == before["jitsi-jvb2"]  # still there, with its call
        assert draining(COLIBRI + 1) and not draining(COLIBRI)
        guest.colibri("jvb", "m-other", "newcomer")  # the bridge that stays takes calls
        guest.colibri("jvb", "m-other", "newcomer", expire=True)
        guest.colibri("jvb2", "m-scale", guest.nick, expire=True)
    finally:
        guest.end()
    code, output = task.finish()
    assert code == 0, output
    assert "jitsi-jvb2: drained after" in output
    after = ids()
    assert "jitsi-jvb2" not in after and after["jitsi-jvb"] == before["jitsi-jvb"]


def test_a_drain_timeout_is_one_line_then_goes_on_or_stops_per_setting(stack):
    write_settings(stack, settings(2, timeout=3))
    assert inv(stack, "start").returncode == 0
    guest = Guest("drain-timeout")
    try:
        guest.colibri("jvb2", "m-timeout", guest.nick)
        before = ids()
        stopped = inv(stack, "restart", "jvb2", env={"JITSI_STACK_JVB__DRAIN_ON_TIMEOUT": "stop"})
        assert stopped.returncode == 1, stopped.stderr
        timeouts = [ln for ln in stopped.stderr.splitlines() if "jvb.drain_timeout (3s)" in ln]
        assert len(timeouts) == 2, stopped.stderr  # the warning, then the error
        assert "1 endpoint(s) left: stopping" in timeouts[0]
        assert ids()["jitsi-jvb2"] == before["jitsi-jvb2"]  # left running ...
        assert not draining(COLIBRI + 1)  # ... and out of drain
        assert gauge(COLIBRI + 1, "local_endpoints") == 1.0
        went_on = inv(stack, "restart", "jvb2")
        assert went_on.returncode == 0, went_on.stderr
        lines = [ln for ln in went_on.stderr.splitlines() if "jvb.drain_timeout (3s)" in ln]
        assert lines == [
            "warning: jitsi-jvb2: jvb.drain_timeout (3s) passed with 1 endpoint(s) left: "
            "going on: its calls drop"
        ], went_on.stderr
        assert ids()["jitsi-jvb2"] != before["jitsi-jvb2"]
        assert gauge(COLIBRI + 1, "local_endpoints") == 0.0  # the call dropped
    finally:
        guest.end()


def test_stop_drains_then_stops_and_no_drain_stops_at_once(stack):
    write_settings(stack, settings(2))
    assert inv(stack, "start").returncode == 0
    proc = inv(stack, "stop", "jvb")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.index("jitsi-jvb: drained after") < proc.stderr.index(
        "jitsi-jvb2: drained after"
    )
    assert "no other bridge runs" in proc.stderr  # jvb2 was the last one
    assert inv(stack, "start").returncode == 0
    quick = inv(stack, "stop", "jvb2", "--no-drain")
    assert quick.returncode == 0 and ": drained after" not in quick.stderr, quick.stderr
    assert "jitsi-jvb2" not in ids()
    assert inv(stack, "start").returncode == 0
