"""The Swarm stack on a real two-node Swarm (Docker-in-Docker nodes from Debian's
docker.io, the stand-in images from Debian's docker-registry): `inv swarm.deploy` converges
without depends_on, one bridge per node answers on its node's address, jicofo counts the
bridges of both nodes, smoke passes against the swarm's web, the passwords are Swarm
secrets, an agent account survives a replaced prosody task (its data volume), a node label
that matches no node changes nothing, `inv swarm.rm` leaves nothing but prosody's data.
The host engine never enters swarm mode."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
import yaml

from tests.support.project import inv, write_settings

pytestmark = pytest.mark.docker

STACK = "jssw"
HTTP = 19961
MEDIA = 39100
DEPLOYED: dict = {}  # what `inv swarm.deploy --json` printed
SETTINGS = """
project_name: {p}
container_prefix: {p}
network: {{name: {p}-platform}}
public_url: http://{web}:{http}
ports: {{http: {http}, jvb_media: {media}}}
images: {{repository: {repo}, tag: swarm}}
health: {{timeout: 120, interval: 2}}
swarm:
  docker_host: {host}
  bridge_label: {label}
  nodes: {{jssw-n1: [{ip1}], jssw-n2: [{ip2}]}}
"""


def settings(cluster, repo: str, label: str = "jitsi.jvb=true") -> str:
    return SETTINGS.format(
        p=STACK,
        web=cluster.ip("jssw-n1"),
        http=HTTP,
        media=MEDIA,
        repo=repo,
        host=cluster.docker_host,
        label=label,
        ip1=cluster.ip("jssw-n1"),
        ip2=cluster.ip("jssw-n2"),
    )


def engine_swarm_state() -> str:
    out = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.fixture(scope="module")
def cluster(testbed_images):
    from tests.support.swarm.cluster import Cluster

    labels = {"jssw-n1": {"jitsi.jvb": "true"}, "jssw-n2": {"jitsi.jvb": "true"}}
    with Cluster(labels=labels) as cl:
        cl.repo = cl.push_testbed()
        yield cl
    assert engine_swarm_state() in ("inactive", ""), "the host engine must stay out of swarm mode"


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("swarm") / "project"
    base.mkdir()
    write_settings(base, settings(cluster, cluster.repo))
    proc = inv(base, "swarm.deploy", "--timeout", "180", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    DEPLOYED["view"] = json.loads(proc.stdout)
    yield base
    inv(base, "swarm.rm")


def container_of(cluster, node: str, service: str) -> str:
    out = cluster.on(node, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}")
    ids = out.stdout.split()
    assert len(ids) == 1, f"{service} on {node}: {ids}"
    return ids[0]


def test_deploy_converges_without_depends_on_and_places_one_bridge_per_node(project):
    view = DEPLOYED["view"]
    assert view["converged"] is True
    rows = {r["name"]: r for r in view["services"]}
    assert rows["jitsi-jvb-jssw-n1"]["nodes"] == ["jssw-n1"]
    assert rows["jitsi-jvb-jssw-n2"]["nodes"] == ["jssw-n2"]
    for name in ("jitsi-web", "jitsi-prosody", "jitsi-jicofo"):  # placed on the manager
        assert rows[name]["nodes"] == ["jssw-n1"] and rows[name]["state"] == "ok", rows[name]
    nodes = {n["hostname"]: n for n in view["nodes"]}
    assert nodes["jssw-n2"]["services"] == ["jitsi-jvb-jssw-n2"]
    stack = yaml.safe_load((project / "swarm/stack.yml").read_text())
    assert all("depends_on" not in svc for svc in stack["services"].values())
    status = inv(project, "swarm.status")
    assert status.returncode == 0 and "jitsi-jvb-jssw-n2" in status.stdout, status.stdout


def this_engines_share(project_name: str) -> list[str]:
    """This machine's engine's containers of a Compose project of that name."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}", "--filter",
         f"label=com.docker.compose.project={project_name}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sorted(out.stdout.splitlines())


