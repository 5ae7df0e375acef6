"""Real Compose v2 reads the rendered files exactly; the availability check on a real engine."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jitsi_stack.docker import Runner
from jitsi_stack.errors import DaemonUnreachable
from jitsi_stack.ops.preflight import check_docker
from jitsi_stack.settings import project
from tests.golden.test_golden import render_case
from tests.support.project import FIXED_SECRETS, run_cli

pytestmark = pytest.mark.docker


def test_hostile_values_reach_the_container_exactly(root):
    """Real Compose v2 parses the rendered files and gives each container the exact value."""
    render_case(root, "hostile")
    s = project.load(root, environ={})
    proc = subprocess.run(
        ["docker", "compose", "config", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(proc.stdout)
    environment = config["services"]["jitsi-jigasi"]["environment"]
    prosody = config["services"]["jitsi-prosody"]["environment"]

    def value(raw):  # `config` writes a literal $ as $$ (its own escaping for re-use as YAML)
        return raw.replace("$$", "$")

    assert value(environment["JIGASI_SIP_PASSWORD"]) == s["sip.password"]
    assert value(prosody["JWT_APP_SECRET"]) == s["auth.jwt.app_secret"]
    assert value(environment["JIGASI_XMPP_PASSWORD"]) == FIXED_SECRETS["JIGASI_XMPP_PASSWORD"]
    assert "JWT_APP_SECRET" not in config["services"]["jitsi-web"].get("environment", {})
    assert s["sip.password"] not in (root / "docker-compose.yml").read_text()


def test_plain_docker_compose_config_works_after_render(root):
    assert run_cli(root, "render").returncode == 0
    proc = subprocess.run(
        ["docker", "compose", "config", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_real_engine_passes() -> None:
    assert int(check_docker(Runner()).split(".")[0]) >= 2


def test_real_unreachable_socket(monkeypatch) -> None:
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    with pytest.raises(DaemonUnreachable) as err:
        check_docker(Runner())
    assert str(err.value) == (
        "the Docker daemon is not running or unreachable (DOCKER_HOST=unix:///nonexistent.sock): "
        "start it (sudo systemctl start docker) and re-run"
    )


def test_status_on_an_unreachable_daemon_is_one_line(root, monkeypatch) -> None:
    assert run_cli(root, "render").returncode == 0
    proc = run_cli(root, "status", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert proc.returncode == 1
    assert proc.lines == [
        "error: the Docker daemon is not running or unreachable (DOCKER_HOST="
        "unix:///nonexistent.sock): start it (sudo systemctl start docker) and re-run"
    ]


def test_real_permission_denied_as_nobody(tmp_path) -> None:
    """The docker CLI as user nobody against the root-owned default socket."""
    sock = Path("/var/run/docker.sock")
    runuser = shutil.which("runuser")
    if os.geteuid() != 0 or runuser is None or not sock.is_socket():
        pytest.skip("needs root, runuser and /var/run/docker.sock")
    if sock.stat().st_mode & stat.S_IRWXO:
        pytest.skip("docker.sock is world-accessible here")
    wrapper = tmp_path / "docker"
    wrapper.write_text(
        f'#!/bin/sh\nexec {runuser} -u nobody -- env HOME=/tmp {shutil.which("docker")} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    env.pop("DOCKER_HOST", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jitsi_stack.ops.preflight import check_docker; check_docker()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        "cannot talk to the Docker daemon: permission denied on /var/run/docker.sock" in proc.stderr
    )
