"""The Docker Swarm view of the Deployment: `inv swarm.render` writes swarm/stack.yml (and
the secrets wrapper beside it) from the same settings and Deployment as docker-compose.yml.

Names, images, ports, variables, networks and aliases come from the Deployment. What
upstream writes literally (healthchecks, fixed variables, tmpfs sizes, jibri's shm) is
read back from the rendered docker-compose.yml, so neither is kept twice. What
`docker stack deploy` ignores or changes is decided here, on purpose (docs/scaling.md):

- container_name: dropped (Swarm names tasks <stack>_<service>.<slot>.<id>).
- restart: becomes deploy.restart_policy (no -> none, on-failure, else any).
- depends_on: dropped (stack deploy refuses conditions and ignores order); jicofo and
  the bridges retry their login until prosody answers, the restart policy and the
  healthchecks (a task is Running only once healthy) make the stack converge.
- 127.0.0.1 ports (jicofo's REST, the bridge's colibri API) would be published on every
  address: dropped; their healthchecks run inside the containers.
- Other ports: long syntax in host mode (no routing mesh: the bridge sees the client's
  address), services endpoint_mode dnsrr (no virtual IP: works without IPVS).
- .env is not read: every value is written into the stack file, fully interpolated;
  passwords are Swarm secrets (below), never in the file.
- read_only and tmpfs: service-level tmpfs is dropped by stack deploy and tmpfs mounts
  are always noexec on Engine 20.10, which s6 refuses on /run. So the root stays
  writable (/run lives in the container layer) and /tmp is a tmpfs mount (noexec, as
  upstream wants it), of the size the compose file gives.
- jibri's shm_size is ignored: /dev/shm becomes a tmpfs mount of that size.
- healthchecks: kept, from the compose file.
- web's resolver: NGINX_RESOLVER=127.0.0.11 valid=10s comes with the Deployment's env
  (environment.NGINX_RESOLVER), so nginx finds a replaced prosody task within seconds.
- prosody's data (/var/lib/prosody, a bind of jitsi-meet/storage/prosody in the compose
  file) is no VOLUME of upstream's image (docker-jitsi-meet stable-11146-2
  prosody/Dockerfile:83 declares only /config and /prosody-plugins-custom) and every Swarm
  restart is a new container: it is the named volume <stack>_prosody-data, which lives on
  one node. With internal auth (agent accounts) prosody is pinned to swarm.prosody_node,
  so a replaced task finds the same volume; without that setting render refuses.
- Backup and restore read and write this host's folders, which a Swarm deployment does
  not use: refused (refuse_host_backup) while the project has a stack deployed.

Passwords: the images read them only from their environment (no *_FILE support). Each
is a Swarm secret (encrypted in the managers' raft log, mounted in memory at
/run/secrets/<NAME> of the services that read it, uid 1000, mode 0400) whose name
carries a digest of its value, so a rotated password is a new secret. A small wrapper,
shipped as a Swarm config, exports each /run/secrets/<NAME> as NAME and execs the
image's /init. Neither the stack file nor `docker service inspect` shows a value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..errors import SettingsError, StackError, UsageError
from ..settings.rules.swarm import label_constraint, node_ips
from ..store import paths

if TYPE_CHECKING:
    from ..deployment import Deployment, Service
    from ..settings.layers import Settings

STACK_FILE = "swarm/stack.yml"
WRAPPER_FILE = "swarm/with-secrets.sh"
CUSTOM_CONFIG_FILE = "swarm/custom-config.js"  # the web image appends /config/custom-config.js
SECRETS_DIR = f"{paths.STATE_DIR}/swarm-secrets"  # written for a deploy, removed after it
# Written by `inv swarm.deploy`, removed by `inv swarm.rm`: the project runs as a stack.
DEPLOYED_FILE = f"{paths.STATE_DIR}/swarm-stack.json"
# The named volume that keeps prosody's data (accounts) on its node; the stack's name is
# "<stack>_prosody-data".
PROSODY_VOLUME = "prosody-data"
SUPPORTED = ("web", "prosody", "jicofo", "jvb", "jibri")
WRAPPER_TARGET = "/usr/local/bin/jitsi-stack-secrets"
# How upstream's images start: ENTRYPOINT ["/init"] and no CMD (docker-jitsi-meet
# base/Dockerfile); the wrapper runs first, then this.
UPSTREAM_INIT = ("/init",)
RESTART = {"no": "none", "on-failure": "on-failure", "always": "any", "unless-stopped": "any"}
MANAGER = "node.role == manager"
# The setting that switches on a service the stack does not run (else services.<key>).
SWITCH = {"coturn": "turn.enabled", "prometheus": "metrics.enabled", "grafana": "metrics.enabled"}
UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class SwarmService:
    name: str
    key: str
    kind: str  # the upstream service
    image: str
    environment: tuple[str, ...]  # NAME=value, $ written $$
    secrets: tuple[str, ...]  # variable names delivered as Swarm secrets
    ports: tuple[tuple[int, int, str], ...]  # (published, target, protocol), host mode
    networks: tuple[str, ...]
    aliases: tuple[str, ...]
    healthcheck: Mapping
    mode: str  # replicated | global
    constraints: tuple[str, ...]
    tmpfs: tuple[tuple[str, int], ...]  # (target, size in bytes)
    labels: tuple[tuple[str, str], ...]
    configs: tuple[tuple[str, str, int], ...] = ()  # (config key, target, mode)
    node: str = ""  # the node a per-node bridge is placed on
    volumes: tuple[tuple[str, str], ...] = ()  # (named volume key, target)


@dataclass(frozen=True)
class SwarmView:
    stack: str
    services: tuple[SwarmService, ...]
    secret_names: Mapping[str, str]  # variable -> Swarm secret name (value digest)
    configs: Mapping[str, tuple[str, str]]  # key -> (Swarm config name, file beside the stack)
    restart: str
    d: Deployment = field(repr=False, compare=False)
    network: str
    network_external: bool
    internal_network: str
    warnings: tuple[str, ...] = field(default=())
    volumes: Mapping[str, str] = field(default_factory=dict)  # key -> volume name
    prosody_node: str = ""  # the node prosody (and its volume) is pinned to; "" floats

    @property
    def prosody_volume(self) -> str:
        return self.volumes[PROSODY_VOLUME]

    @property
    def constraints(self) -> dict[str, list[str]]:
        """Every placement constraint -> the services that need a node matching it."""
        found: dict[str, list[str]] = {}
        for svc in self.services:
            for constraint in svc.constraints:
                found.setdefault(constraint, []).append(svc.name)
        return found

    def service(self, name: str) -> SwarmService:
        return next(s for s in self.services if s.name == name)


def _digest(text: str) -> str:
    return hashlib.sha256(f"jitsi-stack:{text}".encode()).hexdigest()[:12]


def wrapper_text() -> str:
    from ..render import template_text

    return template_text("swarm/with-secrets.sh.j2", {})


def custom_config_text(d: Deployment) -> str:
    from ..render import _render

    return _render(f"{paths.CUSTOM_CONFIG}.j2", {"d": d})


def _configs(d: Deployment, secrets_used) -> dict[str, tuple[str, str]]:
    """Swarm configs are immutable: each name carries a digest of its content."""
    files = {"custom-config": (custom_config_text(d), CUSTOM_CONFIG_FILE)}
    if secrets_used:
        files["with-secrets"] = (wrapper_text(), WRAPPER_FILE)
    return {
        key: (f"{d.project}_{key}_{_digest(text)}", f"./{rel.rsplit('/', 1)[1]}")
        for key, (text, rel) in files.items()
    }


def _compose_services(d: Deployment) -> dict:
    """The rendered docker-compose.yml's services (no secret is needed to render it)."""
    import yaml

    from ..render import template_text

    context = {"d": d, "dotenv": {}, "config_dir": paths.CONFIG_DIR, "turn_external": []}
    text = template_text(f"{paths.COMPOSE_FILE}.j2", context)
    return yaml.safe_load(text)["services"]


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", str(text).strip().lower())
    if not match:
        raise StackError(f"templates/docker-compose.yml.j2: size {text!r} not understood")
    return int(match.group(1)) * UNITS[match.group(2)]


