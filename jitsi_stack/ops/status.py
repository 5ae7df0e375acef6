"""`inv status`: one row per service, a one-line verdict, JSON for scripts.

One Docker call (`docker compose ps`): the expected services come from the
Deployment, not from asking Compose.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from .. import docker
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


@dataclass(frozen=True)
class Certificate:
    """A certificate row: the one the web container serves (as browsers get it), or the
    file https.certificate names (what the next render installs)."""

    source: str  # 127.0.0.1:8444, or the file
    subject: str = ""
    not_after: str = ""  # ISO date
    days_left: int | None = None
    problem: str = ""  # why it could not be read, or why it is bad

    @property
    def level(self) -> str:
        """ok, warn (renew soon) or fail (expired, unreadable). Both warn and fail are a
        red row and a non-zero exit: the monitoring that watches `inv status` sees the
        renewal due WARN_DAYS ahead, not on the day browsers refuse the site."""
        from ..settings.certs import WARN_DAYS  # a certificate row is rare: import it then

        if self.problem or self.days_left is None or self.days_left < 0:
            return "fail"
        return "warn" if self.days_left < WARN_DAYS else "ok"

    def line(self) -> str:
        if self.problem:
            return f"certificate on {self.source}: {self.problem}"
        if self.days_left is not None and self.days_left < 0:
            return f"certificate on {self.source}: {self.subject} expired on {self.not_after}"
        return (
            f"certificate on {self.source}: {self.subject}, expires {self.not_after} "
            f"(in {self.days_left} days)"
        )

    def row(self) -> list[str]:
        if self.problem:
            shown = "unreadable"
        elif self.level == "fail":
            shown = "EXPIRED: renew it"
        elif self.level == "warn":
            shown = f"expires in {self.days_left} days: renew it"
        else:
            shown = "ok"
        days = "-" if self.days_left is None else str(self.days_left)
        return [self.source, self.subject or "-", self.not_after or "-", days, shown]


def _from_info(source: str, info) -> Certificate:
    return Certificate(
        source,
        subject=info.subject,
        not_after=f"{info.not_after:%Y-%m-%d}",
        days_left=info.days_left(),  # floors: -1 a second after it expired
    )


def certificate(stack: Stack, rows: list[Row]) -> Certificate | None:
    """The served certificate, when HTTPS is on and the web container runs."""
    d = stack.d
    try:
        web = d.service("web").name
    except KeyError:
        return None
    running = any(r.service == web and r.state == "running" for r in rows)
    published = any(p.setting == "ports.https" for p in d.ports())
    if d.urls.scheme != "https" or not published or not running:
        return None  # http, or TLS ends at the platform's proxy: not ours to read
    from ..settings import certs  # here: a status without HTTPS reads no certificate

    port = d.port("ports.https").host
    source = f"127.0.0.1:{port}"
    try:
        info = certs.served("127.0.0.1", port, d.urls.host)
    except (OSError, ValueError) as err:
        return Certificate(source, problem=f"no TLS answer ({err.__class__.__name__}: {err})")
    return _from_info(source, info)


def certificates(stack: Stack, rows: list[Row]) -> list[Certificate]:
    """Every certificate row: the served one, and the https.certificate file when it is not
    the one served (renewed or replaced on disk, or the web container is not running)."""
    found = []
    served = certificate(stack, rows)
    if served is not None:
        found.append(served)
    own = stack.d.certificate
    if own is not None:
        from ..settings import certs

        try:
            shown = str(own.cert.relative_to(stack.d.root))
        except ValueError:
            shown = str(own.cert)
        try:
            row = _from_info(shown, certs.info(own.cert))
        except (OSError, ValueError) as err:
            row = Certificate(shown, problem=str(err).partition(": ")[2] or str(err))
        same = served is not None and (served.subject, served.not_after) == (
            row.subject,
            row.not_after,
        )
        if not same:
            found.append(row)
    return found


def as_json_text(
    stack: Stack,
    rows: list[Row],
    interrupted: str = "",
    certs: list[Certificate] | None = None,
    view=None,
    one_line: bool = False,
) -> str:
    from .meetings import uncounted

    ok, line = verdict(rows)
    short = uncounted(view) if view is not None else ""
    certs = certs or []
    shown = [asdict(c) | {"level": c.level, "ok": c.level == "ok"} for c in certs]
    stamp = {"time": _now()} if one_line else {}
    return json.dumps(
        stamp
        | {
            "ok": ok and not interrupted and not stack.problem and _certs_ok(certs) and not short,
            "verdict": stack.problem or interrupted or (line if not ok else short or line),
            "project": stack.d.project,
            "settings": stack.problem or None,  # why the settings do not load
            "services": [asdict(r) | {"ok": r.ok} for r in rows],
            "certificate": shown[0] if shown else None,  # the served one, when served
            "certificates": shown,
            "meetings": view.to_json() if view is not None else None,
        },
        indent=None if one_line else 2,
    )


def _certs_ok(certs: list[Certificate]) -> bool:
    return all(c.level == "ok" for c in certs)


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run(stack: Stack, as_json: bool = False, one_line: bool = False) -> bool:
    """The whole of `status`: True when every service and certificate is OK (and the
    settings load)."""
    from .. import ui
    from . import meetings

    stack.require_rendered()
    rows = collect(stack)
    interrupted = interrupted_update(stack)
    certs = certificates(stack, rows)
    running = {r.service for r in rows if r.state == "running"}
    view = None if stack.problem else meetings.collect(stack.d, running)
    short = meetings.uncounted(view) if view is not None else ""
    good = _certs_ok(certs) and not stack.problem and not short
    if as_json:
        ui.plain(as_json_text(stack, rows, interrupted, certs, view, one_line))
        return verdict(rows)[0] and not interrupted and good
    if interrupted:
        ui.warn(interrupted)
    ok = show(stack, rows)
    if view is not None:
        summary, bridges = meetings.lines(view)
        ui.show(summary)
        if bridges:
            columns = ["bridge", "version", "stress", "conferences", "endpoints", ""]
            ui.show(ui.table(None, columns, bridges))
    if short:
        ui.error(short)
    show_certificates(certs)
    if stack.problem:
        ui.error("the settings do not load (the warning above says why): fix them (`inv lint`)")
    return ok and not interrupted and good


def certificate_table(certs: list[Certificate], fancy: bool | None = None):
    """The certificate rows; on a terminal a row that needs renewing is red."""
    from .. import ui

    columns = ["certificate", "subject", "expires", "days left", "verdict"]
    grid = ui.table(None, columns, [c.row() for c in certs], fancy=fancy)
    for row, cert in zip(getattr(grid, "rows", ()), certs, strict=False):  # rich's rows
        row.style = "green" if cert.level == "ok" else "bold red"
    return grid


def show_certificates(certs: list[Certificate]) -> None:
    """One row per certificate; a row that needs renewing (or cannot be read) is red,
    with its one-line verdict on stderr."""
    from .. import ui

    if not certs:
        return
    ui.show(certificate_table(certs))
    bad = [c for c in certs if c.level != "ok"]
    for cert in bad:
        fix = ": `inv logs web`" if cert.problem else ": renew it"
        {"warn": ui.warn, "fail": ui.error}[cert.level](cert.line() + fix)


def watch(stack: Stack, interval: float, as_json: bool = False) -> None:
    """`inv status --watch N`: the same view every N seconds until Ctrl-C; with --json one
    JSON document per line (with its time), for a log or a pipe."""
    import sys
    import time

    try:
        while True:
            if as_json:
                run(stack, as_json=True, one_line=True)
            else:
                if sys.stdout.isatty():
                    sys.stdout.write("\033[H\033[2J")  # clear the screen, as watch(1) does
                print(time.strftime("%H:%M:%S"), flush=True)
                run(stack)
            sys.stdout.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def interrupted_update(stack: Stack) -> str:
    """The exact command that finishes an update that was cut short, or ''."""
    from ..store import state

    pending = state.read(stack.d.root).pending
    if not pending:
        return ""
    return (
        f"an update from {pending.get('from')} to {pending.get('to')} was interrupted: run "
        f"`inv update --rollback` to return to {pending.get('from')}, or `inv update --tag "
        f"{pending.get('to')}` to try again"
    )


def show(stack: Stack, rows: list[Row]) -> bool:
    from .. import ui

    ok, line = verdict(rows)
    grid = ui.table(
        None,
        ["service", "state", "health", "ports", "uptime", "image", "tag"],
        [[r.service, r.state, r.health, r.ports, r.uptime, r.image, r.tag] for r in rows],
    )
    ui.show(grid)
    ui.show(("OK: " if ok else "FAIL: ") + line, style="green" if ok else "bold red")
    return ok
