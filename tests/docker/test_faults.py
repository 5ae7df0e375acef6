"""Faults on a running testbed stack: killed services, taken ports (IPv4 and IPv6), Ctrl-C
at several points of render, start, update and rotate-secrets, two renders and two starts
at once, damaged state files. After each, `inv start` brings the stack back healthy and no
secret or state is lost; no secret is printed on the way."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jitsi_stack.store import paths, secrets
from tests.support.project import (
    REPO,
    clean_environ,
    containers,
    force_down,
    inv,
    networks,
    stand_in_settings,
    started_stack,
    status_json,
    wait_for,
    write_settings,
)

pytestmark = pytest.mark.docker

PROJECT = "jsfaults"
HTTP = 19043
SETTINGS = stand_in_settings(PROJECT, HTTP, 10710, 19080, 19088, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("faults") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def healthy(base: Path) -> bool:
    return status_json(base)[0] == 0


def recovered(base: Path, stored: dict[str, str]) -> None:
    """`inv start` brings everything back; the secrets are the ones we had."""
    proc = inv(base, "start")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert healthy(base)
    assert secrets.read(base) == stored
    env = (base / paths.ENV_FILE).read_text()
    assert all(f"{name}={value}" in env for name, value in stored.items())


def no_secret(proc: subprocess.CompletedProcess, stored: dict[str, str]) -> None:
    text = (proc.stdout or "") + (proc.stderr or "")
    assert not [v for v in stored.values() if v in text]
    assert "Traceback" not in text


def crash(container: str) -> None:
    """A crash, not `docker kill` (which Docker counts as a manual stop: no restart)."""
    pid = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Pid}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("service", ["jvb", "prosody"])
def test_a_crashed_service_shows_and_start_brings_it_back(stack, service):
    stored = secrets.read(stack)
    crash(f"{PROJECT}-{service}")
    assert wait_for(lambda: not healthy(stack), 15, step=0.3)
    code, data = status_json(stack)
    assert code == 1 and data["ok"] is False
    recovered(stack, stored)


def _holder(family: int, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))  # noqa: S104
    sock.listen()
    return sock


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_a_taken_host_port_stops_start_before_anything_changes(tmp_path, testbed_images, family):
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    base = tmp_path / "project"
    base.mkdir()
    project = "jsfaultport"
    write_settings(
        base,
        SETTINGS.replace(PROJECT, project)
        .replace(str(HTTP), "19143")
        .replace("10710", "10810")
        .replace("19080", "19180")
        .replace("19088", "19188"),
    )
    force_down(project)
    try:
        holder = _holder(family, 19143)
    except OSError:
        pytest.skip("cannot bind the IPv6 wildcard here")
    try:
        proc = inv(base, "start")
    finally:
        holder.close()
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    suffix = " (IPv6)" if family == socket.AF_INET6 else ""
    assert len(errors) == 1 and errors[0].startswith(
        f"error: host port 19143{suffix}/tcp is already in use (setting ports.http)"
    ), errors
    assert containers(project) == {}


def test_ctrl_c_while_files_are_written_never_reads_as_a_hand_edit(tmp_path):
    """Interrupt a render after each of its writes; the next render finishes the job."""
    from jitsi_stack.deployment import build
    from jitsi_stack.render import apply
    from jitsi_stack.settings import project
    from jitsi_stack.store import files

    base = tmp_path / "project"
    base.mkdir()
    write_settings(base, SETTINGS)
    apply.apply(build(project.load(base, environ={})))
    stored = secrets.read(base)
    real = files.write_atomic
    for stop_after in range(1, 7):
        write_settings(
            base,
            SETTINGS + f"features: {{welcome_page: {stop_after % 2 == 0}}}\n"
            f"timezone: {'UTC' if stop_after % 3 else 'Europe/Berlin'}\n",
        )

        def interrupted(*args, _count={"n": 0}, _stop=stop_after, **kwargs):  # noqa: B006
            _count["n"] += 1
            if _count["n"] > _stop:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        files.write_atomic = interrupted
        try:
            with pytest.raises(KeyboardInterrupt):
                apply.apply(build(project.load(base, environ={})))
        except pytest.fail.Exception:
            pass  # this render had fewer writes than stop_after: it finished
        finally:
            files.write_atomic = real
        report = apply.apply(build(project.load(base, environ={})))  # no "hand edits" refusal
        assert secrets.read(base) == stored
        assert apply.apply(build(project.load(base, environ={}))).written == []
        assert report.backups == []


def _interrupt(base: Path, argv: list[str], after: float) -> subprocess.CompletedProcess:
    env = clean_environ(JITSI_STACK_ROOT=str(base))
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "-r", str(REPO), *argv],
        cwd=base,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Count from a sign of the task itself, not from the spawn: on a busy machine 0.2 s
    # after the spawn Python may still be importing Invoke, and a Ctrl-C there is Python's
    # own traceback, not one of our tasks being cut. The task names itself in the project
    # lock file (lock.hold: "inv TASK, pid PID, ...") once it runs.
    lock = base / paths.LOCK
    sign = f"pid {proc.pid},"

    def task_runs() -> bool:
        try:
            return sign in lock.read_text()
        except OSError:
            return False

    started = wait_for(lambda: task_runs() or proc.poll() is not None, 120, step=0.005)
    assert started, f"inv {' '.join(argv)} never took the project lock"
    if proc.poll() is None:  # still running: cut it `after` seconds into the task
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.parametrize("after", [0.0, 0.5, 2.0])
def test_ctrl_c_during_start_restart_and_rotate_then_start_recovers(stack, after):
    stored = secrets.read(stack)
    for argv in (["restart"], ["start"]):
        proc = _interrupt(stack, argv, after)
        no_secret(proc, stored)
    recovered(stack, stored)
    rotated = _interrupt(stack, ["rotate-secrets", "--yes"], after)
    no_secret(rotated, stored)
    now = secrets.read(stack)
    assert set(now) == set(stored)  # old or new, all six, never a mix written half
    proc = inv(stack, "start")  # wherever rotation was cut, start finishes it
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert wait_for(lambda: healthy(stack), 90)
    no_secret(proc, {**stored, **secrets.read(stack)})


@pytest.mark.parametrize("after", [1.0, 6.0])
def test_ctrl_c_during_update_rolls_back_or_says_how(stack, after):
    stored = secrets.read(stack)
    proc = _interrupt(stack, ["update", "--tag", "broken"], after)
    no_secret(proc, stored)
    state = json.loads((stack / paths.STATE).read_text()) if (stack / paths.STATE).exists() else {}
    status = inv(stack, "status")
    if state.get("pending"):  # the rollback itself was cut short: status names the command
        assert "was interrupted: run `inv update --rollback` to return to good" in status.stderr
        back = inv(stack, "update", "--rollback")
        assert back.returncode == 0, back.stdout + back.stderr
    else:
        assert state.get("overrides", {}).get("images.tag", {}).get("value") in (None, "good")
    assert wait_for(lambda: healthy(stack), 120)
    assert {r["tag"] for r in status_json(stack)[1]["services"]} == {"good"}
    assert secrets.read(stack) == stored


def test_two_renders_at_once_on_a_fresh_root_agree_on_the_passwords(tmp_path):
    base = tmp_path / "fresh"
    base.mkdir()
    write_settings(base, SETTINGS)
    results: list[subprocess.CompletedProcess] = []

    def run() -> None:
        results.append(inv(base, "render"))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.returncode == 0]
    assert ok, [r.stderr for r in results]
    for r in results:
        if r.returncode:
            assert "another jitsi-stack task is working on this project" in r.stderr
    stored = secrets.read(base)
    env = (base / paths.ENV_FILE).read_text()
    assert all(f"{name}={value}" in env for name, value in stored.items())
    assert inv(base, "render", "--check").returncode == 0


def test_two_starts_at_once_make_one_network(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    project = "jsfaulttwo"
    write_settings(
        base,
        SETTINGS.replace(PROJECT, project)
        .replace(str(HTTP), "19243")
        .replace("10710", "10910")
        .replace("19080", "19280")
        .replace("19088", "19288"),
    )
    force_down(project)
    results: list[subprocess.CompletedProcess] = []
    threads = [
        threading.Thread(target=lambda: results.append(inv(base, "start"))) for _ in range(2)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.returncode for r in results)[0] == 0, [r.stderr for r in results]
        assert len(networks(f"{project}-network")) == 1
        assert inv(base, "start").returncode == 0
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(project)
        subprocess.run(
            ["docker", "network", "rm", f"{project}-jitsi-internal"], capture_output=True
        )


@pytest.mark.parametrize(
    ("rel", "damage"),
    [
        (paths.STATE, '{"overrides": {"images.tag": {"val'),
        (paths.STATE, "[]"),
        (paths.MANIFEST, '{"files": []}'),
        (paths.SECRETS, b"\xff\xfe\x00"),
    ],
)
def test_a_damaged_state_file_stops_start_and_its_recovery_works(stack, rel, damage):
    stored = secrets.read(stack)
    path = stack / rel
    original = path.read_bytes() if path.exists() else None
    before = containers(PROJECT)
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        path.write_text(damage)
    proc = inv(stack, "start")
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {rel}:"), proc.stderr
    assert containers(PROJECT) == before  # nothing was touched
    no_secret(proc, stored)
    # the recovery the line names: delete it (state, manifest) or restore it (secrets)
    if rel == paths.SECRETS:
        path.write_bytes(original)
    else:
        path.unlink()
        if rel == paths.MANIFEST:
            assert inv(stack, "render", "--force").returncode == 0
    recovered(stack, stored)