def _tmp_size(compose: Mapping) -> list[tuple[str, int]]:
    mounts = []
    for spec in compose.get("tmpfs") or ():
        target, _, options = str(spec).partition(":")
        if target == "/tmp":  # the container's /tmp
            size = next((o[5:] for o in options.split(",") if o.startswith("size=")), "16m")
            mounts.append(("/tmp", _size(size)))
    if compose.get("shm_size"):
        mounts.append(("/dev/shm", _size(compose["shm_size"])))
    return mounts


def _is_secret(d: Deployment, name: str) -> bool:
    from ..store.secrets import is_secret_name

    value = d.env.get(name)
    return value is None or is_secret_name(name) or value in d.hidden_settings


def _environment(d: Deployment, compose: Mapping, drop: tuple[str, ...] = ()):
    from ..render import compose_escape

    env, secrets = [], []
    for entry in compose.get("environment") or ():
        name, eq, value = str(entry).partition("=")
        if name in drop:
            continue
        if eq:
            env.append(str(entry))  # a literal line: already written with $$
        elif _is_secret(d, name):
            secrets.append(name)
        else:
            env.append(f"{name}={compose_escape(d.env[name] or '')}")
    return env, secrets


def _refuse(s: Settings, d: Deployment) -> None:
    off = [svc.key for svc in d if svc.kind not in SUPPORTED]
    if off:
        key = SWITCH.get(off[0], f"services.{off[0]}")
        raise SettingsError(
            [
                f"{key}: {off[0]} is not part of the Swarm stack (web, prosody, jicofo, jvb, "
                "jibri): turn it off for `inv swarm.render`, or run it with Compose"
            ]
        )
    if d.auth.internal and not s["swarm.prosody_node"]:
        raise SettingsError(
            [
                "swarm.prosody_node: empty with auth.type internal: prosody keeps the agents' "
                "accounts in a volume of one node: name that node (`docker node ls`), "
                "or use auth.type: jwt"
            ]
        )
    if not s["swarm.nodes"] and not (s["jvb.stun_server"] or "JVB_STUN_SERVERS" in d.env):
        raise SettingsError(
            [
                "swarm.nodes: empty and no STUN server: give each node's addresses "
                "(swarm.nodes: {node: [IP]}) or set jvb.stun_server so each bridge finds its own"
            ]
        )


