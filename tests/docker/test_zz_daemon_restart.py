"""The Docker daemon restarted under a running stack (last in the Docker tests: it restarts
the engine everything else uses). It runs where JSTEST_DAEMON_RESTART=1 says the daemon
may be restarted (CI starts its own); elsewhere it is skipped, loudly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jitsi_stack.store import secrets
from tests.support.project import (
    force_down,
    inv,
    stand_in_settings,
    status_json,
    wait_for,
    write_settings,
)

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        os.environ.get("JSTEST_DAEMON_RESTART") != "1",
        reason="SKIPPED: restarting the Docker daemon needs JSTEST_DAEMON_RESTART=1 (set in CI)",
    ),
]

PROJECT = "jsdaemon"
SETTINGS = stand_in_settings(PROJECT, 19343, 11010, 19380, 19388)


def docker_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def restart_dockerd() -> None:
    """SIGTERM the daemon, wait for it to go, start it again with the same command line."""
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    assert len(pids) == 1, f"expected one dockerd, found {pids}"
    pid = int(pids[0])
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not Path(f"/proc/{pid}").exists(), 60, step=0.5), "dockerd did not stop"
    with open("/tmp/jstest-dockerd.log", "ab") as log:  # the CI machine's log
        subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    assert wait_for(docker_answers, 90, step=1.0), "dockerd did not come back"


def test_a_restarted_daemon_leaves_a_stack_that_start_brings_back(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    write_settings(base, SETTINGS)
    force_down(PROJECT)
    try:
        assert inv(base, "start").returncode == 0
        stored = secrets.read(base)
        restart_dockerd()
        time.sleep(2)
        proc = inv(base, "start")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert status_json(base)[0] == 0
        assert secrets.read(base) == stored
        smoke = inv(base, "smoke")
        assert smoke.returncode == 0, smoke.stdout
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(PROJECT)
        subprocess.run(
            ["docker", "network", "rm", f"{PROJECT}-jitsi-internal"], capture_output=True
        )
