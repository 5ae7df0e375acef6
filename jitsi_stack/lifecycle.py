"""Start, stop, restart and wait: the stack's lifecycle on a real Docker engine."""

from __future__ import annotations

import difflib
import re
import subprocess
import threading
import time
from dataclasses import dataclass

from rich.live import Live

from . import compose, model, preflight, render, ui
from . import secrets as secret_store
from .errors import StackError
from .settings import Settings

SHORT = (
    "web",
    "prosody",
    "jicofo",
    "jvb",
    "jibri",
    "jigasi",
    "transcriber",
    "etherpad",
    "whiteboard",
)


def jitsi_services(s: Settings) -> list[str]:
    return [f"jitsi-{name}" for name in s.enabled_services()]


def hidden_values(s: Settings) -> set[str]:
    stored = secret_store.read(s.root)
    if len(stored) < len(secret_store.SECRET_NAMES):
        stored, _ = secret_store.ensure(s.root, write=False)
    return model.secret_values(s, model.upstream_env(s, stored))


def resolve_targets(s: Settings, targets: list[str]) -> list[str]:
    """Compose services for TARGETs ('' = everything): service names, short names, 'jitsi'."""
    jitsi = jitsi_services(s)
    wanted: list[str] = []
    platform: list[str] | None = None
    for target in targets:
        if target == "jitsi":
            wanted += jitsi
        elif target in jitsi:
            wanted.append(target)
        elif f"jitsi-{target}" in jitsi:
            wanted.append(f"jitsi-{target}")
        else:
            if platform is None:
                platform = (
                    [x for x in compose.services(s) if x not in jitsi]
                    if s["compose.extra_files"]
                    else []
                )
            if target in platform:
                wanted.append(target)
                continue
            known = ["jitsi", *[n for n in SHORT if f"jitsi-{n}" in jitsi], *jitsi, *platform]
            close = difflib.get_close_matches(target, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            if target in SHORT:
                raise StackError(
                    f"{target} is not enabled: set services.{target}: true in jitsi-stack.yml"
                )
            raise StackError(f"unknown target {target!r}{hint}: use one of {', '.join(known)}")
    return list(dict.fromkeys(wanted))


def split_targets(text: str | None) -> list[str]:
    return [t for t in re.split(r"[,\s]+", text or "") if t]


# -- ports ------------------------------------------------------------------


def port_specs(s: Settings, services: list[str]) -> list[preflight.PortSpec]:
    specs = []
    wanted = set(services)
    if "jitsi-web" in wanted:
        specs.append(preflight.PortSpec("ports.http", s["ports.http"]))
        if s["https.enabled"]:
            specs.append(preflight.PortSpec("ports.https", s["ports.https"]))
    if "jitsi-jvb" in wanted:
        specs.append(preflight.PortSpec("ports.jvb_media", s["ports.jvb_media"], "udp"))
        specs.append(
            preflight.PortSpec("ports.jvb_colibri", s["ports.jvb_colibri"], "tcp", "127.0.0.1")
        )
    if "jitsi-jicofo" in wanted:
        specs.append(
            preflight.PortSpec("ports.jicofo_rest", s["ports.jicofo_rest"], "tcp", "127.0.0.1")
        )
    if "jitsi-jigasi" in wanted:
        for number in range(s["ports.jigasi_min"], s["ports.jigasi_max"] + 1):
            specs.append(preflight.PortSpec("ports.jigasi_min", number, "udp"))
    return specs


# -- images -----------------------------------------------------------------


def missing_images(images: list[str]) -> list[str]:
    result = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    present = set(result.stdout.split())
    return [image for image in images if image not in present]


def service_images(s: Settings) -> dict[str, str]:
    env = model.upstream_env(s, dict.fromkeys(secret_store.SECRET_NAMES, "x"))
    return {svc["name"]: svc["image"] for svc in model.compose_services(s, env)}


PULL_ERRORS = re.compile(
    r"pull access denied|manifest unknown|not found|failed to resolve|no such host|"
    r"connection refused|unauthorized|toomanyrequests|i/o timeout",
    re.I,
)


def pull(s: Settings, services: list[str]) -> None:
    """Pull missing images with Compose's own progress output."""
    images = service_images(s)
    wanted = [svc for svc in services if svc in images]
    missing = set(missing_images([images[svc] for svc in wanted]))  # one `docker image ls`
    todo = [svc for svc in wanted if images[svc] in missing]
    if not todo:
        return
    ui.info(f"pulling {len(todo)} image(s): {', '.join(images[svc] for svc in todo)}")
    result = compose.run(s, "pull", *todo, capture=False)
    if not result.ok:
        still = missing_images([images[svc] for svc in todo])
        name = still[0] if still else images[todo[0]]
        raise StackError(
            f"cannot pull image {name}: check images.repository and images.tag in "
            "jitsi-stack.yml, the registry login (docker login) and the network"
        )


# -- health -------------------------------------------------------------------


@dataclass
class ServiceState:
    service: str
    state: str  # running, exited, restarting, created, missing...
    health: str  # healthy, unhealthy, starting, '' (no healthcheck)

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")

    @property
    def label(self) -> str:
        if self.state == "missing":
            return "not created"
        return f"{self.state} ({self.health})" if self.health else self.state


def states(s: Settings, services: list[str]) -> dict[str, ServiceState]:
    rows = {row.get("Service"): row for row in compose.ps(s)}
    out = {}
    for svc in services:
        row = rows.get(svc)
        if row is None:
            out[svc] = ServiceState(svc, "missing", "")
        else:
            out[svc] = ServiceState(svc, row.get("State", ""), row.get("Health", "") or "")
    return out


def last_logs(s: Settings, service: str, lines: int = 15) -> str:
    result = compose.run(s, "logs", "--no-color", "--tail", str(lines), service, timeout=30)
    text = (result.stdout + result.stderr).strip() or "(no log output)"
    return secret_store.mask(text, hidden_values(s))


def wait_healthy(
    s: Settings,
    services: list[str],
    timeout: float,
    busy: threading.Thread | None = None,
    failed=lambda: False,
) -> float:
    """Wait until every service runs and is healthy; live progress; returns seconds taken."""
    start = time.monotonic()
    seen: dict[str, str] = {}
    live = Live(console=ui.err, transient=False, auto_refresh=False) if ui.err.is_terminal else None
    current: dict[str, ServiceState] = {}
    try:
        if live:
            live.start()
        while True:
            elapsed = time.monotonic() - start
            current = states(s, services)
            if live:
                rows = [[svc, st.label, "ok" if st.ready else "…"] for svc, st in current.items()]
                live.update(
                    ui.table(
                        f"waiting for health ({elapsed:.0f}s)", ["service", "state", ""], rows
                    ),
                    refresh=True,
                )
            else:
                for svc, st in current.items():
                    if seen.get(svc) != st.label:
                        seen[svc] = st.label
                        ui.info(f"  {elapsed:5.1f}s  {svc:<24} {st.label}")
            if all(st.ready for st in current.values()) and not (busy and busy.is_alive()):
                return elapsed
            if elapsed > timeout or failed():
                break
            time.sleep(0.3 if elapsed < 10 else 1.0)
    finally:
        if live:
            live.stop()
    bad = [st for st in current.values() if not st.ready]
    detail = "\n".join(
        f"--- last log lines of {st.service} ---\n{last_logs(s, st.service)}" for st in bad
    )
    names = ", ".join(f"{st.service} ({st.label})" for st in bad)
    raise StackError(
        f"not healthy after {timeout:.0f}s: {names}: see the log lines below, fix the cause and "
        "run `inv start` again (health.timeout sets the wait)",
        detail=detail,
    )


# -- commands -----------------------------------------------------------------


def report_render(report: render.Report) -> None:
    for warning in report.warnings:
        ui.warn(warning)
    if report.new_secrets:
        ui.info(
            f"generated {len(report.new_secrets)} internal password(s) into "
            f"{secret_store.SECRETS_FILE} (mode 0600)"
        )
    for path in report.backups:
        ui.info(f"backed up the hand-edited file to {path}")
    if report.written:
        ui.info(f"rendered {', '.join(report.written)}")


def up(
    s: Settings, services: list[str], *, recreate: bool = False, timeout: float | None = None
) -> float:
    """Render, check, `docker compose up -d`, wait for health. Returns seconds to healthy."""
    preflight.check_docker()
    report_render(render.render(s))
    everything = not services
    if services:
        expected = services
    elif s["compose.extra_files"]:
        expected = compose.services(s) or jitsi_services(s)
    else:
        expected = jitsi_services(s)
    ours = preflight.published_ports(compose.ps(s))
    preflight.check_ports(port_specs(s, expected), ours)
    pull(s, expected)
    args = ["up", "-d"]
    if recreate:
        args.append("--force-recreate")
    if everything:
        args.append("--remove-orphans")
    args += services
    outcome: dict[str, compose.Result] = {}

    def run_up() -> None:
        outcome["up"] = compose.run(s, *args)

    worker = threading.Thread(target=run_up, daemon=True)
    started = time.monotonic()
    worker.start()

    # Compose blocks on dependencies' health; show progress meanwhile.
    def up_failed() -> bool:
        return "up" in outcome and not outcome["up"].ok

    try:
        wait_healthy(s, expected, timeout or s["health.timeout"], busy=worker, failed=up_failed)
    except StackError:
        worker.join(timeout=5)
        if "up" in outcome and not outcome["up"].ok:
            raise _up_error(s, outcome["up"]) from None
        raise
    worker.join()
    if not outcome["up"].ok:
        raise _up_error(s, outcome["up"])
    return time.monotonic() - started


def _up_error(s: Settings, result: compose.Result) -> StackError:
    text = secret_store.mask(result.stderr + result.stdout, hidden_values(s))
    port = re.search(
        r"(?:Bind for [^ ]*:|bind: address already in use.*?)(\d+)", text
    ) or re.search(r":(\d+) failed: port is already allocated", text)
    if port or "address already in use" in text or "port is already allocated" in text:
        number = port.group(1) if port else "?"
        return StackError(
            f"host port {number} is already in use: free it or change the port in "
            "jitsi-stack.yml (ports.*)",
            detail=text,
        )
    if PULL_ERRORS.search(text):
        return StackError(
            "an image could not be pulled: check images.repository and images.tag", detail=text
        )
    last = [ln for ln in text.strip().splitlines() if ln.strip()]
    return StackError(f"docker compose up failed: {last[-1] if last else 'no output'}", detail=text)


def require_rendered(s: Settings) -> None:
    """Docker answers and there is a rendered project to talk to."""
    preflight.check_docker()
    if not (s.root / render.COMPOSE_FILE).exists():
        raise StackError(
            f"no {render.COMPOSE_FILE} in {s.root}: run `inv start` (or `inv render`) first"
        )
