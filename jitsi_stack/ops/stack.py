"""Start, stop, restart, wait and targets: the stack's lifecycle on a real Docker engine."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .. import docker, errors, ui
from ..deployment import Deployment, build
from ..errors import StackError, UsageError
from ..settings import project
from ..store import paths
from ..store import secrets as secret_store
from . import preflight


@dataclass
class Stack:
    """A Deployment and the runner that drives it: what every task works on."""

    d: Deployment
    runner: docker.Runner = field(default_factory=docker.Runner)
    warnings: list[str] = field(default_factory=list)
    problem: str = ""  # why the settings do not load: d is then on_disk.Rendered

    @classmethod
    def load(cls, root: Path, runner: docker.Runner | None = None, **kwargs) -> Stack:
        s = project.load(root, **kwargs)
        return cls(build(s), runner or docker.Runner(), list(s.warnings))

    @cached_property
    def compose(self) -> docker.Compose:
        d = self.d
        return docker.Compose(
            runner=self.runner,
            root=d.root,
            project=d.project,
            files=d.compose_files,
            env_file=d.root / paths.ENV_FILE,
            managed_names=frozenset(d.env),
        )

    def hidden(self) -> set[str]:
        """Every value never to print: the stored secrets and the secret settings."""
        try:
            stored = secret_store.read(self.d.root)
        except StackError:
            stored = {}
        return self.d.hidden(stored)

    def mask(self, text: str) -> str:
        return secret_store.mask(text, self.hidden())

    def platform_services(self) -> list[str]:
        """Services of the platform's extra compose files (read from the files: no Docker)."""
        import yaml

        from ..store.files import NotRegular, read_bounded

        names: list[str] = []
        for path in self.d.extra_files:
            try:
                text = read_bounded(path, follow=True).decode("utf-8")
                data = yaml.safe_load(text) or {}
                names += [str(n) for n in (data.get("services") or {})]
            except (OSError, ValueError, NotRegular, yaml.YAMLError, AttributeError):
                return [n for n in self.compose.services() if n not in self.d.names]
        return [n for n in dict.fromkeys(names) if n not in self.d.names]

    def require_rendered(self) -> None:
        """There is a rendered project to talk to (Docker's answer says the rest)."""
        if not (self.d.root / paths.COMPOSE_FILE).exists() and not self.runner.dry:
            raise StackError(
                f"no {paths.COMPOSE_FILE} in {self.d.root}: run `inv start` (or `inv render`) first"
            )


# -- targets -----------------------------------------------------------------------------


def split_targets(text: str | bool | None) -> list[str]:
    if text is True:  # `--targets` given without a value
        raise UsageError("--targets needs a value: e.g. --targets web,jvb (or just `web,jvb`)")
    return [t for t in re.split(r"[,\s]+", text or "") if t]


