"""The Swarm stack (swarm/, swarm/cluster.py): what stack deploy would ignore or change is
handled, every fact comes from the Deployment or the rendered compose file, passwords are
Swarm secrets, and bad input is one line with nothing changed."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from jitsi_stack import swarm
from jitsi_stack.docker import Result, Runner
from jitsi_stack.errors import SettingsError
from jitsi_stack.swarm import cluster as swarm_cluster
from tests.support.project import FIXED_SECRETS, seed_secrets, write_settings

NODES = "swarm: {nodes: {n1: [203.0.113.11], n2: [203.0.113.12]}, bridge_label: jitsi.jvb=true}\n"


def load(root, text: str = NODES):
    write_settings(root, text)
    seed_secrets(root)
    return swarm.load(root, environ={})


def stack_of(root, text: str = NODES) -> dict:
    _s, _d, _values, v = load(root, text)
    return yaml.safe_load(swarm.render(v)[swarm.STACK_FILE])


def compose_of(root) -> dict:
    _s, d, _values, _v = swarm.load(root, environ={})
    return swarm._compose_services(d)


def test_one_bridge_per_named_node_with_its_addresses_placed_on_it(root):
    stack = stack_of(root)
    assert list(stack["services"]) == [
        "jitsi-web",
        "jitsi-prosody",
        "jitsi-jicofo",
        "jitsi-jvb-n1",
        "jitsi-jvb-n2",
    ]
    bridge = stack["services"]["jitsi-jvb-n2"]
    assert bridge["deploy"]["placement"]["constraints"] == [
        "node.hostname == n2",
        "node.labels.jitsi.jvb == true",
    ]
    assert "JVB_ADVERTISE_IPS=203.0.113.12" in bridge["environment"]
    assert "JVB_MUC_NICKNAME=jvb-n2" in bridge["environment"]
    assert bridge["ports"] == [
        {"target": 10000, "published": 10000, "protocol": "udp", "mode": "host"}
    ]
    core = stack["services"]["jitsi-jicofo"]["deploy"]
    assert core["mode"] == "replicated" and core["placement"]["constraints"] == [
        "node.role == manager"
    ]


def test_without_nodes_one_global_bridge_finds_its_address_by_stun(root):
    stack = stack_of(
        root, "jvb: {stun_server: 'stun.example.com:3478', advertise_ips: [192.0.2.1]}\n"
    )
    bridge = stack["services"]["jitsi-jvb"]
    assert bridge["deploy"]["mode"] == "global" and "placement" not in bridge["deploy"]
    assert "JVB_STUN_SERVERS=stun.example.com:3478" in bridge["environment"]
    assert "JVB_MUC_NICKNAME=jvb-{{.Node.Hostname}}" in bridge["environment"]  # unique per task
    assert not any(e.startswith("JVB_ADVERTISE_IPS=") for e in bridge["environment"])


def test_what_stack_deploy_ignores_or_changes_is_not_in_the_file(root):
    stack = stack_of(root)
    for name, svc in stack["services"].items():
        for key in ("container_name", "restart", "depends_on", "tmpfs", "read_only", "shm_size"):
            assert key not in svc, (name, key)
        assert svc["deploy"]["endpoint_mode"] == "dnsrr"  # no virtual IP (no IPVS needed)
        assert svc["deploy"]["restart_policy"]["condition"] == "any"
        for port in svc.get("ports", ()):
            assert port["mode"] == "host"
        assert {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 16 * 1024**2}} in svc[
            "volumes"
        ]
    published = [p["published"] for s in stack["services"].values() for p in s.get("ports", ())]
    assert 8888 not in published and 8080 not in published  # loopback-only ports dropped
    assert "name" not in stack and stack["version"] == "3.8"
    platform = stack["networks"]["callcenter-network"]
    assert platform == {"name": "callcenter-network", "driver": "overlay", "attachable": True}


def test_healthchecks_and_fixed_values_come_from_the_compose_file(root):
    stack = stack_of(root)
    compose = compose_of(root)
    for name, svc in stack["services"].items():
        source = compose["jitsi-jvb" if name.startswith("jitsi-jvb") else name]
        assert svc["healthcheck"] == source["healthcheck"]


def test_passwords_are_swarm_secrets_with_a_digest_never_values(root):
    s, d, values, v = load(root)
    text = "\n".join(swarm.render(v).values())
    for value in FIXED_SECRETS.values():
        assert value not in text
    stack = yaml.safe_load(swarm.render(v)[swarm.STACK_FILE])
    jicofo = stack["services"]["jitsi-jicofo"]
    assert [x["target"] for x in jicofo["secrets"]] == ["JICOFO_AUTH_PASSWORD"]
    assert not any(e.startswith("JICOFO_AUTH_PASSWORD") for e in jicofo["environment"])
    assert jicofo["entrypoint"] == [swarm.WRAPPER_TARGET, "/init"]
    assert "entrypoint" not in stack["services"]["jitsi-web"]  # no secret: image's own start
    assert (
        stack["secrets"]["JICOFO_AUTH_PASSWORD"]["file"]
        == "../.jitsi-stack/swarm-secrets/JICOFO_AUTH_PASSWORD"
    )
    before = v.secret_names["JVB_AUTH_PASSWORD"]
    other = swarm.view(s, d, {**values, "JVB_AUTH_PASSWORD": "f" * 32})
    assert other.secret_names["JVB_AUTH_PASSWORD"] != before  # rotated: a new Swarm secret
    assert other.secret_names["JICOFO_AUTH_PASSWORD"] == v.secret_names["JICOFO_AUTH_PASSWORD"]
    assert (
        swarm.secret_files(v, d, values)[f"{swarm.SECRETS_DIR}/JVB_AUTH_PASSWORD"]
        == values["JVB_AUTH_PASSWORD"]
    )


def test_the_wrapper_exports_each_secret_and_starts_the_image(tmp_path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "JVB_AUTH_PASSWORD").write_text("s3cr$t 'x'")
    (secrets_dir / "lower_case").write_text("skipped")
    script = tmp_path / "wrapper.sh"
    script.write_text(swarm.wrapper_text().replace("/run/secrets", str(secrets_dir)))
    out = subprocess.run(
        [
            "sh",
            str(script),
            "sh",
            "-c",
            'printf "%s|%s" "$JVB_AUTH_PASSWORD" "${lower_case-unset}"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "s3cr$t 'x'|unset"


def test_dollar_in_a_value_is_escaped_for_stack_deploy(root):
    stack = stack_of(root, NODES + "env: {GC_INC_TH: 'a$b'}\n")
    assert "GC_INC_TH=a$$b" in stack["services"]["jitsi-prosody"]["environment"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("swarm: {bridge_label: 'no spaces'}\n", "swarm.bridge_label: "),
        ("swarm: {core_label: jitsi.core}\n", "swarm.core_label: "),
        ("swarm: {nodes: {n1: [not-an-ip]}}\n", "swarm.nodes.n1: "),
        ("swarm: {nodes: {'bad host!': [192.0.2.1]}}\n", "swarm.nodes: "),
        ("swarm: {docker_host: 'http://x'}\n", "swarm.docker_host: "),
        ("swarm: {prosody_node: 'n1; rm'}\n", "swarm.prosody_node: "),
    ],
)
def test_bad_swarm_settings_are_one_line(root, text, first):
    with pytest.raises(SettingsError) as err:
        load(root, text)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith(first)


def test_a_stack_needs_addresses_or_stun_and_refuses_services_it_does_not_run(root):
    with pytest.raises(SettingsError, match=r"^swarm.nodes: empty and no STUN server"):
        load(root, "{}\n")
    with pytest.raises(
        SettingsError, match=r"^services.etherpad: etherpad is not part of the Swarm"
    ):
        load(root, NODES + "services: {etherpad: true}\n")
    with pytest.raises(
        SettingsError, match=r"^metrics.enabled: prometheus is not part of the Swarm"
    ):
        load(root, NODES + "metrics: {enabled: true}\n")
    assert not (root / "swarm").exists()


class FakeSwarm(Runner):
    """A manager with nodes n1 (manager) and n2, labels as given; records every command."""

    def __init__(self, labels=None):
        super().__init__()
        self.labels = labels or {}

    def execute(self, argv, **_kw):
        args = [a for a in argv if a not in ("--format", "{{json .}}")]
        if args[1:3] == ["node", "ls"]:
            return Result(argv, 0, '{"ID": "a"}\n{"ID": "b"}\n')
        if args[1:3] == ["node", "inspect"]:
            nodes = [
                {
                    "ID": i,
                    "Description": {"Hostname": h},
                    "Spec": {"Role": r, "Availability": "active", "Labels": self.labels.get(h, {})},
                    "Status": {"State": "ready", "Addr": ip},
                }
                for i, h, r, ip in (
                    ("a", "n1", "manager", "10.0.0.1"),
                    ("b", "n2", "worker", "10.0.0.2"),
                )
            ]
            return Result(argv, 0, json.dumps(nodes))
        return Result(argv, 0, "")


def test_a_label_that_matches_no_node_is_one_line_and_changes_nothing(root):
    load(root)
    runner = FakeSwarm(labels={"n1": {"jitsi.jvb": "true"}})  # n2 lacks the label
    with pytest.raises(SettingsError) as err:
        swarm_cluster.deploy(root, runner, timeout=5)
    (line,) = err.value.problems
    assert line.startswith(
        "swarm.bridge_label: 'node.labels.jitsi.jvb == true' matches no ready node"
    )
    assert "docker node update --label-add jitsi.jvb=true" in line
    assert not (root / "swarm").exists() and not (root / swarm.SECRETS_DIR).exists()
    assert not any("deploy" in argv for argv in runner.log)


def test_a_node_that_is_not_in_the_swarm_names_its_setting(root):
    load(root, "swarm: {nodes: {n1: [192.0.2.1], n9: [192.0.2.9]}}\n")
    with pytest.raises(SettingsError, match=r"^swarm.nodes.n9: 'node.hostname == n9' matches no"):
        swarm_cluster.deploy(root, FakeSwarm(), timeout=5)


def test_render_task_writes_atomically_and_check_finds_a_stale_file(root):
    from tests.support.project import inv

    write_settings(root, NODES)
    seed_secrets(root)
    stale = inv(root, "swarm.render", "--check")
    assert stale.returncode == 1 and "out of date: swarm/stack.yml" in stale.stderr, stale.stderr
    assert not (root / "swarm").exists()
    proc = inv(root, "swarm.render")
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (root / "swarm").iterdir()} == {
        "stack.yml",
        "with-secrets.sh",
        "custom-config.js",
    }
    assert inv(root, "swarm.render", "--check").returncode == 0
    (root / "swarm/stack.yml").write_text("edited\n")
    assert "out of date: swarm/stack.yml" in inv(root, "swarm.render", "--check").stderr


def test_a_dry_deploy_writes_nothing_not_even_a_secret(root):
    from tests.support.project import inv

    write_settings(root, NODES)
    proc = inv(root, "--dry", "swarm.deploy")
    assert proc.returncode == 0, proc.stderr
    assert "dry run: docker stack deploy --prune --compose-file" in proc.stderr
    assert sorted(p.name for p in root.iterdir()) == ["jitsi-stack.yml"]


INTERNAL = "auth: {enabled: true, type: internal}\n"


def test_prosodys_data_is_a_named_volume_at_upstreams_data_path(root):
    """/var/lib/prosody is no VOLUME of upstream's prosody image (docker-jitsi-meet
    stable-11146-2 prosody/Dockerfile:83) and a Swarm restart is a new container: the
    stack mounts a named volume where the compose file binds jitsi-meet/storage/prosody."""
    stack = stack_of(root)
    prosody = stack["services"]["jitsi-prosody"]
    target = next(
        v.split(":")[1]
        for v in compose_of(root)["jitsi-prosody"]["volumes"]
        if "storage/prosody" in v
    )
    assert target == "/var/lib/prosody"  # upstream docker-compose.yml:216
    assert {"type": "volume", "source": "prosody-data", "target": target} in prosody["volumes"]
    assert stack["volumes"] == {"prosody-data": {"name": "callcenter_prosody-data"}}
    others = [s for n, s in stack["services"].items() if n != "jitsi-prosody"]
    assert not any(m.get("type") == "volume" for s in others for m in s.get("volumes", ()))
    # not pinned without internal auth: the service accounts come back from the secrets
    assert prosody["deploy"]["placement"]["constraints"] == ["node.role == manager"]


def test_internal_auth_pins_prosody_to_its_node_or_is_refused(root):
    with pytest.raises(SettingsError) as err:
        load(root, NODES + INTERNAL)
    (line,) = err.value.problems
    assert line.startswith("swarm.prosody_node: empty with auth.type internal")
    assert not (root / "swarm").exists()
    text = NODES.replace("bridge_label:", "prosody_node: n1, bridge_label:") + INTERNAL
    stack = stack_of(root, text)
    assert stack["services"]["jitsi-prosody"]["deploy"]["placement"]["constraints"] == [
        "node.role == manager",
        "node.hostname == n1",
    ]
    for name in ("jitsi-web", "jitsi-jicofo"):  # only prosody is pinned
        assert stack["services"][name]["deploy"]["placement"]["constraints"] == [
            "node.role == manager"
        ]


def test_a_prosody_node_that_cannot_run_prosody_names_its_setting(root):
    text = NODES.replace("bridge_label:", "prosody_node: n2, bridge_label:") + INTERNAL
    load(root, text)  # n2 is no manager: prosody's two constraints match no one node
    labels = {"n1": {"jitsi.jvb": "true"}, "n2": {"jitsi.jvb": "true"}}
    with pytest.raises(SettingsError) as err:
        swarm_cluster.deploy(root, FakeSwarm(labels), timeout=5)
    (line,) = err.value.problems
    assert line.startswith("swarm.prosody_node: ") and "for jitsi-prosody" in line, line
    assert not (root / swarm.DEPLOYED_FILE).exists()


def test_backup_and_restore_refuse_a_project_that_runs_as_a_stack(root, tmp_path):
    """They read and write this host's folders; the stack's prosody data is a volume on a
    node: one line saying what to do instead, nothing written."""
    from tests.support.project import inv

    text = NODES.replace("bridge_label:", "prosody_node: n1, bridge_label:") + INTERNAL
    _s, _d, _values, v = load(root, text)
    swarm.record_deploy(root, v)

    def files():  # the project's lock, taken by every changing task, aside
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name != "lock")

    before = files()
    for args in (("backup",), ("restore", str(tmp_path / "any.tar.gz"))):
        proc = inv(root, *args)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"error: {args[0]}: this project runs as Swarm stack")
        assert "callcenter_prosody-data on n1" in lines[0]
        assert "docs/scaling.md" in lines[0]
    assert files() == before
    swarm.forget_deploy(root)  # `inv swarm.rm`: the host's folders are the project's again
    assert swarm.deployed(root) is None
    swarm.refuse_host_backup(root, "backup")


def test_web_resolves_prosody_again_within_seconds(root):
    """Docker's DNS answers with a TTL of 600 s: nginx would keep a replaced prosody task's
    old address that long (502) unless its resolver says valid=."""
    web = stack_of(root)["services"]["jitsi-web"]
    assert "NGINX_RESOLVER=127.0.0.11 valid=10s" in web["environment"]
    with pytest.raises(SettingsError, match=r"^env\.NGINX_RESOLVER: set by jitsi-stack"):
        stack_of(root, NODES + "env: {NGINX_RESOLVER: 192.0.2.53}\n")  # one place decides


@pytest.mark.parametrize(
    ("argv", "instead"),
    [
        (("start",), "change the settings, then `inv swarm.deploy`"),
        (("start", "web"), "change the settings, then `inv swarm.deploy`"),
        (("restart",), "`inv swarm.deploy` (or `docker service update --force` on a manager)"),
        (("update", "--tag", "stable-9999"), "set images.tag, then `inv swarm.deploy`"),
        (("update", "--rollback"), "set images.tag, then `inv swarm.deploy`"),
        (("stop",), "`inv swarm.rm` removes the stack"),
        (("stop", "web"), "`inv swarm.rm` removes the stack"),
        (("logs", "jvb"), "`docker service logs STACK_jitsi-web` on a manager"),
        (("clean", "--yes"), "`inv swarm.rm` first"),
        (("clean", "--all", "--yes"), "`inv swarm.rm` first"),
        (("smoke",), "`inv smoke --url http://NODE:PORT`"),
    ],
)
def test_a_swarm_project_never_gets_a_second_deployment_on_this_engine(root, argv, instead):
    """Once `inv swarm.deploy` ran, the tasks that act on this machine's Compose project
    refuse in one line naming the Swarm way, and change nothing (before: `inv start` started
    a local deployment beside the stack; `rotate-secrets` recreated one)."""
    from tests.support.project import run_cli, tree_snapshot

    write_settings(root, "auth: {enabled: true}\n")
    seed_secrets(root)
    (root / ".jitsi-stack").mkdir(exist_ok=True)
    (root / swarm.DEPLOYED_FILE).write_text('{"stack": "meet"}\n')
    (root / "agents.csv").write_text("name,password\nagent1,a-long-password-1\n")
    before = tree_snapshot(root)
    proc = run_cli(root, *argv, stdin="a-long-password-1\n")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().startswith(
        f"error: {argv[0]}: this project runs as Swarm stack meet, and `inv {argv[0]}` acts on "
        "this machine's Compose project: "
    ), proc.stderr
    assert instead in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert tree_snapshot(root) == before
    (root / swarm.DEPLOYED_FILE).unlink()  # no stack: the same stop goes past the check
    if argv == ("stop",):
        assert "Swarm" not in run_cli(root, "--dry", *argv).stderr


class FakeManager:
    """What the manager answers for a stack whose prosody keeps crashing: `docker stack ps`
    rows (the JSON format: plain names; the table format's ` \\_ ` indent read too), the
    services and their tasks."""

    def __init__(self, v, indent: str = ""):
        self.v = v
        self.indent = indent

    def json_lines(self, *args):
        stack = self.v.stack
        if args[:2] == ("service", "ls"):
            return [
                {"ID": f"id-{s.name}", "Name": f"{stack}_{s.name}", "Replicas": "1/1"}
                for s in self.v.services
            ]
        rows = [
            {"ID": f"t-{s.name}", "Name": f"{stack}_{s.name}.1", "Node": "n1",
             "DesiredState": "Running", "CurrentState": "Running 2 minutes ago", "Error": ""}
            for s in self.v.services if s.name != "jitsi-prosody"
        ]  # fmt: skip
        prosody = f"{stack}_jitsi-prosody.1"
        rows.append({"ID": "p3", "Name": prosody, "Node": "n1", "DesiredState": "Running",
                     "CurrentState": "Starting 1 second ago", "Error": ""})  # fmt: skip
        for n in (2, 1):
            rows.append({"ID": f"p{n}", "Name": f"{self.indent}{prosody}", "Node": "n1",
                         "DesiredState": "Shutdown", "CurrentState": f"Failed {n}0 seconds ago",
                         "Error": "task: non-zero exit (1)"})  # fmt: skip
        return rows

    def inspect(self, kind, ids, *extra):
        spec = {"Image": "x"}
        if kind == "service":
            return [
                {
                    "ID": i,
                    "Spec": {
                        "Name": f"{self.v.stack}_{i.removeprefix('id-')}",
                        "TaskTemplate": {"ContainerSpec": spec},
                    },
                }
                for i in ids
            ]
        return [{"ID": i, "ServiceID": f"id-{i.removeprefix('t-')}",
                 "Status": {"State": "running"}, "Spec": {"ContainerSpec": spec}}
                for i in ids if i.startswith("t-")]  # fmt: skip


@pytest.mark.parametrize("indent", ["", " \\_ "])
def test_a_crash_looping_task_is_failing_with_its_error_and_count(root, indent):
    """Before: a prosody task that kept exiting showed "starting" and no error (issue 24)."""
    _s, _d, _values, v = load(root)
    states = {st.name: st for st in swarm_cluster.service_states(FakeManager(v, indent), v)}
    prosody = states["jitsi-prosody"]
    assert (prosody.state, prosody.failed, prosody.error) == (
        "failing",
        2,
        "task: non-zero exit (1)",
    )
    assert states["jitsi-web"].state == "ok" and states["jitsi-web"].failed == 0