def view(s: Settings, d: Deployment, secrets: Mapping[str, str]) -> SwarmView:
    """The stack of a Deployment; SettingsError (one line) for what a stack cannot run."""
    _refuse(s, d)
    compose = _compose_services(d)
    core = (label_constraint(s["swarm.core_label"]) if s["swarm.core_label"] else MANAGER,)
    pin = s["swarm.prosody_node"]
    out: list[SwarmService] = []
    for svc in d:
        if svc.kind == "jvb":
            continue
        env, names = _environment(d, compose[svc.name])
        where: tuple[str, ...] = core
        volumes: tuple[tuple[str, str], ...] = ()
        if svc.kind == "prosody":
            where = (*core, f"node.hostname == {pin}") if pin else core
            volumes = ((PROSODY_VOLUME, _data_target(compose[svc.name])),)
        out.append(_service(svc, compose[svc.name], env, names, "replicated", where))
        if volumes:
            out[-1] = replace(out[-1], volumes=volumes)
    out[3:3] = _bridges(s, d, compose)
    warnings = []
    if s["jvb.count"] > 1:
        warnings.append("jvb.count is for one host: the Swarm stack runs one bridge per node")
    if s["jvb.advertise_ips"]:
        warnings.append("jvb.advertise_ips is one host's: the Swarm stack uses swarm.nodes or STUN")
    if d.extra_files:
        warnings.append(
            "compose.extra_files are not deployed: attach the platform's services "
            f"to the overlay network {d.network}"
        )
    used = sorted({n for svc in out for n in svc.secrets})
    return SwarmView(
        stack=d.project,
        services=tuple(out),
        secret_names={n: f"{d.project}_{n}_{_digest(d.secret(n, secrets))}" for n in used},
        configs=_configs(d, used),
        restart=RESTART.get(d.restart, "any"),
        d=d,
        network=d.network,
        network_external=d.network_external,
        internal_network=d.internal_network,
        warnings=tuple(warnings),
        volumes={PROSODY_VOLUME: f"{d.project}_{PROSODY_VOLUME}"},
        prosody_node=pin,
    )


