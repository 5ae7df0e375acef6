"""`inv swarm.deploy`, `swarm.status` and `swarm.rm`: the stack of swarm.py on a real Swarm.

Deploy checks the Swarm before it changes anything (the manager answers, every placement
constraint matches a ready node), then writes the stack file, hands the passwords to
`docker stack deploy` as files of a private directory removed right after, and waits
until every service runs its tasks (a task with a healthcheck counts once healthy).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import swarm, ui
from ..docker import Runner, Swarm
from ..errors import DockerError, SettingsError, StackError
from ..store import files, safefs

NAMESPACE = "com.docker.stack.namespace"


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    role: str
    state: str
    availability: str
    address: str
    labels: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.state == "ready" and self.availability == "active"

    def matches(self, constraint: str) -> bool:
        left, _, right = (part.strip() for part in constraint.partition("=="))
        if left == "node.role":
            return self.role == right
        if left == "node.hostname":
            return self.hostname == right
        if left.startswith("node.labels."):
            return self.labels.get(left.removeprefix("node.labels.")) == right
        return True  # not ours: Swarm decides


@dataclass(frozen=True)
class ServiceState:
    name: str
    mode: str
    running: int
    desired: int
    nodes: tuple[str, ...]
    state: str  # ok | starting | failing | missing
    error: str = ""
    # the service's tasks that ended failed or rejected, in Swarm's task history (5 per
    # slot by default: the Swarm's TaskHistoryRetentionLimit): a count that grows while
    # a task keeps failing, as `docker service ps` lists them
    failed: int = 0


def client(s, runner: Runner, stack: str) -> Swarm:
    return Swarm(runner, stack, s["swarm.docker_host"])


def manager_error(s, err: DockerError) -> StackError:
    text = (err.stderr or str(err)).lower()
    where = s["swarm.docker_host"] or "the local Docker engine"
    if "not a swarm manager" in text or "swarm mode" in text:
        return StackError(
            f"swarm.docker_host: {where} is not a Swarm manager: point swarm.docker_host at a "
            "manager node (`docker node ls` works there)"
        )
    return err


def nodes(s, sw: Swarm) -> list[Node]:
    try:
        rows = sw.json_lines("node", "ls")
        found = sw.inspect("node", [r["ID"] for r in rows])
    except DockerError as err:
        raise manager_error(s, err) from None
    out = []
    for n in found:
        spec, status = n.get("Spec", {}), n.get("Status", {})
        address = status.get("Addr", "")
        if n.get("ManagerStatus", {}).get("Addr"):
            address = n["ManagerStatus"]["Addr"].rsplit(":", 1)[0]
        out.append(
            Node(
                id=n["ID"],
                hostname=n.get("Description", {}).get("Hostname", ""),
                role=spec.get("Role", ""),
                state=status.get("State", ""),
                availability=spec.get("Availability", ""),
                address=address,
                labels=dict(spec.get("Labels") or {}),
            )
        )
    return sorted(out, key=lambda n: n.hostname)


def _setting_of(s, constraint: str, svc: swarm.SwarmService) -> str:
    for key in ("swarm.core_label", "swarm.bridge_label"):
        if s[key] and constraint == swarm.label_constraint(s[key]):
            return key
    if constraint.startswith("node.hostname") and svc.kind == "prosody":
        return "swarm.prosody_node"
    if constraint.startswith("node.hostname"):
        return f"swarm.nodes.{constraint.partition('==')[2].strip()}"
    return "swarm.core_label"  # node.role == manager: its default


def check_placement(s, v: swarm.SwarmView, found: list[Node]) -> None:
    """Every service can be placed on a ready node: else one line naming the setting."""
    usable = [n for n in found if n.usable]
    names = ", ".join(n.hostname for n in usable) or "none"
    for svc in v.services:
        if any(all(n.matches(c) for c in svc.constraints) for n in usable):
            continue
        missing = [c for c in svc.constraints if not any(n.matches(c) for n in usable)]
        # each matches some node, not all one node: the label the named node lacks (the
        # pinned prosody node: that node, which the core placement does not allow)
        pinned = svc.kind == "prosody" and not missing and v.prosody_node
        bad = (missing or [c for c in svc.constraints if ("hostname" in c) == bool(pinned)])[0]
        key = _setting_of(s, bad, svc)
        if pinned:
            core = s["swarm.core_label"] or "a manager node"
            fix = f"name a node that is also {core} (swarm.core_label), or label it so"
        elif key.startswith("swarm.nodes.") or key == "swarm.prosody_node":
            fix = "name a node `docker node ls` shows, or remove it"
        elif key == "swarm.core_label" and not s[key]:
            fix = "no ready manager: check `docker node ls`"
        else:
            label = s[key] or ""
            fix = f"add it with `docker node update --label-add {label} NODE`, or change {key}"
        raise SettingsError(
            [
                f"{key}: {bad!r} matches no ready node of the swarm (nodes: {names}) for "
                f"{svc.name}{f' on {svc.node}' if svc.node else ''}: {fix}"
            ]
        )


def deploy(
    root: Path, runner: Runner, timeout: float, **loaded
) -> tuple[swarm.SwarmView, list[ServiceState]]:
    """loaded: the settings and Deployment the command has (swarm.load's keywords)."""
    s, d, values, v = swarm.load(root, dry=runner.dry, **loaded)
    sw = client(s, runner, v.stack)
    if not runner.dry:
        check_placement(s, v, nodes(s, sw))
    for warning in v.warnings:
        ui.warn(warning)
    swarm.write(d.root, swarm.render(v), dry=runner.dry)
    secret_files = swarm.secret_files(v, d, values)
    try:
        if not runner.dry:
            for rel, value in secret_files.items():
                files.write_atomic(d.root, rel, value, mode=0o600)
            swarm.record_deploy(d.root, v)
        sw.deploy(d.root / swarm.STACK_FILE)
    finally:
        if not runner.dry:
            safefs.safe_remove(d.root, d.root / swarm.SECRETS_DIR)
    if runner.dry:
        return v, []
    states = wait(s, sw, v, timeout)
    prune_unused(sw, v)
    return v, states


def prune_unused(sw: Swarm, v: swarm.SwarmView) -> None:
    """Secrets and configs of earlier deploys (a rotated password) no task uses now."""
    keep = {*v.secret_names.values(), *(name for name, _ in v.configs.values())}
    for kind in ("secret", "config"):
        rows = sw.json_lines(kind, "ls", "--filter", f"label={NAMESPACE}={v.stack}")
        old = [r["Name"] for r in rows if r["Name"] not in keep]
        if old:
            sw.run(kind, "rm", *old, check=False)


def service_states(sw: Swarm, v: swarm.SwarmView) -> list[ServiceState]:
    """Each service: its tasks that run the current spec (a task with a healthcheck runs
    once healthy), against the number wanted. A task of the spec before a deploy does not
    count: `docker stack deploy` returns before Swarm has replaced it."""
    rows = {
        r["Name"]: r
        for r in sw.json_lines("service", "ls", "--filter", f"label={NAMESPACE}={v.stack}")
    }
    specs = {s["Spec"]["Name"]: s for s in sw.inspect("service", [r["ID"] for r in rows.values()])}
    listed = sw.json_lines("stack", "ps", "--no-trunc", v.stack) if rows else []
    hosts = {r["ID"]: r.get("Node", "") for r in listed}
    live = [r["ID"] for r in listed if r.get("DesiredState") == "Running"]
    tasks = sw.inspect("inspect", live, "--type", "task")
    out = []
    for svc in v.services:
        full = f"{v.stack}_{svc.name}"
        row, spec = rows.get(full), specs.get(full)
        if row is None or spec is None:
            out.append(ServiceState(svc.name, svc.mode, 0, 0, (), "missing"))
            continue
        want = _essence(spec["Spec"]["TaskTemplate"].get("ContainerSpec"))
        mine = [t for t in tasks if t.get("ServiceID") == spec["ID"]]
        current = [
            t
            for t in mine
            if t.get("Status", {}).get("State") == "running"
            and _essence(t.get("Spec", {}).get("ContainerSpec")) == want
        ]
        history = [r for r in listed if _task_service(r["Name"]) == full]
        errors = [e for e in (r.get("Error", "") for r in history) if e]
        failed = sum(
            1 for r in history if str(r.get("CurrentState", "")).startswith(("Failed", "Rejected"))
        )
        _up, _, wanted = str(row.get("Replicas", "0/0")).partition("/")
        desired = _int(wanted.split()[0] if wanted else "0")
        state = "ok" if desired and len(current) >= desired else "starting"
        if state != "ok" and (errors or failed):
            state = "failing"
        out.append(
            ServiceState(
                svc.name,
                svc.mode,
                len(current),
                desired,
                tuple(sorted(hosts.get(t["ID"], "") for t in current)),
                state,
                errors[0] if errors and state != "ok" else "",
                failed,
            )
        )
    return out


def _task_service(name: str) -> str:
    """`meet_jitsi-web.1` -> meet_jitsi-web. An older task of a slot is `\\_ meet_...`
    in the table format (docker/cli cli/command/task/print.go indents it; formats other
    than table get the plain name in current releases): read both."""
    return name.strip().removeprefix("\\_").strip().split(".")[0]


SPEC_KEYS = ("Image", "Command", "Args", "Env", "Secrets", "Configs", "Mounts", "Healthcheck")


def _essence(spec: dict | None) -> tuple:
    """What a deploy changes in a container spec (a task's copy lacks some defaults)."""
    spec = spec or {}
    return tuple(repr(spec.get(key)) for key in SPEC_KEYS)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def wait(s, sw: Swarm, v: swarm.SwarmView, timeout: float) -> list[ServiceState]:
    deadline = time.monotonic() + timeout
    while True:
        states = service_states(sw, v)
        if all(st.state == "ok" for st in states):
            return states
        if time.monotonic() > deadline:
            late = [st for st in states if st.state != "ok"]
            first = late[0]
            cause = f": {first.error}" if first.error else ""
            raise StackError(
                f"swarm: {', '.join(st.name for st in late)} not running after {timeout:.0f}s "
                f"({first.name} {first.running}/{first.desired}{cause}): see `inv swarm.status` "
                "and `docker service ps`"
            )
        time.sleep(1)


def status(root: Path, runner: Runner, **loaded) -> dict:
    s, _d, _values, v = swarm.load(root, **loaded)
    sw = client(s, runner, v.stack)
    found = nodes(s, sw)
    states = service_states(sw, v)
    per_node: dict[str, list[str]] = {n.hostname: [] for n in found}
    for st in states:
        for host in st.nodes:
            per_node.setdefault(host, []).append(st.name)
    return {
        "stack": v.stack,
        "converged": all(st.state == "ok" for st in states),
        "services": [asdict(st) | {"nodes": list(st.nodes)} for st in states],
        "nodes": [
            {
                "hostname": n.hostname,
                "role": n.role,
                "state": n.state,
                "availability": n.availability,
                "address": n.address,
                "services": sorted(per_node.get(n.hostname, [])),
            }
            for n in found
        ],
    }


def show_status(view: dict) -> None:
    ui.show(
        ui.table(
            f"stack {view['stack']}",
            ["service", "mode", "tasks", "nodes", "health", "failed tasks", "error"],
            [
                [
                    r["name"],
                    r["mode"],
                    f"{r['running']}/{r['desired']}",
                    ",".join(r["nodes"]) or "-",
                    r["state"],
                    str(r["failed"]),
                    r["error"] or "",
                ]
                for r in view["services"]
            ],
        )
    )
    ui.show(
        ui.table(
            "nodes",
            ["node", "role", "state", "availability", "address", "services"],
            [
                [
                    n["hostname"],
                    n["role"],
                    n["state"],
                    n["availability"],
                    n["address"],
                    ",".join(n["services"]) or "-",
                ]
                for n in view["nodes"]
            ],
        )
    )


def remove(root: Path, runner: Runner, timeout: float = 120, **loaded) -> tuple[list[str], str]:
    """`docker stack rm`, then wait until its services, networks, secrets and configs are
    gone (stack rm returns before the tasks have stopped): (["nothing"] when no stack was
    there, else [], prosody's data volume, which stays on its node)."""
    s, _d, _values, v = swarm.load(root, **loaded)
    sw = client(s, runner, v.stack)
    label = f"label={NAMESPACE}={v.stack}"
    try:
        present = sw.json_lines("service", "ls", "--filter", label)
    except DockerError as err:
        raise manager_error(s, err) from None
    sw.remove()
    if runner.dry:
        return [], v.prosody_volume
    deadline = time.monotonic() + timeout
    left: list[str] = []
    while time.monotonic() < deadline:
        left = []
        for kind in ("service", "network", "secret", "config"):
            rows = sw.json_lines(kind, "ls", "--filter", label)
            if rows:
                left.append(kind)
                if kind != "service":  # removed by stack rm once the tasks are gone
                    sw.run(kind, "rm", *[r.get("Name") or r["ID"] for r in rows], check=False)
        if not left:
            swarm.forget_deploy(root)
            return ([] if present else ["nothing"]), v.prosody_volume
        time.sleep(1)
    raise StackError(
        f"swarm: {', '.join(left)} of stack {v.stack} still there after {timeout:.0f}s: "
        "run `inv swarm.rm` again"
    )