def resolve_targets(stack: Stack, targets: list[str]) -> list[str]:
    """Compose services for TARGETs ([] = everything): web, jitsi-web, 'jitsi' or a service
    of the platform's extra compose files."""
    d = stack.d
    wanted: list[str] = []
    platform: list[str] | None = None
    for target in targets:
        if target == "jitsi":
            wanted += d.names
            continue
        group = d.group(target)
        if len(group) > 1:  # `jvb`: every bridge; `jvb2` or `jitsi-jvb2`: one
            wanted += [svc.name for svc in group]
            continue
        try:
            wanted.append(d.service(target).name)
            continue
        except KeyError:
            pass
        if platform is None:
            platform = stack.platform_services()
        if target in platform:
            wanted.append(target)
            continue
        from ..deployment import OPTIONAL

        if target in OPTIONAL:
            raise UsageError(
                f"{target} is not enabled: set services.{target}: true in jitsi-stack.yml"
            )
        known = ["jitsi", *(s.key for s in d.services), *d.names, *platform]
        import difflib

        close = difflib.get_close_matches(target, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown target {target!r}{hint}: use one of {', '.join(known)}")
    return list(dict.fromkeys(wanted))


def expected_services(stack: Stack, services: list[str]) -> list[str]:
    """What `up` starts and waits for: the given services, else the whole project."""
    if services:
        return services
    return [*stack.d.names, *stack.platform_services()]


# -- images -------------------------------------------------------------------------------


def pull(stack: Stack, services: list[str]) -> None:
    """Pull the images that are missing, with Compose's own progress output."""
    images = {s.name: s.image for s in stack.d.services if s.name in services}
    if not images:
        return
    if stack.runner.dry:  # nothing is asked of Docker: show the pull of every image
        stack.compose.run("pull", *images)
        return
    present = docker.images_present(stack.runner, images.values())
    todo = [name for name, image in images.items() if image not in present]
    if not todo:
        return
    ui.info(f"pulling {len(todo)} image(s): {', '.join(images[n] for n in todo)}")
    try:
        stack.compose.run("pull", *todo, capture=False)
    except errors.DockerError:
        now = docker.images_present(stack.runner, images.values())
        still = [images[n] for n in todo if images[n] not in now]
        name = still[0] if still else images[todo[0]]
        raise errors.ImageMissing(
            f"cannot pull image {name}: check images.repository and images.tag in "
            "jitsi-stack.yml, the registry login (docker login) and the network"
        ) from None


# -- health --------------------------------------------------------------------------------


def states(stack: Stack, services: list[str]) -> dict[str, docker.Container | None]:
    rows = {c.service: c for c in stack.compose.ps()}
    return {svc: rows.get(svc) for svc in services}


def _label(row: docker.Container | None) -> str:
    return "not created" if row is None else row.label


def last_logs(stack: Stack, service: str, lines: int = 15) -> str:
    result = stack.compose.run(
        "logs", "--no-color", "--tail", str(lines), service, timeout=30, check=False
    )
    text = (result.stdout + result.stderr).strip() or "(no log output)"
    return stack.mask(text)


def logs_detail(stack: Stack, services: Iterable[str]) -> str:
    """The last log lines of each service, under a header line each (an error's detail)."""
    return "\n".join(
        f"--- last log lines of {svc} ---\n{last_logs(stack, svc)}" for svc in services
    )


def wait_healthy(
    stack: Stack,
    services: list[str],
    timeout: float,
    busy: threading.Thread | None = None,
    failed=lambda: False,
) -> float:
    """Wait until every service runs and is healthy; live progress; returns seconds taken."""
    start = time.monotonic()
    seen: dict[str, str] = {}
    live = None
    if sys.stderr.isatty():  # a live table on a terminal, one line per change elsewhere
        from rich.live import Live

        live = Live(console=ui.err, transient=False, auto_refresh=False)
    current: dict[str, docker.Container | None] = {}
    try:
        if live:
            live.start()
        while True:
            elapsed = time.monotonic() - start
            current = states(stack, services)
            ready = {svc: bool(row and row.ready) for svc, row in current.items()}
            if live:
                rows = [
                    [svc, _label(row), "ok" if ready[svc] else "…"] for svc, row in current.items()
                ]
                live.update(
                    ui.table(
                        f"waiting for health ({elapsed:.0f}s)", ["service", "state", ""], rows, True
                    ),
                    refresh=True,
                )
            else:
                for svc, row in current.items():
                    if seen.get(svc) != _label(row):
                        seen[svc] = _label(row)
                        ui.info(f"  {elapsed:5.1f}s  {svc:<24} {_label(row)}")
            if all(ready.values()) and not (busy and busy.is_alive()):
                return elapsed
            if elapsed > timeout or failed():
                break
            pause = 0.3 if elapsed < 10 else 1.0
            if busy and busy.is_alive():
                busy.join(pause)  # wake as soon as `up` returns
            else:
                time.sleep(pause)
    finally:
        if live:
            live.stop()
    bad = [svc for svc, row in current.items() if not (row and row.ready)]
    shown = _to_show(stack, bad)
    detail = logs_detail(stack, shown)
    names = ", ".join(f"{svc} ({_label(current[svc])})" for svc in bad)
    also = [svc for svc in shown if svc not in bad]
    why = (
        f" (jicofo is healthy only with an operational bridge: {', '.join(also)} too)"
        if also
        else ""
    )
    raise StackError(
        f"not healthy after {timeout:.0f}s: {names}: see the log lines below{why}, fix the "
        "cause and run `inv start` again (health.timeout sets the wait)",
        detail=detail,
    )


def _to_show(stack: Stack, bad: list[str]) -> list[str]:
    """The services whose log lines explain `bad`. jicofo is unhealthy while it counts no
    operational bridge ("No operational bridges available", jicofo JicofoHealthChecker.kt),
    and a bridge that cannot log in to prosody is healthy all the same (its health asks
    only the ICE harvesters, jitsi-videobridge JvbHealthChecker.kt): the bridges' lines
    come with jicofo's, where a wrong password shows."""
    if not stack.d.has("jicofo") or stack.d.service("jicofo").name not in bad:
        return bad
    return bad + [b.name for b in stack.d.group("jvb") if b.name not in bad]


def bridges_counted(
    stack: Stack, timeout: float, containers: list[docker.Container] | None = None
) -> None:
    """Wait until jicofo counts every running bridge operational: its healthy answer needs
    only one, it sends new conferences only to the bridges it counts, and a bridge that
    cannot log in to prosody is healthy all the same. Not counted in time: the task fails
    with the bridges' log lines. A jicofo that does not answer is not waited for.
    containers: the project's, when the caller has just listed them."""
    from . import drain

    if stack.runner.dry or not stack.d.has("jicofo"):
        return
    if containers is None:
        containers = stack.compose.ps()
    running = list(drain.running_bridges(stack.d, containers))
    if not running:
        return
    jicofo = stack.d.port("ports.jicofo_rest").host
    count = drain.wait_operational(jicofo, len(running), timeout)
    if count is None or count >= len(running):
        return
    detail = logs_detail(stack, running)
    raise StackError(
        f"jicofo counts {count} of {len(running)} running bridge(s) operational after "
        f"{timeout:.0f}s ({', '.join(running)}): a bridge that cannot join prosody's brewery "
        "stays healthy: see the log lines below, fix the cause and run `inv start` again",
        detail=detail,
    )


# -- commands --------------------------------------------------------------------------------


def report_render(report, warnings: Iterable[str] = ()) -> None:
    """Say what a render did (or would do, with --dry)."""
    for warning in warnings:
        ui.warn(warning)
    verb = "would " if report.dry else ""
    if report.new_secrets:
        ui.info(
            f"{verb or ''}generate{'d' if not verb else ''} {len(report.new_secrets)} internal "
            f"password(s) into {paths.SECRETS} (mode 0600)"
        )
    for path in report.backups:
        ui.info(f"backed up the hand-edited file to {path}")
    if report.written:
        ui.info(f"{'would render' if report.dry else 'rendered'} {', '.join(report.written)}")


def up(
    stack: Stack,
    services: list[str],
    *,
    recreate: bool = False,
    timeout: float | None = None,
    no_deps: bool = False,
) -> float | None:
    """Render, check, `docker compose up -d`, wait for health. Seconds to healthy (None: dry).
    With everything (no services), bridges that a lower jvb.count removes are drained first
    (ops/drain.py). no_deps: leave the services' dependencies alone (one bridge's roll)."""
    from ..render import apply
    from . import drain

    runner = stack.runner
    preflight.check_engine(runner)
    report = apply.apply(stack.d, dry=runner.dry)
    report_render(report, stack.warnings)
    everything = not services
    expected = expected_services(stack, services) if not runner.dry else (services or stack.d.names)
    running = stack.compose.ps()
    inputs = _inputs(stack, report.inputs)
    if everything and not recreate and not runner.dry and _nothing_to_do(stack, inputs, running):
        ui.info("nothing to change: every service runs, healthy, as last started")
        bridges_counted(stack, timeout or stack.d.health_timeout, running)  # may be rejoining
        return 0.0
    ours = preflight.published_ports(running)
    preflight.check_ports(stack.d.ports(expected), ours)
    preflight.check_subnets(stack.d, runner)
    pull(stack, expected)
    if everything:
        drain.drain_leaving(stack, running)
    args = ["up", "-d"]
    if recreate:
        args.append("--force-recreate")
    if no_deps:
        args.append("--no-deps")
    if everything:
        args.append("--remove-orphans")
    args += services
    if runner.dry:
        stack.compose.run(*args)
        return None
    outcome: dict[str, BaseException | None] = {}

    def run_up() -> None:
        try:
            stack.compose.run(*args)
            outcome["up"] = None
        except BaseException as exc:  # reported by the waiting thread
            outcome["up"] = exc

    worker = threading.Thread(target=run_up, daemon=True)
    started = time.monotonic()
    worker.start()

    def up_failed() -> bool:
        return outcome.get("up") is not None

    try:
        wait_healthy(
            stack, expected, timeout or stack.d.health_timeout, busy=worker, failed=up_failed
        )
    except KeyboardInterrupt:
        runner.stop_all()  # `docker compose up` stops with us, as in a terminal
        worker.join(timeout=30)
        raise
    except StackError:
        worker.join(timeout=5)
        if (failure := outcome.get("up")) is not None:
            raise up_error(stack, failure) from None
        raise
    worker.join()
    if (failure := outcome.get("up")) is not None:
        raise up_error(stack, failure)
    if any(drain.is_bridge(stack.d, s) for s in expected):
        bridges_counted(stack, timeout or stack.d.health_timeout)
    if everything:
        _record_applied(stack, inputs)
    return time.monotonic() - started


def _inputs(stack: Stack, rendered: str) -> str:
    """The render's inputs and the platform's compose files: what `up` is given."""
    from ..store.files import sha256

    extra = b"".join(_extra_bytes(p) for p in stack.d.extra_files)
    return sha256(rendered.encode() + b"\x00" + extra)


def _extra_bytes(path) -> bytes:
    """A platform compose file's bytes as an input (b"-" when it is gone or not a file:
    the settings' rules refuse that before a start gets here)."""
    from ..store.files import NotRegular, read_bounded

    try:
        return read_bounded(path, follow=True)
    except (NotRegular, OSError):
        return b"-"


def _nothing_to_do(stack: Stack, inputs: str, running: list[docker.Container]) -> bool:
    """Whether `docker compose up -d` would change nothing: the same inputs as the last
    successful start, one running and healthy container per service with the config hash
    Compose gave it then, each on the image its tag names now. Compose decides from the
    same facts; when any is unknown, ask Compose."""
    from ..store import state

    applied = state.read(stack.d.root).applied
    if not inputs or applied.get("inputs") != inputs:
        return False
    hashes = applied.get("services", {})
    by_service = {c.service: c for c in running}
    if set(by_service) != set(hashes) or len(running) != len(hashes):
        return False
    engine = docker.Engine.local(stack.runner)
    if not engine.available():
        return False
    images = engine.images()
    for name, c in by_service.items():
        if not (c.ready and c.config_hash and c.config_hash == hashes[name]):
            return False
        if not c.image_id or images.get(c.image) != c.image_id:
            return False
    return True


def _record_applied(stack: Stack, inputs: str) -> None:
    from ..store import state

    current = state.read(stack.d.root)
    running = stack.compose.ps()
    if inputs and all(c.config_hash for c in running):
        current.applied = {
            "inputs": inputs,
            "services": {c.service: c.config_hash for c in running},
        }
    else:
        current.applied = {}
    state.write(stack.d.root, current)


def up_error(stack: Stack, exc: BaseException) -> StackError:
    """One line for a failed `docker compose up`, naming the port, image or name at fault."""
    if not isinstance(exc, errors.DockerError):
        return (
            exc if isinstance(exc, StackError) else StackError(f"docker compose up failed: {exc}")
        )
    text = stack.mask(exc.stderr)
    if isinstance(exc, errors.PortInUse):
        owner = stack.d.owner(exc.port) if exc.port else None
        setting = f" (setting {owner[1].setting})" if owner else ""
        return errors.PortInUse(
            f"host port {exc.port or '?'} is already in use{setting}: free it or change the "
            "port in jitsi-stack.yml",
            detail=text,
        )
    if isinstance(exc, errors.ImageMissing):
        return errors.ImageMissing(
            "an image could not be pulled: check images.repository and images.tag", detail=text
        )
    if isinstance(exc, errors.NameConflict):
        name = re.search(r'container name "/?([^"]+)"', text)
        which = name.group(1) if name else "a container"
        return errors.NameConflict(
            f"{which} already exists outside this project: remove it (docker rm -f {which}) "
            "or change container_prefix in jitsi-stack.yml",
            detail=text,
        )
    return errors.DockerError(f"docker compose up failed: {errors.last_line(text)}", detail=text)


# -- bridges: drain, then act, one at a time (ops/drain.py) ----------------------------------


def changed_bridges(stack: Stack) -> list[str]:
    """Running bridges whose container is not on the image their settings name now (a new
    tag, or the same tag pulled anew): the ones an `up` would recreate for an update."""
    from . import drain

    running = drain.running_bridges(stack.d, stack.compose.ps())
    if not running:
        return []
    engine = docker.Engine.local(stack.runner)
    images = engine.images() if engine.available() else {}
    changed = []
    for svc in stack.d.group("jvb"):
        c = running.get(svc.name)
        if c is None:
            continue
        if c.image != svc.image or (images and c.image_id != images.get(svc.image, c.image_id)):
            changed.append(svc.name)
    return changed


def roll_bridges(stack: Stack, services: list[str], *, recreate: bool = True) -> list[str]:
    """Drain each running bridge of `services`, recreate it (`up --no-deps`, the settings'
    image and config) and wait for its health, one at a time. Returns the bridges rolled."""
    from . import drain

    def recreate_one(service: str) -> None:
        # up() waits for the bridge's health and then for jicofo to count it again, so
        # the next bridge drains only when new conferences can go to this one
        up(stack, [service], recreate=recreate, no_deps=True)

    return drain.roll(stack, services, recreate_one, keeps=True)


def restart(stack: Stack, services: list[str]) -> float | None:
    """`inv restart`: the bridges among the targets one at a time (drained first), then the
    other targets at once. Seconds to healthy (None: dry)."""
    from . import drain

    started = time.monotonic()
    expected = services or expected_services(stack, [])
    bridges = [s for s in expected if drain.is_bridge(stack.d, s)]
    rolled = roll_bridges(stack, bridges) if bridges else []
    rest = [s for s in expected if s not in rolled]
    if rest:
        if up(stack, rest if rolled else services, recreate=True) is None:
            return None
    elif stack.runner.dry:
        return None
    return time.monotonic() - started


def stop(stack: Stack, services: list[str], *, drain_first: bool = True) -> None:
    """`inv stop`: drain each running bridge among the targets and stop it, one at a time
    (the ones not stopped yet take new conferences), then `docker compose stop` the rest."""
    from . import drain

    if drain_first:
        names = set(stack.d.names)  # a bridge the compose file no longer has: compose's own
        expected = services or [c.service for c in stack.compose.ps()]
        bridges = [s for s in expected if s in names and drain.is_bridge(stack.d, s)]

        def stop_one(service: str) -> None:
            stack.compose.run("stop", service, capture=False)

        done = drain.roll(stack, bridges, stop_one, keeps=False)
        if done and services:
            services = [s for s in services if s not in done]
            if not services:
                return
    stack.compose.run("stop", *services, capture=False)