def _data_target(compose: Mapping) -> str:
    """Where prosody keeps its data: the target of the compose file's bind of
    jitsi-meet/storage/prosody (upstream: ${CONFIG}/storage/prosody:/var/lib/prosody,
    docker-jitsi-meet stable-11146-2 docker-compose.yml:216)."""
    for spec in compose.get("volumes") or ():
        source, _, rest = str(spec).partition(":")
        if source.removeprefix("./") == paths.PROSODY_DATA:
            return rest.partition(":")[0]
    raise StackError(f"templates/docker-compose.yml.j2: prosody mounts no {paths.PROSODY_DATA}")


def _service(
    svc: Service, compose, env, names, mode, constraints, name="", node=""
) -> SwarmService:
    return SwarmService(
        name=name or svc.name,
        key=svc.key,
        kind=svc.kind,
        image=svc.image,
        environment=tuple(env),
        secrets=tuple(names),
        ports=tuple(
            (p.host, p.container, p.protocol)
            for p in svc.ports
            if p.bind != "127.0.0.1" and p.count == 1
        ),
        networks=svc.networks,
        aliases=svc.aliases,
        healthcheck=compose.get("healthcheck") or {},
        mode=mode,
        constraints=tuple(constraints),
        tmpfs=tuple(_tmp_size(compose)),
        labels=tuple(
            (str(k), name or svc.name if k == "service" else str(v))
            for k, v in (compose.get("labels") or {}).items()
        ),
        configs=(
            *((("custom-config", "/config/custom-config.js", 0o444),) if svc.kind == "web" else ()),
            *((("with-secrets", WRAPPER_TARGET, 0o555),) if names else ()),
        ),
        node=node,
    )


def _bridges(s: Settings, d: Deployment, compose) -> list[SwarmService]:
    """One bridge per node: placed per node (its advertised addresses from swarm.nodes), or
    global (each finds its address by STUN); the bridge label narrows either."""
    first = d.bridges[0]
    spec = compose[first.name]
    drop = ("JVB_ADVERTISE_IPS", "JVB_MUC_NICKNAME")
    base, names = _environment(d, spec, drop)
    extra = [label_constraint(s["swarm.bridge_label"])] if s["swarm.bridge_label"] else []
    if not s["swarm.nodes"]:
        env = [*base, "JVB_MUC_NICKNAME=jvb-{{.Node.Hostname}}"]
        if "JVB_STUN_SERVERS" not in d.env:
            env.append(f"JVB_STUN_SERVERS={s['jvb.stun_server']}")
        return [_service(first, spec, env, names, "global", extra)]
    out = []
    for node, ips in s["swarm.nodes"].items():
        env = [
            *base,
            f"JVB_ADVERTISE_IPS={','.join(str(i) for i in node_ips(ips))}",
            f"JVB_MUC_NICKNAME=jvb-{node}",
        ]
        where = [f"node.hostname == {node}", *extra]
        name = f"{first.name}-{node.replace('.', '-')}"
        out.append(_service(first, spec, env, names, "replicated", where, name, node))
    return out


