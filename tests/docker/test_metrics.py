"""metrics.enabled on the testbed: Debian's real Prometheus (2.42) scrapes jicofo, both
bridges and Debian's real prosody (mod_http_openmetrics); the numbers follow what happens
in prosody (a room held open by a guest); every metric the dashboard queries is one this
Prometheus really has; Grafana (stand-in) provisions the dashboard behind the generated
admin password; the platform's containers reach neither jicofo nor prosody's /metrics;
`inv clean --all` removes Prometheus's volume."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from jitsi_stack.render import dashboards
from jitsi_stack.smoke.xmpp import BoshClient, Deadline
from tests.support.project import (
    force_down,
    inv,
    stand_in_settings,
    started_stack,
    wait_for,
    write_settings,
)

pytestmark = pytest.mark.docker

PROJECT = "jsm"
PORT = 19860
PROMETHEUS = 19866
GRAFANA = 19867
SETTINGS = (
    stand_in_settings(
        PROJECT,
        PORT,
        19861,
        19862,
        19864,
        images={
            "prometheus": "jitsi-stack-testbed/prometheus:good",
            "grafana": "jitsi-stack-testbed/grafana:good",
        },
    )
    + f"""
jvb: {{count: 2}}
metrics:
  enabled: true
  retention: 2h
  prometheus_port: {PROMETHEUS}
  grafana_port: {GRAFANA}
  subnet: 10.213.214.0/28
