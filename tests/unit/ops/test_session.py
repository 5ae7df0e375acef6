"""One session per command: each task reads the settings files once and builds the
Deployment at most once (ops/session.py), however many steps it has; a second read
happens only where the task itself changed what the settings read (a reload)."""

from __future__ import annotations

import pytest

import jitsi_stack.deployment as deployment
import jitsi_stack.settings.layers as layers
from jitsi_stack.cli.support import session
from jitsi_stack.ops.session import COMPOSE, SWARM, Session
from tests.support.project import run_cli, write_settings

BASE = "timezone: UTC\n"
INTERNAL = BASE + "auth: {enabled: true, type: internal}\n"
JWT = BASE + "auth: {enabled: true, type: jwt, jwt: {app_id: callcenter}}\n"
SWARM_NODES = BASE + "swarm: {nodes: {n1: [203.0.113.11]}}\n"


@pytest.fixture
def counted(monkeypatch):
    """How often a command reads the settings files and builds a Deployment."""
    counts = {"reads": 0, "builds": 0}
    read, build = layers.file_layers, deployment.build

    def counting_read(*args, **kwargs):
        counts["reads"] += 1
        return read(*args, **kwargs)

    def counting_build(*args, **kwargs):
        counts["builds"] += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(layers, "file_layers", counting_read)
    monkeypatch.setattr(deployment, "build", counting_build)
    return counts


# (settings, argv, builds): every command here reads the settings files exactly once
CASES = [
    (BASE, ["render"], 1),
    (BASE, ["render", "--check"], 1),
    (BASE, ["config"], 0),
    (BASE, ["lint"], 0),
    (BASE, ["--dry", "start"], 1),
    (BASE, ["--dry", "stop", "web"], 1),
    (BASE, ["--dry", "restart", "jvb"], 1),
    (BASE, ["--dry", "logs", "web"], 1),
    (BASE, ["--dry", "update"], 1),
    (BASE, ["--dry", "clean", "--yes"], 1),  # read twice before: once more for the files
    (BASE, ["--dry", "rotate-secrets", "--yes"], 1),
    (BASE, ["--dry", "backup"], 1),  # read twice before: once more for the files
    (BASE, ["addresses"], 1),
    (BASE, ["helm.values"], 1),
    (INTERNAL, ["--dry", "users.list"], 1),
    (JWT, ["token", "--room", "sales", "--name", "Alice"], 1),
    (SWARM_NODES, ["swarm.render"], 1),
]


@pytest.mark.parametrize(("text", "argv", "builds"), CASES, ids=[" ".join(c[1]) for c in CASES])
def test_a_command_reads_the_settings_once(root, counted, text, argv, builds):
    write_settings(root, text)
    assert run_cli(root, "render").returncode == 0
    counted.update(reads=0, builds=0)
    proc = run_cli(root, *argv)
    assert proc.returncode in (0, 1), proc.stderr  # 1: e.g. users.list without Docker
    assert counted == {"reads": 1, "builds": builds}, argv


def test_addresses_auto_detected_is_the_one_reload(root, counted, monkeypatch):
    """`auto` detected and stored changes what the settings read: one more read, so the
    Deployment carries the addresses just found."""
    from jitsi_stack.settings import addresses

    found = addresses.Detected(lan=(), public=("203.0.113.7",), stun="", at="now")
    monkeypatch.setattr(addresses, "detect", lambda stun, local: found)
    write_settings(root, BASE + "jvb: {advertise_ips: [auto], stun_server: ''}\n")
    proc = run_cli(root, "addresses", "--refresh")
    assert proc.returncode == 0, proc.stderr
    assert "203.0.113.7" in proc.stdout
    assert counted == {"reads": 2, "builds": 1}


def test_each_task_call_has_its_own_session(root):
    """`inv render stop` runs two tasks: each gets a session of its own (the first may have
    changed the files the second reads)."""
    from invoke import Config, MockContext

    from jitsi_stack.cli.support import operator_errors

    seen = []

    @operator_errors
    def one_task(c):
        seen.append((session(c), session(c)))

    c = MockContext(config=Config(overrides={"jitsi_stack": {"root": str(root)}}))
    one_task(c)
    one_task(c)
    (a, same_a), (b, same_b) = seen
    assert a is same_a and b is same_b and a is not b
    assert a.root == root.resolve()


def test_where_the_deployment_runs(root):
    from jitsi_stack import swarm

    here = Session(root)
    assert here.where == COMPOSE and here.swarm is None
    marker = root / swarm.DEPLOYED_FILE
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text('{"stack": "callcenter"}', encoding="utf-8")
    assert Session(root).where == SWARM
    assert Session(root).swarm == {"stack": "callcenter"}
