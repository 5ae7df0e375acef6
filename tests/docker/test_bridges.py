"""Several bridges on one host, on the testbed: each healthy with its own port, all in
jicofo's brewery (smoke counts them), a change of jvb.count touches only the bridges it
adds or removes, and jvb / jvbN targets address all or one."""

from __future__ import annotations

import json

import pytest

from tests.support.project import inv, stand_in_settings, started_stack, write_settings

pytestmark = pytest.mark.docker

PROJECT = "jsbr"
PORT = 19843


def settings(count: int) -> str:
    return stand_in_settings(PROJECT, PORT, 19810, 19880, 19888) + f"jvb: {{count: {count}}}\n"


def containers_by_service(base) -> dict[str, dict]:
    status = json.loads(inv(base, "status", "--json").stdout)
    return {row["service"]: row for row in status["services"]}


def ids(base) -> dict[str, str]:
    """compose service -> container id, for every container of the project."""
    import subprocess

    fmt = '{{.Label "com.docker.compose.service"}} {{.ID}}'
    label = f"label=com.docker.compose.project={PROJECT}"
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", label, "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("bridges") / "project"
    with started_stack(folder, PROJECT, settings(2)) as (base, _):
        yield base


def test_two_bridges_run_healthy_and_jicofo_counts_both(stack):
    rows = containers_by_service(stack)
    assert rows["jitsi-jvb"]["ok"] and rows["jitsi-jvb2"]["ok"], rows
    assert "19810->19810/udp" in rows["jitsi-jvb"]["ports"]
    assert "19811->19811/udp" in rows["jitsi-jvb2"]["ports"]
    proc = inv(stack, "smoke", "--json", "--only", "jicofo-health,jvb-health,jvb-udp,focus")
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, results
    assert "2 of 2 bridges operational" in results["jicofo-health"]["detail"]
    assert results["jvb-health"]["detail"].startswith("all 2 bridges healthy")
    assert "jitsi-jvb2 19811/udp published" in results["jvb-udp"]["detail"]


def test_smoke_fails_when_a_bridge_is_missing(stack):
    assert inv(stack, "stop", "jvb2").returncode == 0
    try:
        proc = inv(stack, "smoke", "--json", "--only", "jvb-health,focus")
        results = {r["name"]: r for r in json.loads(proc.stdout)}
    finally:
        assert inv(stack, "start").returncode == 0
    assert proc.returncode == 1
    assert results["jvb-health"]["status"] == "fail"
    assert results["jvb-health"]["detail"].startswith("jitsi-jvb2: ")


def test_more_bridges_create_only_the_new_one_and_fewer_remove_only_the_extra(stack):
    before = ids(stack)
    write_settings(stack, settings(3))
    assert inv(stack, "start").returncode == 0
    after = ids(stack)
    assert set(after) == set(before) | {"jitsi-jvb3"}
    for service, container in before.items():
        assert after[service] == container, f"{service} was recreated"
    write_settings(stack, settings(2))
    assert inv(stack, "start").returncode == 0
    final = ids(stack)
    assert set(final) == set(before)
    assert all(final[s] == before[s] for s in before)


def test_jvb_targets_all_bridges_and_jvb2_one(stack):
    before = ids(stack)
    assert inv(stack, "restart", "jvb2").returncode == 0
    after = ids(stack)
    assert after["jitsi-jvb2"] != before["jitsi-jvb2"]
    assert after["jitsi-jvb"] == before["jitsi-jvb"]
    logs = inv(stack, "logs", "jvb", "--tail", "5")
    assert logs.returncode == 0
    prefixes = {line.split("|", 1)[0].strip() for line in logs.stdout.splitlines() if "|" in line}
    assert {f"{PROJECT}-jvb", f"{PROJECT}-jvb2"} <= prefixes, prefixes  # container names


def test_status_watch_json_is_one_document_per_refresh_until_ctrl_c(stack):
    import signal
    import subprocess
    import sys

    from tests.support.project import REPO, clean_environ

    env = clean_environ(JITSI_STACK_ROOT=str(stack))
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "-r", str(REPO), "status", "--watch", "1", "--json"],
        cwd=stack,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        docs = [json.loads(proc.stdout.readline()) for _ in range(2)]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert docs[0]["time"] <= docs[1]["time"]  # ISO 8601, UTC
    for doc in docs:
        assert doc["ok"] is True and doc["meetings"]["bridges_operational"] == 2, doc
        assert [b["service"] for b in doc["meetings"]["bridges"]] == ["jitsi-jvb", "jitsi-jvb2"]
    assert "Traceback" not in out + err


def test_status_shows_the_meetings_and_each_bridges_load(stack):
    """A guest holds a room open: jicofo counts it; every bridge reports version and stress."""
    from jitsi_stack.smoke.xmpp import BoshClient, Deadline

    client = BoshClient(f"http://localhost:{PORT}/http-bind", "meet.jitsi", Deadline(20))
    room = "supervisor-view@muc.meet.jitsi"
    try:
        client.connect()
        client.login_anonymous()
        client.bind()
        assert client.conference_request(room, "focus.meet.jitsi").ready
        nick = (client.jid or "guest").split("@", 1)[0][:8]
        client.join_room(room, nick)
        status = json.loads(inv(stack, "status", "--json").stdout)
        table = inv(stack, "status").stdout
    finally:
        client.terminate()
    view = status["meetings"]
    assert view["conferences"] == 1 and view["participants"] >= 1, view
    assert (view["bridges_operational"], view["bridges_total"]) == (2, 2)
    assert [b["service"] for b in view["bridges"]] == ["jitsi-jvb", "jitsi-jvb2"]
    assert all(b["version"] != "-" and b["stress"] == 0.0 for b in view["bridges"]), view
    assert "meetings: 1 conference(s)" in table and "jitsi-jvb2" in table


def test_three_bridges_pass_smoke_then_one_removes_two_and_recreates_nothing_else(stack):
    """The issue's sequence: jvb.count 3 healthy, jicofo counts three operational bridges in
    the brewery, the whole smoke passes; then jvb.count 1 removes jvb2 and jvb3 only."""
    write_settings(stack, settings(3))
    assert inv(stack, "start").returncode == 0
    proc = inv(stack, "smoke", "--json")
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, results
    assert "3 of 3 bridges operational" in results["jicofo-health"]["detail"]
    assert results["jvb-health"]["detail"].startswith("all 3 bridges healthy")
    before = ids(stack)
    assert {"jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"} <= set(before)
    write_settings(stack, settings(1))
    assert inv(stack, "start").returncode == 0
    after = ids(stack)
    assert set(after) == set(before) - {"jitsi-jvb2", "jitsi-jvb3"}
    for service, container in after.items():
        assert container == before[service], f"{service} was recreated"
    proc = inv(stack, "smoke", "--json", "--only", "jicofo-health,jvb-health,focus")
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, results
    assert "1 of 1 bridge" in results["jicofo-health"]["detail"], results["jicofo-health"]