"""
)
API = f"http://127.0.0.1:{PROMETHEUS}/api/v1"


def query(expr: str) -> list[dict]:
    answer = requests.get(f"{API}/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def value(expr: str) -> float | None:
    result = query(expr)
    return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("metrics") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, proc):
        assert f"Grafana: http://127.0.0.1:{GRAFANA} (user admin" in proc.stdout + proc.stderr
        # every target answered one scrape (15 s apart)
        assert wait_for(lambda: len(query("up == 1")) == 5, timeout=60)
        yield base


def test_prometheus_scrapes_every_target(stack):
    targets = requests.get(f"{API}/targets", timeout=5).json()["data"]["activeTargets"]
    seen = {(t["labels"]["job"], t["labels"].get("bridge", "")): t["health"] for t in targets}
    assert seen == {
        ("jicofo", ""): "up",
        ("jvb", "jvb"): "up",
        ("jvb", "jvb2"): "up",
        ("prosody", ""): "up",
        ("prometheus", ""): "up",
    }, targets
    # a series from each: jicofo's, both bridges', prosody's own
    assert value("jitsi_jicofo_bridge_selector_bridge_count_operational") == 2
    assert {r["metric"]["bridge"] for r in query("jitsi_jvb_stress")} == {"jvb", "jvb2"}
    assert query('prosody_mod_c2s__connections{job="prosody"}')


def test_every_metric_the_dashboard_queries_exists(stack):
    names = set(requests.get(f"{API}/label/__name__/values", timeout=5).json()["data"])
    missing = dashboards.queried() - names
    assert not missing, missing


def test_the_numbers_follow_what_happens_in_prosody(stack):
    """A guest holds a room open: jicofo's gauges and prosody's room count go up, then back."""
    before_rooms = value("sum(prosody_mod_muc__live_room)") or 0
    # jicofo and both bridges are c2s sessions of prosody
    assert value('sum(prosody_mod_c2s__connections{type="c2s"})') >= 3
    client = BoshClient(f"http://localhost:{PORT}/http-bind", "meet.jitsi", Deadline(20))
    room = "metrics-probe@muc.meet.jitsi"
    try:
        client.connect()
        client.login_anonymous()
        client.bind()
        assert client.conference_request(room, "focus.meet.jitsi").ready
        client.join_room(room, (client.jid or "guest").split("@", 1)[0][:8])
        assert wait_for(lambda: value("jitsi_jicofo_conferences") == 1, timeout=45)
        assert value("jitsi_jicofo_participants_current") >= 1
        assert wait_for(lambda: (value("sum(prosody_mod_muc__live_room)") or 0) > before_rooms, 45)
    finally:
        client.terminate()
    assert wait_for(lambda: value("jitsi_jicofo_conferences") == 0, timeout=45)


def test_grafana_provisions_the_dashboard_behind_the_generated_password(stack):
    secrets = (stack / ".jitsi-stack" / "secrets.env").read_text()
    password = secrets.split("GRAFANA_ADMIN_PASSWORD=")[1].split()[0]
    url = f"http://127.0.0.1:{GRAFANA}"
    assert requests.get(f"{url}/api/health", timeout=5).json()["database"] == "ok"
    found = requests.get(f"{url}/api/search", auth=("admin", password), timeout=5)
    assert found.status_code == 200
    assert [b["uid"] for b in found.json()] == [dashboards.UID]
    sources = requests.get(f"{url}/api/datasources", auth=("admin", password), timeout=5)
    assert [s["uid"] for s in sources.json()] == ["jitsi-stack-prometheus"]
    assert requests.get(f"{url}/api/search", auth=("admin", "admin"), timeout=5).status_code == 401
    # the password never shows in what the tool prints
    status = inv(stack, "status")
    assert password not in status.stdout + status.stderr


def _from_the_platform(url: str) -> str:
    """curl from a container on the network the platform's containers share."""
    proc = subprocess.run(
        [
            "docker", "run", "--rm", "--network", f"{PROJECT}-network", "--entrypoint",
            "curl", "jitsi-stack-testbed/web:good",
            "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    return proc.stdout.strip()


def test_the_platform_reaches_neither_jicofo_nor_prosodys_metrics(stack):
    assert _from_the_platform("http://xmpp.meet.jitsi:5280/metrics") == "403"
    assert _from_the_platform("http://jitsi-jicofo:8888/metrics") == "000"  # no such host
    assert _from_the_platform("http://prosody-metrics:5280/metrics") == "000"


def test_smoke_checks_every_target_and_names_a_bridge_that_is_down(stack):
    proc = inv(stack, "smoke", "--json", "--only", "metrics")
    result = json.loads(proc.stdout)[0]
    assert proc.returncode == 0 and result["status"] == "pass", result
    assert result["detail"] == "5 targets up: jicofo, jvb, jvb2, prometheus, prosody"
    assert inv(stack, "stop", "jvb2").returncode == 0
    try:
        assert wait_for(lambda: value('up{bridge="jvb2"}') == 0, timeout=45)
        proc = inv(stack, "smoke", "--json", "--only", "metrics")
        result = json.loads(proc.stdout)[0]
        assert proc.returncode == 1 and result["status"] == "fail", result
        assert result["detail"].startswith("jvb2 down: "), result
        assert result["fix"].startswith("`inv logs jvb2`")
        assert "jitsi-jvb2:8080" in result["cause"]
    finally:
        assert inv(stack, "start").returncode == 0
    assert wait_for(lambda: value('up{bridge="jvb2"}') == 1, timeout=45)


def _grafana_password(base) -> str:
    return (
        (base / ".jitsi-stack" / "secrets.env")
        .read_text()
        .split("GRAFANA_ADMIN_PASSWORD=")[1]
        .split()[0]
    )


def test_a_rotated_grafana_password_is_the_one_grafana_takes(stack):
    """Grafana stores its admin password on first run: without state of its own (tmpfs),
    the recreated container takes the rotated one."""
    old = _grafana_password(stack)
    proc = inv(stack, "rotate-secrets", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = _grafana_password(stack)
    assert new != old
    url = f"http://127.0.0.1:{GRAFANA}/api/search"

    def answers(password):
        try:
            return requests.get(url, auth=("admin", password), timeout=5).status_code
        except requests.RequestException:
            return None

    assert wait_for(lambda: answers(new) == 200, timeout=60)
    assert answers(old) == 401


def test_clean_all_removes_prometheus_samples(tmp_path_factory, stack):
    volume = f"{PROJECT}-prometheus-data"
    listed = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True)
    assert volume in listed.stdout.split()
    assert inv(stack, "clean", "--all", "--yes").returncode == 0
    listed = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True)
    assert volume not in listed.stdout.split()


def test_a_metrics_subnet_taken_by_another_network_stops_start_before_anything(tmp_path):
    """Docker would fail half way ("Pool overlaps"); the preflight names the setting."""
    taken = "jsm-overlap-lab"
    subprocess.run(["docker", "network", "rm", taken], capture_output=True)
    subprocess.run(
        ["docker", "network", "create", "--subnet", "10.213.216.0/24", taken],
        check=True,
        capture_output=True,
    )
    base = tmp_path / "project"
    base.mkdir()
    text = SETTINGS.replace(f"project_name: {PROJECT}", "project_name: jsmo")
    text = text.replace(f"container_prefix: {PROJECT}", "container_prefix: jsmo")
    text = text.replace("10.213.214.0/28", "10.213.216.16/28")
    write_settings(base, text.replace(f"{PROJECT}-network", "jsmo-network"))
    try:
        proc = inv(base, "start")
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
        assert proc.returncode != 0
        assert errors == [
            f"error: metrics.subnet: 10.213.216.16/28 overlaps the Docker network {taken} "
            "(10.213.216.0/24): choose another private subnet, e.g. a free /28 of 10.213.0.0/16"
        ], proc.stderr
        listed = subprocess.run(
            ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=jsmo"],
            capture_output=True,
            text=True,
        )
        assert listed.stdout.strip() == ""  # nothing was created
    finally:
        force_down("jsmo")
        subprocess.run(["docker", "network", "rm", taken], capture_output=True)