def test_every_task_acts_on_the_swarm_or_refuses_and_this_engine_is_left_alone(project):
    """A Swarm project's `inv status` shows the stack (swarm.status's view, from the
    manager); the tasks that would act on this machine's Compose project refuse in one line
    naming the Swarm way. Before: `inv rotate-secrets` rendered and ran `docker compose up
    --force-recreate` here, `inv status` showed an empty local project."""
    before = this_engines_share(STACK)
    status = inv(project, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    view = json.loads(status.stdout)
    assert view["converged"] is True
    assert {"jitsi-jvb-jssw-n1", "jitsi-jvb-jssw-n2"} <= {r["name"] for r in view["services"]}
    table = inv(project, "status")
    assert table.returncode == 0 and "jitsi-jvb-jssw-n2" in table.stdout, table.stdout
    for args in (("stop",), ("logs", "web"), ("clean", "--yes"), ("smoke",), ("start",)):
        refused = inv(project, *args)
        assert refused.returncode == 2, (args, refused.stdout + refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and f"runs as Swarm stack {STACK}" in lines[0], (args, lines)
    assert this_engines_share(STACK) == before == []


def test_each_nodes_udp_media_port_answers_on_that_nodes_address(project, cluster):
    """A datagram to node N's address reaches node N's bridge: the stand-in binds the media
    port and reads nothing, so the datagram waits in that socket's receive queue."""

    def queued(node: str) -> int:
        cid = container_of(cluster, node, f"{STACK}_jitsi-jvb-{node}")
        table = cluster.on(node, "exec", cid, "cat", "/proc/net/udp").stdout
        rows = [line.split() for line in table.splitlines()[1:]]
        row = next(r for r in rows if r[1].endswith(f":{MEDIA:04X}"))  # local_address
        return int(row[4].split(":")[1], 16)  # tx_queue:rx_queue

    for node in ("jssw-n1", "jssw-n2"):
        other = "jssw-n2" if node == "jssw-n1" else "jssw-n1"
        before, before_other = queued(node), queued(other)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"jssw probe " + node.encode(), (cluster.ip(node), MEDIA))
        deadline = time.monotonic() + 5
        while queued(node) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queued(node) > before, f"{node}'s bridge got nothing on {cluster.ip(node)}"
        assert queued(other) == before_other, f"{other}'s bridge got {node}'s datagram"


def test_jicofo_counts_the_bridges_of_both_nodes(project, cluster):
    cid = container_of(cluster, "jssw-n1", f"{STACK}_jitsi-jicofo")
    out = cluster.on("jssw-n1", "exec", cid, "curl", "-fsS", "http://127.0.0.1:8888/stats")
    stats = json.loads(out.stdout)["bridge_selector"]
    assert (stats["bridge_count"], stats["operational_bridge_count"]) == (2, 2), stats
    for node in ("jssw-n1", "jssw-n2"):  # each bridge advertises its own node's address
        spec = cluster.manager(
            "service", "inspect", f"{STACK}_jitsi-jvb-{node}", "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
        )  # fmt: skip
        env = json.loads(spec.stdout)
        assert f"JVB_ADVERTISE_IPS={cluster.ip(node)}" in env
        assert f"JVB_MUC_NICKNAME=jvb-{node}" in env


def test_smoke_passes_against_the_swarms_web(project, cluster):
    url = f"http://{cluster.ip('jssw-n1')}:{HTTP}"
    proc = inv(project, "smoke", "--url", url, "--json")
    results = {r["name"]: r["status"] for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, results
    assert "fail" not in results.values(), results
    # the browser's path, a guest's conference request and room join (bosh) included;
    # the checks that need this machine's containers or loopback ports skip (remote URL)
    for name in ("web", "config-js", "bosh", "websocket"):
        assert results[name] == "pass", results
    assert results["prosody-health"] == results["jicofo-health"] == "skip", results
    # the bridges' addresses come from swarm.nodes (before: "no advertised addresses")
    assert results["advertise-ips"] == "pass", results


def test_passwords_are_swarm_secrets_and_never_in_clear(project, cluster):
    from jitsi_stack.store import secrets

    values = secrets.read(project)
    assert values
    names = cluster.manager("secret", "ls", "--format", "{{.Name}}").stdout.split()
    assert any(n.startswith(f"{STACK}_JVB_AUTH_PASSWORD_") for n in names), names
    specs = cluster.manager("service", "inspect", *[
        f"{STACK}_{s}" for s in ("jitsi-prosody", "jitsi-jicofo", "jitsi-jvb-jssw-n2")
    ]).stdout  # fmt: skip
    texts = [specs, *(p.read_text() for p in (project / "swarm").iterdir())]
    for value in values.values():
        assert all(value not in text for text in texts)
    assert not (project / ".jitsi-stack/swarm-secrets").exists()
    # the value the bridge logged in with is the one of secrets.env (jicofo counted it)
    cid = container_of(cluster, "jssw-n2", f"{STACK}_jitsi-jvb-jssw-n2")
    mounted = cluster.on("jssw-n2", "exec", cid, "cat", "/run/secrets/JVB_AUTH_PASSWORD").stdout
    assert mounted == values["JVB_AUTH_PASSWORD"]


def test_global_bridges_run_one_per_labelled_node_and_recover_without_depends_on(project, cluster):
    """Without swarm.nodes: one global bridge service, a task per labelled node (each its own
    brewery nickname); then prosody is replaced under them and everything converges again."""
    text = settings(cluster, cluster.repo)
    text = text.replace("  nodes: {jssw-n1", "  # nodes: {jssw-n1")
    write_settings(project, text + "jvb: {stun_server: '192.168.239.1:3478'}\n")
    try:
        proc = inv(project, "swarm.deploy", "--timeout", "180", "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        rows = {r["name"]: r for r in json.loads(proc.stdout)["services"]}
        assert set(rows) == {"jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"}
        assert rows["jitsi-jvb"]["mode"] == "global"
        assert rows["jitsi-jvb"]["nodes"] == ["jssw-n1", "jssw-n2"]
        cluster.manager("service", "update", "--detach", "--force", f"{STACK}_jitsi-prosody")
        deadline = time.monotonic() + 120
        stats = {}
        while time.monotonic() < deadline:
            time.sleep(2)
            status = inv(project, "swarm.status", "--json")
            if status.returncode != 0:
                continue
            cid = container_of(cluster, "jssw-n1", f"{STACK}_jitsi-jicofo")
            out = cluster.on("jssw-n1", "exec", cid, "curl", "-fsS", "http://127.0.0.1:8888/stats")
            stats = json.loads(out.stdout)["bridge_selector"]
            if stats["operational_bridge_count"] == 2:
                break
        assert stats.get("operational_bridge_count") == 2, stats
    finally:
        write_settings(project, settings(cluster, cluster.repo))
        assert inv(project, "swarm.deploy", "--timeout", "180").returncode == 0


def test_a_bridge_spec_change_rolls_one_node_at_a_time_with_the_stop_grace_period(project, cluster):
    """Global bridges (one service, a task per node): the stack's update_config (parallelism
    1, stop-first, delay 10s) and stop_grace_period 30s are in the service's spec, and a
    changed bridge setting replaces the node's tasks one after the other, not together."""
    text = settings(cluster, cluster.repo).replace("  nodes: {jssw-n1", "  # nodes: {jssw-n1")
    service = f"{STACK}_jitsi-jvb"

    def deploy(stun: str) -> None:
        write_settings(project, text + f"jvb: {{stun_server: '{stun}'}}\n")
        proc = inv(project, "swarm.deploy", "--timeout", "180")
        assert proc.returncode == 0, proc.stdout + proc.stderr

    try:
        deploy("192.168.239.1:3478")
        spec = json.loads(cluster.manager("service", "inspect", service).stdout)[0]["Spec"]
        assert spec["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 30 * 10**9
        update = spec["UpdateConfig"]
        assert (update["Parallelism"], update["Order"], update["FailureAction"]) == (
            1,
            "stop-first",
            "rollback",
        )
        assert update["Delay"] == 10 * 10**9
        deploy("192.168.239.2:3478")  # a changed bridge spec: every node's task is replaced
        deadline = time.monotonic() + 180
        state = ""
        while time.monotonic() < deadline:  # the sign: Swarm says the update completed
            info = json.loads(cluster.manager("service", "inspect", service).stdout)[0]
            state = (info.get("UpdateStatus") or {}).get("State", "")
            if state in ("completed", "paused", "rollback_completed"):
                break
            time.sleep(1)
        assert state == "completed", info.get("UpdateStatus")
        ids = cluster.manager("service", "ps", "-q", "--no-trunc", service).stdout.split()
        tasks = json.loads(cluster.manager("inspect", *ids).stdout)
        new = sorted(
            (t for t in tasks if t["DesiredState"] == "running"),
            key=lambda t: t["CreatedAt"],
        )
        assert len(new) == 2 and len({t["NodeID"] for t in new}) == 2, new
        for task in new:  # both on the new spec
            assert "JVB_STUN_SERVERS=192.168.239.2:3478" in task["Spec"]["ContainerSpec"]["Env"]
        import datetime as dt

        def when(stamp: str) -> dt.datetime:
            return dt.datetime.fromisoformat(stamp[:26].rstrip("Z"))

        gap = (when(new[1]["CreatedAt"]) - when(new[0]["CreatedAt"])).total_seconds()
        assert gap >= 10, gap  # the second node's task came after the first, plus the delay
    finally:
        write_settings(project, settings(cluster, cluster.repo))
        assert inv(project, "swarm.deploy", "--timeout", "180").returncode == 0


AGENT, AGENT_PASSWORD = "agent042", "Swarm-pass-042"
# agent accounts: internal auth, prosody (and its data volume) pinned to the manager
INTERNAL_AUTH = "  prosody_node: jssw-n1\nauth: {enabled: true, type: internal, guests: true}\n"


def agent_login(cluster) -> str:
    """SASL PLAIN over BOSH through the swarm's web, as the login dialog does."""
    from jitsi_stack.smoke.xmpp import BoshClient, Deadline

    url = f"http://{cluster.ip('jssw-n1')}:{HTTP}/http-bind"
    client = BoshClient(url, "meet.jitsi", Deadline(15))
    try:
        client.connect()
        client.login_plain(AGENT, AGENT_PASSWORD)
        return client.bind()
    finally:
        client.terminate()


def prosody_node(project) -> str:
    """The node that runs prosody's task (the stack has converged)."""
    status = inv(project, "swarm.status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {r["name"]: r for r in json.loads(status.stdout)["services"]}
    (node,) = rows["jitsi-prosody"]["nodes"]
    return node


def test_agent_accounts_survive_a_replaced_prosody_task(project, cluster):
    """An agent account made in prosody (prosodyctl's admin shell in the task's container,
    on its node's engine) still logs in after `docker service update --force` replaced the
    prosody task with a new container. Before the named volume (commit 36de728's run):
    "not-authorized", the account had lived in the old container's layer."""
    from jitsi_stack.smoke.xmpp import SaslError

    write_settings(project, settings(cluster, cluster.repo) + INTERNAL_AUTH)
    try:
        proc = inv(project, "swarm.deploy", "--timeout", "180")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        node = prosody_node(project)
        before = container_of(cluster, node, f"{STACK}_jitsi-prosody")
        # inv users.* act on the stack's prosody task through the manager (before: refused)
        made = inv(project, "users.add", AGENT, "--password-stdin", input_text=AGENT_PASSWORD)
        assert made.returncode == 0, made.stdout + made.stderr
        assert AGENT_PASSWORD not in made.stdout + made.stderr
        listed = inv(project, "users.list", "--json")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert AGENT in listed.stdout
        assert agent_login(cluster)
        # inv backup / restore would read and write this host's folders: refused, one line
        for args in (("backup",), ("restore", "nothing.tar.gz")):
            refused = inv(project, *args)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert f"volume {STACK}_prosody-data on jssw-n1" in refused.stderr
        assert not (project / "backups").exists()

        cluster.manager("service", "update", "--detach", "--force", f"{STACK}_jitsi-prosody")
        replaced = time.monotonic()
        deadline = time.monotonic() + 150
        after, node_after, last = before, node, ""
        while time.monotonic() < deadline:
            time.sleep(2)
            status = inv(project, "swarm.status", "--json")
            if status.returncode != 0:
                continue
            node_after = prosody_node(project)
            after = container_of(cluster, node_after, f"{STACK}_jitsi-prosody")
            if after == before:
                continue
            try:
                assert agent_login(cluster)
                last = ""
                break
            except SaslError as exc:
                last = f"{exc.condition}: {exc}"
                if exc.condition == "not-authorized":
                    break
            except Exception as exc:  # the web's upstream not answering yet
                last = repr(exc)
        assert after != before, "prosody was not replaced"
        assert node_after == "jssw-n1"  # pinned: the volume is there
        assert not last, f"{AGENT} no longer logs in after prosody moved to {after[:12]}: {last}"
        print(f"\nagent logged in {time.monotonic() - replaced:.1f}s after the forced update")
        backup_and_restore_the_volume_as_the_docs_say(cluster)
    finally:
        write_settings(project, settings(cluster, cluster.repo))
        assert inv(project, "swarm.deploy", "--timeout", "180").returncode == 0


def backup_and_restore_the_volume_as_the_docs_say(cluster) -> None:
    """docs/scaling.md, "Backup on Swarm": with prosody scaled to 0, tar the volume out
    through the node's engine with the prosody image; the volume emptied (a new node);
    tar it back in, scale to 1: the agent logs in again."""
    from jitsi_stack.smoke.xmpp import SaslError
    from tests.support.swarm.cluster import sh

    service, volume = f"{STACK}_jitsi-prosody", f"{STACK}_prosody-data"
    image = f"{cluster.repo}/prosody:swarm"
    tar = f"docker run --rm -i --entrypoint tar -v {volume}:/var/lib/prosody"

    def scale(replicas: int) -> None:
        cluster.manager("service", "scale", "--detach", f"{service}={replicas}")

    scale(0)
    deadline = time.monotonic() + 60
    label = f"label=com.docker.swarm.service.name={service}"
    while cluster.on("jssw-n1", "ps", "-q", "--filter", label).stdout.strip():
        assert time.monotonic() < deadline, "prosody did not stop"
        time.sleep(1)
    sh("docker", "exec", "jssw-n1", "sh", "-c",
       f"{tar}:ro {image} -C /var/lib/prosody -cz . > /tmp/prosody-data.tar.gz")  # fmt: skip
    cluster.on("jssw-n1", "run", "--rm", "--entrypoint", "sh", "-v", f"{volume}:/var/lib/prosody",
               image, "-c", "rm -rf /var/lib/prosody/data")  # fmt: skip
    empty = cluster.on("jssw-n1", "run", "--rm", "--entrypoint", "ls", "-v",
                       f"{volume}:/var/lib/prosody", image, "-A", "/var/lib/prosody")  # fmt: skip
    assert "data" not in empty.stdout.split(), empty.stdout
    sh("docker", "exec", "jssw-n1", "sh", "-c",
       f"{tar} {image} -C /var/lib/prosody -xz < /tmp/prosody-data.tar.gz")  # fmt: skip
    scale(1)
    deadline, last = time.monotonic() + 150, "not tried"
    while time.monotonic() < deadline:
        time.sleep(2)
        try:
            assert agent_login(cluster)
            return
        except SaslError as exc:
            last = f"{exc.condition}: {exc}"
            if exc.condition == "not-authorized":
                break
        except Exception as exc:  # prosody not up yet
            last = repr(exc)
    tasks = cluster.manager("service", "ps", "--no-trunc", service, check=False).stdout
    logs = cluster.manager("service", "logs", "--tail", "30", service, check=False)
    raise AssertionError(
        f"{AGENT} does not log in after the volume's restore: {last}\n{tasks}\n"
        f"{logs.stdout}{logs.stderr}"
    )


def test_rotate_secrets_acts_on_the_swarm_and_the_bridges_log_in_again(project, cluster):
    """`inv rotate-secrets` on a Swarm project: the internal accounts deleted in prosody's
    task through the manager, new secrets, the stack deployed again; jicofo counts both
    nodes' bridges (they logged in with the new password), a guest joins through web, and
    this machine's engine is untouched. Before: it ran `docker compose up` here."""
    from jitsi_stack.store import secrets

    before = secrets.read(project)
    local = this_engines_share(STACK)
    proc = inv(project, "rotate-secrets", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = secrets.read(project)
    assert after["JVB_AUTH_PASSWORD"] != before["JVB_AUTH_PASSWORD"]
    for value in (before["JVB_AUTH_PASSWORD"], after["JVB_AUTH_PASSWORD"]):
        assert value not in proc.stdout + proc.stderr
    deadline, stats = time.monotonic() + 120, {}
    label = f"label=com.docker.swarm.service.name={STACK}_jitsi-jicofo"
    while time.monotonic() < deadline and stats.get("operational_bridge_count") != 2:
        # jicofo's task may be between containers: ask whichever runs
        for cid in cluster.on("jssw-n1", "ps", "-q", "--filter", label, check=False).stdout.split():
            out = cluster.on("jssw-n1", "exec", cid, "curl", "-fsS",
                             "http://127.0.0.1:8888/stats", check=False)  # fmt: skip
            if out.returncode == 0:
                stats = json.loads(out.stdout)["bridge_selector"]
        time.sleep(2)
    assert stats.get("operational_bridge_count") == 2, stats
    url = f"http://{cluster.ip('jssw-n1')}:{HTTP}"
    smoke = inv(project, "smoke", "--url", url, "--json")
    results = {r["name"]: r["status"] for r in json.loads(smoke.stdout)}
    assert results["bosh"] == results["websocket"] == "pass", results
    assert this_engines_share(STACK) == local == []


def test_a_label_that_matches_no_node_changes_nothing(project, cluster):
    before_file = (project / "swarm/stack.yml").read_bytes()
    # the specs, not Version.Index: Swarm bumps that when an earlier rolling update's
    # status turns "completed", seconds after the tasks run (the test before redeploys)
    fmt = "{{json .Spec}} {{json .PreviousSpec}}"
    ids = cluster.manager("service", "ls", "-q").stdout.split()
    before = cluster.manager("service", "inspect", "--format", fmt, *ids).stdout
    write_settings(project, settings(cluster, cluster.repo, label="jitsi.jvb=nowhere"))
    try:
        proc = inv(project, "swarm.deploy")
    finally:
        write_settings(project, settings(cluster, cluster.repo))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: swarm.bridge_label:"), lines
    assert "jitsi.jvb=nowhere" in lines[0] and "--label-add" in lines[0]
    assert (project / "swarm/stack.yml").read_bytes() == before_file
    assert cluster.manager("service", "inspect", "--format", fmt, *ids).stdout == before


def test_rm_leaves_nothing(project, cluster):
    proc = inv(project, "swarm.rm")
    assert proc.returncode == 0, proc.stderr
    assert f"kept prosody's data: the volume {STACK}_prosody-data" in proc.stderr
    label = f"label=com.docker.stack.namespace={STACK}"
    for kind in ("service", "network", "secret", "config"):
        assert cluster.manager(kind, "ls", "-q", "--filter", label).stdout.split() == [], kind
    deadline = time.monotonic() + 60
    for node in cluster.nodes:  # each node's agent removes its task containers and volumes
        kept = [f"{STACK}_prosody-data"] if node == "jssw-n1" else []  # prosody's data stays
        while time.monotonic() < deadline:
            left = cluster.on(node, "ps", "-aq").stdout.split()
            volumes = cluster.on(node, "volume", "ls", "-q").stdout.split()
            if not left and volumes == kept:
                break
            time.sleep(0.5)
        assert (left, volumes) == ([], kept), node
    again = inv(project, "swarm.rm")
    assert again.returncode == 0 and "no stack was deployed" in again.stderr
