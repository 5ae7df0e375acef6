"""metrics.enabled: Prometheus and Grafana as one more view of the Deployment; the networks
that keep jicofo's REST API away from the platform; the provisioned dashboard; bad input."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import json

import pytest
import yaml

from jitsi_stack.deployment import INTERNAL_KEY, METRICS_KEY, PROSODY_METRICS_ALIAS, build
from jitsi_stack.render import dashboards
from jitsi_stack.settings import project
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input import _copy

ON = "metrics:\n  enabled: true\n"


def _render(root, text):
    write_settings(root, text)
    seed_secrets(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 0, proc.stderr
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    return compose, build(project.load(root, environ={}))


def test_metrics_off_adds_nothing(root):
    compose, d = _render(root, "timezone: UTC\n")
    assert d.metrics is None
    assert not {"jitsi-prometheus", "jitsi-grafana"} & set(compose["services"])
    assert METRICS_KEY not in compose["networks"] and "volumes" not in compose
    assert not (root / "jitsi-meet" / "prometheus").exists()
    env = (root / "jitsi-meet" / ".env").read_text()
    assert "PROSODY_ENABLE_METRICS" not in env and "GRAFANA_ADMIN_PASSWORD" not in env


def test_the_networks_keep_jicofo_away_from_grafana_and_the_platform(root):
    compose, d = _render(root, ON + "jvb: {count: 3}\n")
    nets = {name: set(svc["networks"]) for name, svc in compose["services"].items()}
    platform = d.network
    assert nets["jitsi-prometheus"] == {INTERNAL_KEY, METRICS_KEY}
    assert nets["jitsi-grafana"] == {METRICS_KEY}
    assert nets["jitsi-prosody"] == {platform, INTERNAL_KEY, METRICS_KEY}
    for name in ("jitsi-jicofo", "jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"):
        assert nets[name] == {INTERNAL_KEY}, name  # only Prometheus of ours reaches them
    # prosody answers /metrics to the metrics subnet: Prometheus asks it by the alias that
    # exists on that network alone
    prosody = compose["services"]["jitsi-prosody"]["networks"]
    assert prosody[METRICS_KEY]["aliases"] == [PROSODY_METRICS_ALIAS]
    assert PROSODY_METRICS_ALIAS not in prosody[INTERNAL_KEY]["aliases"]
    subnet = compose["networks"][METRICS_KEY]["ipam"]["config"][0]["subnet"]
    env = dict(
        line.split("=", 1)
        for line in (root / "jitsi-meet" / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert env["PROSODY_ENABLE_METRICS"] == "1"
    assert env["PROSODY_METRICS_ALLOWED_CIDR"] == subnet == "10.213.213.0/28"


def test_prometheus_scrapes_every_bridge_jicofo_and_prosody(root):
    _, d = _render(root, ON + "jvb: {count: 3}\n")
    config = yaml.safe_load((root / d.metrics.config).read_text())
    jobs = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    assert [t["targets"] for t in jobs["jvb"]] == [[f"{b.name}:8080"] for b in d.bridges]
    assert [t["labels"]["bridge"] for t in jobs["jvb"]] == ["jvb", "jvb2", "jvb3"]
    assert jobs["jicofo"][0]["targets"] == ["jitsi-jicofo:8888"]
    assert jobs["prosody"][0]["targets"] == [f"{PROSODY_METRICS_ALIAS}:5280"]


def test_ports_retention_and_the_grafana_password(root):
    compose, d = _render(
        root,
        ON
        + "  retention: 90d\n  grafana_port: 3300\n  grafana_bind: 0.0.0.0\n  prometheus_port: 9091\n",
    )
    prom, graf = compose["services"]["jitsi-prometheus"], compose["services"]["jitsi-grafana"]
    assert "--storage.tsdb.retention.time=90d" in prom["command"]
    assert prom["ports"] == ["127.0.0.1:9091:9090"] and prom["read_only"] is True
    assert graf["ports"] == ["3300:3000"]  # 0.0.0.0: every interface
    assert "GF_SECURITY_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD}" in graf["environment"]
    stored = (root / ".jitsi-stack" / "secrets.env").read_text()
    assert "GRAFANA_ADMIN_PASSWORD=" in stored
    password = stored.split("GRAFANA_ADMIN_PASSWORD=")[1].split()[0]
    assert len(password) == 43 and password not in (root / "docker-compose.yml").read_text()
    assert compose["volumes"]["prometheus-data"]["name"] == d.metrics.volume


def test_grafana_url_follows_its_bind_address(root):
    _, d = _render(root, ON)
    assert d.metrics.grafana_url == "http://127.0.0.1:3000"
    _, d = _render(
        root,
        "public_url: https://meet.example.com\n"
        + ON
        + "  grafana_bind: 0.0.0.0\n  grafana_port: 3300\n",
    )
    assert d.metrics.grafana_url == "http://meet.example.com:3300"


@pytest.mark.parametrize(
    ("bind", "published"),
    [
        ("0.0.0.0", "3000:3000"),  # noqa: S104 - a setting value, not a bind
        ("::", "3000:3000"),
        ("::1", "[::1]:3000:3000"),
        ("10.0.0.5", "10.0.0.5:3000:3000"),
    ],
)
def test_grafana_bind_addresses_compose_understands(root, bind, published):
    compose, _ = _render(root, ON + f"  grafana_bind: '{bind}'\n")
    assert compose["services"]["jitsi-grafana"]["ports"] == [published]


def test_prometheus_is_not_published_by_default(root):
    compose, _ = _render(root, ON)
    assert "ports" not in compose["services"]["jitsi-prometheus"]
    assert compose["services"]["jitsi-grafana"]["ports"] == ["127.0.0.1:3000:3000"]


def test_grafana_provisioning_names_the_data_source_the_dashboard_uses(root):
    _, d = _render(root, ON)
    sources = yaml.safe_load((root / d.metrics.datasources).read_text())["datasources"]
    providers = yaml.safe_load((root / d.metrics.providers).read_text())["providers"]
    board = json.loads((root / d.metrics.dashboard).read_text())
    uids = {s["uid"] for s in sources}
    assert sources[0]["url"] == "http://jitsi-prometheus:9090"
    assert providers[0]["options"]["path"] == "/etc/grafana/dashboards"
    assert board["uid"] == dashboards.UID and board["panels"]
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("jitsi_jvb_stress", {"jitsi_jvb_stress"}),
        ("sum by (type) (prosody_mod_c2s__connections)", {"prosody_mod_c2s__connections"}),
        ('rate(jitsi_jvb_bytes_sent_total{bridge="jvb"}[5m])', {"jitsi_jvb_bytes_sent_total"}),
        ("up", {"up"}),
    ],
)
def test_metric_names_of_a_query(expr, names):
    assert dashboards.metric_names(expr) == names


def test_the_dashboard_reads_what_a_call_center_watches():
    names = dashboards.queried()
    for wanted in (
        "jitsi_jicofo_conferences",
        "jitsi_jicofo_participants_current",
        "jitsi_jvb_stress",
        "jitsi_jvb_incoming_loss_fraction",
        "jitsi_jvb_outgoing_bitrate",
        "prosody_mod_c2s__connections",
    ):
        assert wanted in names


BAD = [
    (
        "grafana-port-clash",
        ON + "  grafana_port: 8080\n",
        "error: metrics.grafana_port: port 8080/tcp is also used by ports.jvb_colibri: choose another port",
    ),
    (
        "prometheus-port-clash",
        ON + "  prometheus_port: 8888\n",
        "error: metrics.prometheus_port: port 8888/tcp is also used by ports.jicofo_rest: choose another port",
    ),
    (
        "prometheus-port-range",
        ON + "  prometheus_port: 70000\n",
        "error: metrics.prometheus_port: port 70000 is out of range: use 0 (off) or a port 1-65535",
    ),
    (
        "prometheus-port-negative",
        ON + "  prometheus_port: -1\n",
        "error: metrics.prometheus_port: port -1 is out of range: use 0 (off) or a port 1-65535",
    ),
    (
        "grafana-port-zero",
        ON + "  grafana_port: 0\n",
        "error: metrics.grafana_port: port 0 is out of range: use a port between 1 and 65535",
    ),
    (
        "retention-words",
        ON + "  retention: 15 days\n",
        "error: metrics.retention: '15 days' is not a Prometheus duration: write a number and a unit, e.g. 15d, 12w or 1y",
    ),
    (
        "retention-zero",
        ON + "  retention: 0d\n",
        "error: metrics.retention: '0d' is not a Prometheus duration: write a number and a unit, e.g. 15d, 12w or 1y",
    ),
    (
        "retention-flag",
        ON + "  retention: '15d --web.enable-admin-api'\n",
        "error: metrics.retention: '15d --web.enable-admin-api' is not a Prometheus duration: write a number and a unit, e.g. 15d, 12w or 1y",
    ),
    (
        "bind-name",
        ON + "  grafana_bind: localhost\n",
        "error: metrics.grafana_bind: 'localhost' is not an IP address: use 127.0.0.1 (this machine) or 0.0.0.0 (every interface)",
    ),
    (
        "subnet-public",
        ON + "  subnet: 8.8.8.0/28\n",
        "error: metrics.subnet: 8.8.8.0/28 is not private: use e.g. 10.213.213.0/28",
    ),
    (
        "subnet-tiny",
        ON + "  subnet: 10.213.213.0/30\n",
        "error: metrics.subnet: /30 is outside /16../29: use e.g. /28",
    ),
    (
        "subnet-host-bits",
        ON + "  subnet: 10.213.213.5/28\n",
        "error: metrics.subnet: '10.213.213.5/28' is not an IPv4 network in CIDR notation (e.g. 10.213.213.0/28)",
    ),
    (
        "subnet-v6",
        ON + "  subnet: 'fd00::/64'\n",
        "error: metrics.subnet: 'fd00::/64' is not an IPv4 network in CIDR notation (e.g. 10.213.213.0/28)",
    ),
    (
        "enabled-text",
        "metrics:\n  enabled: yes please\n",
        "error: metrics.enabled: 'yes please' is not true or false: write true or false",
    ),
    ("unknown-key", ON + "  grafana_pasword: x\n", None),
    ("passthrough-metrics", "env:\n  PROSODY_ENABLE_METRICS: 'true'\n", None),
    ("passthrough-cidr", "env:\n  PROSODY_METRICS_ALLOWED_CIDR: 0.0.0.0/0\n", None),
]


@pytest.mark.parametrize(("case", "text", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_metrics_settings_are_one_line_and_change_nothing(
    case, text, line, good_tree, tmp_path
):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, text)
    before = tree_snapshot(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.lines) == 1 and proc.lines[0].startswith("error: "), proc.lines
    if line is not None:
        assert proc.lines[0] == line
    else:  # named by the setting, with the fix
        assert any(
            k in proc.lines[0] for k in ("grafana_pasword", "metrics.enabled", "metrics.subnet")
        )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert tree_snapshot(root) == before


NETWORKS = [  # the shape of the Engine API's GET /networks
    {"Name": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}},
    {"Name": "host", "IPAM": {"Config": []}},
    {"Name": "vpn-lab", "IPAM": {"Config": [{"Subnet": "10.213.0.0/16"}]}},
    {"Name": "v6", "IPAM": {"Config": [{"Subnet": "fd00::/64"}]}},
    {"Name": "callcenter-jitsi-metrics", "IPAM": {"Config": [{"Subnet": "10.213.213.0/28"}]}},
]


def test_a_metrics_subnet_inside_another_docker_network_is_refused_by_name():
    from jitsi_stack.ops.preflight import subnet_clash

    line = subnet_clash("10.213.213.0/28", "callcenter-jitsi-metrics", NETWORKS)
    assert line == (
        "metrics.subnet: 10.213.213.0/28 overlaps the Docker network vpn-lab (10.213.0.0/16): "
        "choose another private subnet, e.g. a free /28 of 10.213.0.0/16"
    )
    # our own metrics network (a restart) and networks elsewhere are no clash
    assert (
        subnet_clash("10.213.213.0/28", "callcenter-jitsi-metrics", NETWORKS[:2] + NETWORKS[3:])
        is None
    )
    assert subnet_clash("192.168.213.0/28", "x", NETWORKS) is None


def test_the_subnet_check_asks_the_engine_api_only_when_the_daemon_is_local(monkeypatch, tmp_path):
    """check_subnets reads GET /networks over the local socket; with a remote daemon
    (DOCKER_HOST=tcp://...) it asks nothing and leaves the clash to Docker. It once tested
    the method `engine.available` (always true) instead of calling it."""
    from types import SimpleNamespace

    from jitsi_stack.docker import Runner
    from jitsi_stack.docker.engine import Engine
    from jitsi_stack.errors import StackError
    from jitsi_stack.ops import preflight

    asked: list[str | None] = []

    def get(self, path, timeout=10.0):
        asked.append(self.socket_path)
        return NETWORKS

    monkeypatch.setattr(Engine, "get", get)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    d = SimpleNamespace(
        metrics=SimpleNamespace(subnet="10.213.213.0/28", network="callcenter-jitsi-metrics")
    )
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.9:2376")
    preflight.check_subnets(d, Runner())
    assert asked == []
    sock = tmp_path / "docker.sock"
    sock.touch()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    with pytest.raises(StackError, match="overlaps the Docker network vpn-lab"):
        preflight.check_subnets(d, Runner())
    assert asked == [str(sock)]


def test_the_engine_api_without_a_local_socket_is_one_line_not_a_traceback():
    from jitsi_stack.docker import Runner
    from jitsi_stack.docker.engine import Engine
    from jitsi_stack.errors import DaemonUnreachable

    with pytest.raises(DaemonUnreachable) as err:
        Engine(Runner(), None).get("/networks")
    assert "\n" not in str(err.value) and "Docker daemon" in str(err.value)
