"""`inv status`: one row per service, a one-line verdict, JSON for scripts.

One Docker call (`docker compose ps`): the expected services come from the
Deployment, not from asking Compose.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from . import docker
from .stack import Stack


@dataclass
class Row:
    service: str
    state: str
    health: str
    ports: str
    uptime: str
    image: str
    tag: str
    container: str

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "-")


def _ports(publishers) -> str:
    seen = []
    for url, target, published, proto in publishers:
        if not published or url in ("::", "[::]"):
            continue
        host = "" if url in ("", "0.0.0.0") else f"{url}:"  # noqa: S104 - a label
        text = f"{host}{published}->{target}/{proto}"
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) or "-"


def _uptime(status: str) -> str:
    match = re.match(r"Up ([^(]+)", status or "")
    return match.group(1).strip() if match else "-"


def _row(service: str, c: docker.Container | None) -> Row:
    if c is None:
        return Row(service, "missing", "-", "-", "-", "-", "-", "-")
    image = c.image
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return Row(
        service=service,
        state=c.state or "?",
        health=c.health or "-",
        ports=_ports(c.publishers),
        uptime=_uptime(c.status),
        image=name or image,
        tag=tag or "-",
        container=c.name,
    )


def collect(stack: Stack) -> list[Row]:
    expected = [*stack.d.names, *stack.platform_services()]
    containers = {c.service: c for c in stack.compose.ps()}
    extra = sorted(set(containers) - set(expected))  # the platform's services, orphans
    return [_row(svc, containers.get(svc)) for svc in expected + extra]


def verdict(rows: list[Row]) -> tuple[bool, str]:
    bad = [r for r in rows if not r.ok]
    if not bad:
        return True, f"all {len(rows)} services running and healthy"
    names = ", ".join(
        f"{r.service} ({r.state}{'' if r.health == '-' else '/' + r.health})" for r in bad
    )
    return False, f"{len(bad)} of {len(rows)} services need attention: {names}"


def as_json_text(stack: Stack, rows: list[Row], interrupted: str = "") -> str:
    ok, line = verdict(rows)
    return json.dumps(
        {
            "ok": ok and not interrupted,
            "verdict": interrupted or line,
            "project": stack.d.project,
            "services": [asdict(r) | {"ok": r.ok} for r in rows],
        },
        indent=2,
    )


def run(stack: Stack, as_json: bool = False) -> bool:
    """The whole of `status`: True when every service is OK."""
    from . import ui

    stack.require_rendered()
    rows = collect(stack)
    interrupted = interrupted_update(stack)
    if as_json:
        ui.plain(as_json_text(stack, rows, interrupted))
        return verdict(rows)[0] and not interrupted
    if interrupted:
        ui.warn(interrupted)
    return show(stack, rows) and not interrupted


def interrupted_update(stack: Stack) -> str:
    """The exact command that finishes an update that was cut short, or ''."""
    from . import state

    pending = state.read(stack.d.root).pending
    if not pending:
        return ""
    return (
        f"an update from {pending.get('from')} to {pending.get('to')} was interrupted: run "
        f"`inv update --rollback` to return to {pending.get('from')}, or `inv update --tag "
        f"{pending.get('to')}` to try again"
    )


def show(stack: Stack, rows: list[Row]) -> bool:
    from . import ui

    ok, line = verdict(rows)
    grid = ui.table(
        None,
        ["service", "state", "health", "ports", "uptime", "image", "tag"],
        [[r.service, r.state, r.health, r.ports, r.uptime, r.image, r.tag] for r in rows],
    )
    ui.show(grid)
    ui.show(("OK: " if ok else "FAIL: ") + line, style="green" if ok else "bold red")
    return ok