def advertised(s) -> tuple[str, ...]:
    """Every address the stack's bridges advertise: each node's of swarm.nodes (empty when
    each bridge finds its own by STUN), as the bridges' JVB_ADVERTISE_IPS have them."""
    found: list[str] = []
    for ips in s["swarm.nodes"].values():
        found += [str(i) for i in node_ips(ips)]
    return tuple(dict.fromkeys(found))


def render(v: SwarmView) -> dict[str, str]:
    """{path: text} of the stack file and the wrapper; never a secret value."""
    from ..render import _render

    context = {
        "v": v,
        "stack_file": STACK_FILE,
        "secrets_dir": SECRETS_DIR,
        "wrapper_target": WRAPPER_TARGET,
        "init": UPSTREAM_INIT,
    }
    return {
        STACK_FILE: _render("swarm/stack.yml.j2", context),
        WRAPPER_FILE: wrapper_text(),
        CUSTOM_CONFIG_FILE: custom_config_text(v.d),
    }


def record_deploy(root, v: SwarmView) -> None:
    """Note that the project runs as a Swarm stack (and where prosody's data lives)."""
    import json

    from ..store import files

    fact = {"stack": v.stack, "prosody_volume": v.prosody_volume, "prosody_node": v.prosody_node}
    files.write_atomic(root, DEPLOYED_FILE, json.dumps(fact, indent=2) + "\n", mode=0o644)


def forget_deploy(root) -> None:
    from pathlib import Path

    (Path(root) / DEPLOYED_FILE).unlink(missing_ok=True)


def deployed(root) -> dict | None:
    """What record_deploy wrote, or None (no stack deployed from this project)."""
    import json
    from pathlib import Path

    try:
        fact = json.loads((Path(root) / DEPLOYED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):  # no marker can be there
        return None
    except (OSError, ValueError):
        fact = {}
    return fact if isinstance(fact, dict) else {}


def refuse_host_backup(root, what: str) -> None:
    """`inv backup` and `inv restore` archive and write this host's folders; a Swarm stack
    keeps prosody's data in a volume on its node, which they would silently leave out.
    UsageError (one line, what to do instead) while the project has a stack deployed."""
    fact = deployed(root)
    if fact is None:
        return
    volume = fact.get("prosody_volume") or f"<stack>_{PROSODY_VOLUME}"
    node = fact.get("prosody_node") or "the node that runs prosody"
    raise UsageError(
        f"{what}: this project runs as Swarm stack {fact.get('stack', '?')}, whose prosody "
        f"data is the volume {volume} on {node}, not this host's folders: back up that "
        "volume and .jitsi-stack/secrets.env as docs/scaling.md (Backup on Swarm) says"
    )


def secret_files(v: SwarmView, d: Deployment, secrets: Mapping[str, str]) -> dict[str, str]:
    """{path under the root: value} of each secret a deploy hands to `docker stack deploy`."""
    return {f"{SECRETS_DIR}/{n}": d.secret(n, secrets) for n in v.secret_names}


def load(root, dry: bool = False, *, settings=None, deployment=None, **kwargs):
    """(settings, Deployment, secrets, SwarmView) of a project; secrets generated once (and
    kept: not in a dry run, which writes nothing). settings, deployment: what the command
    has loaded and built already (its session), else they are loaded here."""
    from ..deployment import build
    from ..settings import project
    from ..store import secrets as secret_store

    s = settings if settings is not None else project.load(root, **kwargs)
    d = deployment if deployment is not None else build(s)
    values, missing = secret_store.complete(secret_store.read(d.root), d.generated_secrets)
    if missing and not dry:
        secret_store.save(d.root, values)
    return s, d, values, view(s, d, values)


def write(root, texts: Mapping[str, str], dry: bool = False) -> list[str]:
    """Write each changed file atomically; the paths written."""
    from ..store import files

    written = []
    for rel, text in texts.items():
        mode = 0o755 if rel.endswith(".sh") else 0o644
        if files.read_text(root, rel) == text:
            continue
        if not dry:
            files.write_atomic(root, rel, text, mode=mode)
        written.append(rel)
    return written
