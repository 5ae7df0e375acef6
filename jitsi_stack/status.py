"""`inv status`: one row per service, a one-line verdict, JSON for scripts."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from . import compose, lifecycle, ui
from .settings import Settings


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


def _ports(publishers: list[dict] | None) -> str:
    seen = []
    for pub in publishers or []:
        if not pub.get("PublishedPort"):
            continue
        url = pub.get("URL") or "0.0.0.0"  # noqa: S104 - a label, not a bind
        if url in ("::", "[::]"):
            continue
        host = "" if url == "0.0.0.0" else f"{url}:"  # noqa: S104
        text = f"{host}{pub['PublishedPort']}->{pub['TargetPort']}/{pub.get('Protocol', 'tcp')}"
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) or "-"


def _uptime(status: str) -> str:
    match = re.match(r"Up ([^(]+)", status or "")
    return match.group(1).strip() if match else "-"


def collect(s: Settings) -> list[Row]:
    expected = lifecycle.jitsi_services(s)
    if s["compose.extra_files"]:
        expected += [x for x in compose.services(s) if x not in expected]
    rows = {row.get("Service"): row for row in compose.ps(s)}
    out = []
    for svc in expected + sorted(set(rows) - set(expected)):
        row = rows.get(svc)
        if row is None:
            out.append(Row(svc, "missing", "-", "-", "-", "-", "-", "-"))
            continue
        image = row.get("Image", "")
        name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
        out.append(
            Row(
                service=svc,
                state=row.get("State", "?"),
                health=row.get("Health") or "-",
                ports=_ports(row.get("Publishers")),
                uptime=_uptime(row.get("Status", "")),
                image=name or image,
                tag=tag or "-",
                container=row.get("Name", ""),
            )
        )
    return out


def verdict(rows: list[Row]) -> tuple[bool, str]:
    bad = [r for r in rows if not r.ok]
    if not bad:
        return True, f"all {len(rows)} services running and healthy"
    names = ", ".join(
        f"{r.service} ({r.state}{'' if r.health == '-' else '/' + r.health})" for r in bad
    )
    return False, f"{len(bad)} of {len(rows)} services need attention: {names}"


def show(s: Settings, as_json: bool = False) -> bool:
    rows = collect(s)
    ok, line = verdict(rows)
    if as_json:
        ui.plain(
            json.dumps(
                {
                    "ok": ok,
                    "verdict": line,
                    "project": s["project_name"],
                    "services": [asdict(r) | {"ok": r.ok} for r in rows],
                },
                indent=2,
            )
        )
        return ok
    grid = ui.table(
        None,
        ["service", "state", "health", "ports", "uptime", "image", "tag"],
        [[r.service, r.state, r.health, r.ports, r.uptime, r.image, r.tag] for r in rows],
    )
    ui.out.print(grid)
    ui.out.print(
        ("OK: " if ok else "FAIL: ") + line, style="green" if ok else "bold red", markup=False
    )
    return ok
