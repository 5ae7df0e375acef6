"""The installed command as users get it: the wheel built with `python -m build --wheel`
(tests/wheel.py), installed into a fresh venv, then `jitsi-stack` in an empty folder
elsewhere starts the stack with every optional template in use (metrics: Prometheus and
Grafana, the bundled TURN server, two bridges), smoke passes, `swarm.render` writes the
stack and its secrets wrapper, clean leaves nothing. Settings come from the environment
only: the folder holds no file of ours. Host ports 23100-23110 TCP, UDP 11300-11319."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import requests

from tests.support.project import REPO, cli, containers, force_down, wait_for
from tests.support.wheel import build_wheel

pytestmark = pytest.mark.docker

PROJECT = "jsinstall"
ENV = {
    "JITSI_STACK_PROJECT_NAME": PROJECT,
    "JITSI_STACK_CONTAINER_PREFIX": PROJECT,
    "JITSI_STACK_NETWORK__NAME": f"{PROJECT}-network",
    "JITSI_STACK_PUBLIC_URL": "http://localhost:23100",
    "JITSI_STACK_PORTS__HTTP": "23100",
    "JITSI_STACK_PORTS__JVB_MEDIA": "11300",  # and 11301 for the second bridge
    "JITSI_STACK_PORTS__JVB_COLIBRI": "23104",  # and 23105
    "JITSI_STACK_PORTS__JICOFO_REST": "23103",
    "JITSI_STACK_IMAGES__REPOSITORY": "jitsi-stack-testbed",
    "JITSI_STACK_IMAGES__TAG": "good",
    "JITSI_STACK_IMAGES__COTURN": "jitsi-stack-testbed/coturn:good",
    "JITSI_STACK_IMAGES__PROMETHEUS": "jitsi-stack-testbed/prometheus:good",
    "JITSI_STACK_IMAGES__GRAFANA": "jitsi-stack-testbed/grafana:good",
    "JITSI_STACK_HEALTH__INTERVAL": "2",
    "JITSI_STACK_JVB__COUNT": "2",
    "JITSI_STACK_METRICS__ENABLED": "true",
    "JITSI_STACK_METRICS__GRAFANA_PORT": "23101",
    "JITSI_STACK_METRICS__PROMETHEUS_PORT": "23102",
    "JITSI_STACK_METRICS__SUBNET": "10.213.231.0/28",
    "JITSI_STACK_TURN__ENABLED": "true",
    # no certificate on this http setup: plain TURN (UDP and TCP) only
    "JITSI_STACK_TURN__TLS": "false",
    "JITSI_STACK_TURN__PORT": "23110",
    "JITSI_STACK_TURN__RELAY_MIN": "11310",
    "JITSI_STACK_TURN__RELAY_MAX": "11319",
}
# The Swarm stack holds web, prosody, jicofo and jvb (coturn and the metrics refuse with a
# line there); each bridge finds its address by STUN, asked only when it runs.
OFF_ON_SWARM = ("JITSI_STACK_METRICS", "JITSI_STACK_TURN")
SWARM_ENV = {
    **{k: v for k, v in ENV.items() if k.split("__")[0] not in OFF_ON_SWARM},
    "JITSI_STACK_JVB__STUN_SERVER": "stun.example.org:3478",
}


def prometheus_up() -> list[str]:
    """The jobs/instances Prometheus (host port 23102) has scraped successfully."""
    answer = requests.get(
        "http://127.0.0.1:23102/api/v1/query", params={"query": "up == 1"}, timeout=5
    ).json()
    return sorted(r["metric"].get("instance", "") for r in answer["data"]["result"])


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    target = tmp_path_factory.mktemp("venv")
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        timeout=600,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return target / "bin" / "jitsi-stack"


def test_installed_command_runs_the_stack_from_an_empty_folder(installed, tmp_path, testbed_images):
    folder = tmp_path / "meet"
    folder.mkdir()
    force_down(PROJECT)
    location = subprocess.run(
        [str(installed.parent / "python"), "-c", "import jitsi_stack; print(jitsi_stack.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
    ).stdout
    assert "site-packages" in location and str(REPO) not in location
    try:
        start = cli(folder, "start", "--json", env=ENV, executable=str(installed))
        assert start.returncode == 0, start.stdout + start.stderr
        assert json.loads(start.stdout)["url"] == "http://localhost:23100"
        assert (folder / "docker-compose.yml").is_file()
        assert (folder / "jitsi-meet" / ".env").is_file()
        for rel in (  # rendered from the templates the wheel once left out
            "jitsi-meet/prometheus/prometheus.yml",
            "jitsi-meet/grafana/provisioning/datasources/jitsi-stack.yml",
            "jitsi-meet/grafana/provisioning/dashboards/jitsi-stack.yml",
            "jitsi-meet/coturn/turnserver.conf",
        ):
            assert (folder / rel).is_file(), rel
        assert sorted(containers(PROJECT)) == [
            "jitsi-coturn",
            "jitsi-grafana",
            "jitsi-jicofo",
            "jitsi-jvb",
            "jitsi-jvb2",
            "jitsi-prometheus",
            "jitsi-prosody",
            "jitsi-web",
        ]
        # Prometheus scrapes every 15 s: smoke's metrics check wants one scrape of each
        assert wait_for(lambda: len(prometheus_up()) == 5, timeout=60), prometheus_up()
        smoke = cli(folder, "smoke", "--json", env=ENV, executable=str(installed))
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        results = {r["name"]: r["status"] for r in json.loads(smoke.stdout)}
        assert set(results.values()) <= {"pass", "skip"}, results
        assert results["turn"] == "pass" and results["metrics"] == "pass", results
    finally:
        clean = cli(folder, "clean", "--yes", env=ENV, executable=str(installed))
        force_down(PROJECT)
    assert clean.returncode == 0, clean.stderr
    assert containers(PROJECT) == {}
    assert not (folder / "docker-compose.yml").exists()
    assert sys.prefix != str(installed.parent.parent)


def test_installed_command_renders_the_swarm_stack(installed, tmp_path):
    from jitsi_stack import swarm

    folder = tmp_path / "swarm"
    folder.mkdir()
    proc = cli(folder, "swarm.render", env=SWARM_ENV, executable=str(installed))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.name for p in (folder / "swarm").iterdir()} == {
        "stack.yml",
        "with-secrets.sh",
        "custom-config.js",
    }
    # the installed template renders what the checkout's does
    assert (folder / "swarm" / "with-secrets.sh").read_text() == swarm.wrapper_text()
