"""Fidelity fixes on a real engine: jicofo's and the bridge's APIs are out of the platform's
reach while health and smoke still work; the transcriber's XMPP test tells a connected
container from one that is not."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.golden.test_golden import render_case
from tests.support.project import inv, stand_in_settings, started_stack

pytestmark = pytest.mark.docker

PROJECT = "jsfidelity"
SETTINGS = stand_in_settings(PROJECT, 18943, 10610, 18980, 18988)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("fidelity") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def on_platform_network(*cmd: str) -> subprocess.CompletedProcess:
    """Run cmd in a throwaway container on the network the platform's services share."""
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            f"{PROJECT}-network",
            "--entrypoint",
            cmd[0],
            "jitsi-stack-testbed/web:good",
            *cmd[1:],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_jicofo_and_bridge_apis_are_not_reachable_from_the_platform_network(stack):
    # prosody and web are there (the platform's frontend and backend may need them) ...
    assert on_platform_network(
        "curl", "-fsS", "-o", "/dev/null", "http://xmpp.meet.jitsi:5280/http-bind"
    ).returncode in (0, 22)
    # ... jicofo and jvb are not: their names do not even resolve there
    for url in ("http://jitsi-jicofo:8888/about/health", "http://jitsi-jvb:8080/about/health"):
        proc = on_platform_network("curl", "-sS", "--max-time", "5", "-o", "/dev/null", url)
        assert proc.returncode != 0, url
        assert "resolve" in proc.stderr.lower(), proc.stderr
    # while the host's loopback ports, the healthchecks and smoke still see them
    host = subprocess.run(
        ["curl", "-fsS", "http://127.0.0.1:18988/about/health"], capture_output=True, check=False
    )
    assert host.returncode == 0
    smoke = inv(stack, "smoke", "--json", "--only", "jicofo-health,jvb-health,focus")
    assert smoke.returncode == 0, smoke.stdout
    assert {r["status"] for r in json.loads(smoke.stdout)} == {"pass"}


def test_transcriber_xmpp_test_tells_connected_from_not(stack, tmp_path):
    """The grep of the transcriber's healthcheck, run where an XMPP client is connected to
    prosody (the bridge) and where none is (web)."""
    root = tmp_path / "render"
    root.mkdir()
    render_case(root, "all-services")
    test = yaml.safe_load((root / "docker-compose.yml").read_text())["services"][
        "jitsi-transcriber"
    ]["healthcheck"]["test"][1]
    grep = test.split("&& ", 1)[1]
    for container, code in ((f"{PROJECT}-jvb", 0), (f"{PROJECT}-web", 1)):
        proc = subprocess.run(["docker", "exec", container, "sh", "-c", grep], check=False)
        assert proc.returncode == code, container
