"""The tasks: `inv --list` in the checkout, `jitsi-stack --list` anywhere. Thin: the logic
lives in the package's modules, one per verb (stack, status, update, clean, rotate, ...).

Every task that changes files or containers holds the project lock. Every Docker
command goes through one Runner, so Invoke's --dry and --echo work for all of them.
"""

from __future__ import annotations

import json as jsonlib
import re

from invoke import Collection, Exit, task

from .. import ui
from ..errors import StackError, UsageError
from ..settings import project
from ..store import paths
from . import compat as invoke_compat
from .access import addresses_task, token_task, users
from .adopt import adopt_task
from .backup import backup_task, restore_task
from .devca import devca_collection
from .helm import helm
from .support import (
    _locked,
    _number,
    _stack,
    detect_addresses,
    not_on_swarm,
    operator_errors,
    session,
)
from .swarm import swarm

invoke_compat.install()  # `inv start`, `inv start web,jvb`, `inv logs web jvb`


@task(
    name="render",
    help={
        "check": "Exit 1 and show a diff when a generated file is out of date; write nothing",
        "force": "Overwrite hand edits (a backup is kept in .jitsi-stack/backups/)",
    },
)
@operator_errors
def render_task(c, check=False, force=False):
    """Render docker-compose.yml, jitsi-meet/.env and the config tree from the settings."""
    from ..ops.stack import report_render
    from ..render import apply

    if not check:
        detect_addresses(c)
    stack = _stack(c)
    dry = stack.runner.dry
    with _locked(c, "render") if not check else _nullcontext():
        report = apply.apply(stack.d, check=check, force=force, dry=dry)
    if check:
        if report.stale:
            ui.plain(report.diff)
            raise StackError(f"out of date: {', '.join(report.stale)}: run `inv render`")
        ui.info("all generated files are up to date")
        return
    report_render(report, stack.warnings)
    if not report.written:
        ui.info("nothing to do: every generated file is up to date")


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


@task(name="config", help={"json": "Machine-readable output (typed values)"})
@operator_errors
def config_task(c, json=False):  # the flag is --json
    """Show the effective settings (secrets masked) and where each value came from."""
    from ..settings import view as config_view
    from ..settings.rules.frontend import ca_warnings

    s = session(c).settings
    s.warnings += ca_warnings(s)  # reads the CA and the trust store: here, not every load
    if json:
        ui.plain(config_view.as_json(s))
    else:
        config_view.show(s)


@task(name="lint")
@operator_errors
def lint_task(c):
    """Check the settings with the production rules of `nox -s lint`."""
    s = project.load(session(c).root, strict=True)  # the production rules: its own load
    for warning in s.warnings:
        ui.warn(warning)
    ui.info(f"settings OK ({', '.join(str(p.name) for p in s.files) or 'defaults'})")


TARGETS_HELP = (
    "Services: web, prosody, jicofo, jvb, jitsi (all of them) or a service of the platform's "
    "compose files; comma separated. Default: everything"
)


@task(
    name="start",
    positional=["targets"],
    help={"targets": TARGETS_HELP, "json": "Print the result as JSON"},
)
@operator_errors
def start_task(c, targets=None, json=False):
    """Render if needed, start the stack, wait until every service is healthy."""
    from ..ops.stack import resolve_targets, split_targets, up

    not_on_swarm(c, "start")
    detect_addresses(c)
    stack = _stack(c)
    services = resolve_targets(stack, split_targets(targets))
    with _locked(c, "start"):
        seconds = up(stack, services)
    if seconds is not None:  # the render made the development CA, if it was not there
        from ..settings.rules.frontend import ca_warnings

        for warning in ca_warnings(session(c).settings):
            ui.warn(warning)
    _started(stack, services, seconds, json)


def _started(stack, services, seconds, as_json: bool) -> None:
    if seconds is None:  # --dry
        return
    if as_json:
        result = {
            "ok": True,
            "url": stack.d.urls.public,
            "seconds": round(seconds, 1),
            "services": services or stack.d.names,
            "grafana": stack.d.metrics.grafana_url if stack.d.metrics else None,
        }
        ui.plain(jsonlib.dumps(result, indent=2))
        return
    ui.info(f"healthy after {seconds:.1f}s")
    ui.show(f"Jitsi Meet is up: {stack.d.urls.public}", style="bold green")
    if stack.d.metrics:
        ui.info(
            f"Grafana: {stack.d.metrics.grafana_url} (user admin; the password is "
            f"GRAFANA_ADMIN_PASSWORD in {paths.SECRETS})"
        )


@task(
    name="stop",
    positional=["targets"],
    help={
        "targets": TARGETS_HELP,
        "drain": "Drain each bridge of its calls first (default; --no-drain: stop at once)",
    },
)
@operator_errors
def stop_task(c, targets=None, drain=True):
    """Stop the stack's containers (they are kept; `inv clean` removes them)."""
    from ..ops.stack import resolve_targets, split_targets, stop

    not_on_swarm(c, "stop")
    stack = _stack(c, on_disk="stop")
    services = resolve_targets(stack, split_targets(targets))
    stack.require_rendered()
    with _locked(c, "stop"):
        stop(stack, services, drain_first=drain)


@task(name="restart", positional=["targets"], help={"targets": TARGETS_HELP})
@operator_errors
def restart_task(c, targets=None):
    """Recreate containers so they read the current settings, then wait for health."""
    from ..ops.stack import resolve_targets, restart, split_targets

    not_on_swarm(c, "restart")
    stack = _stack(c)
    services = resolve_targets(stack, split_targets(targets))
    with _locked(c, "restart"):
        seconds = restart(stack, services)
    if seconds is not None:
        ui.info(f"healthy after {seconds:.1f}s")


@task(
    name="logs",
    positional=["targets"],
    help={
        "targets": "jitsi (default), web, prosody, jicofo, jvb or a compose service; several: "
        "web,jvb or web jvb",
        "follow": "Keep streaming",
        "tail": "Lines per service (default 100), or 'all'",
        "since": "Only newer lines: 10m, 2h, or a timestamp",
    },
)
@operator_errors
def logs_task(c, targets=None, follow=False, tail="100", since=""):
    """Show container logs."""
    from ..ops.stack import resolve_targets, split_targets

    if str(tail) != "all":
        tail = str(int(_number(tail, "--tail")))
    not_on_swarm(c, "logs")
    stack = _stack(c, on_disk="logs")
    stack.require_rendered()
    args = ["logs", "--tail", str(tail)]
    if follow:
        args.append("--follow")
    if since:
        args += ["--since", since]
    args += resolve_targets(stack, split_targets(targets or "jitsi"))
    stack.compose.stream(*args, mask=stack.mask)


@task(
    name="status",
    help={
        "json": "Machine-readable output",
        "watch": "Refresh every N seconds until Ctrl-C (e.g. --watch 5); with --json one "
        "JSON document per line",
    },
)
@operator_errors
def status_task(c, json=False, watch=""):
    """Every service (state, health, ports, uptime, image), the meetings and each bridge's
    load; exit 1 unless all OK."""
    from ..ops import status

    if session(c).swarm is not None:  # the deployment runs as a Swarm stack: show it
        from .swarm import swarm_status

        if watch:
            raise UsageError("--watch: not on a Swarm project: run `inv swarm.status` again")
        swarm_status(c, json)
        return
    if watch:
        seconds = _number(watch, "--watch", minimum=1)
        status.watch(_stack(c, on_disk="status"), seconds, as_json=json)
        return
    if not status.run(_stack(c, on_disk="status"), as_json=json):
        raise Exit(code=1)


@task(
    name="update",
    help={
        "tag": "Switch to this image tag (default: pull the current one)",
        "rollback": "Return to the previous tag",
        "json": "Print the result as JSON",
        "check": "Only list the newer stable releases (exit 0: none, 1: some, 3: no answer)",
    },
)
@operator_errors
def update_task(c, tag="", rollback=False, json=False, check=False):
    """Pull images, recreate, wait for health; roll back by itself when health fails."""
    from ..ops import update

    if check:
        from .backup import update_check

        update_check(c, as_json=json)
        return
    not_on_swarm(c, "update")
    with _locked(c, "update"):
        line = update.update(session(c), tag=tag or None, rollback=rollback)
    if json:
        ui.plain(jsonlib.dumps({"ok": True, "result": line}, indent=2))
    else:
        ui.info(line)


@task(
    name="clean",
    help={"yes": "Do not ask", "all": "Also delete secrets and state, after a backup"},
)
@operator_errors
def clean_task(c, yes=False, all=False):
    """Remove containers, network and generated files (asks first)."""
    from ..ops import clean

    not_on_swarm(c, "clean")
    stack = _stack(c)
    settings_files = session(c).settings.files
    if not stack.runner.dry:
        clean.confirm("clean", clean.describe(all), yes, ui.interactive())
    with _locked(c, "clean"):
        for line in clean.clean(stack, settings_files, all_=all):
            ui.info(line)


@task(name="rotate-secrets", help={"yes": "Do not ask"})
@operator_errors
def rotate_secrets_task(c, yes=False):
    """New internal passwords, applied to prosody's accounts and every service."""
    from ..ops import clean, preflight, rotate
    from ..ops.stack import Stack, up
    from ..render import apply

    if session(c).swarm is not None:
        _rotate_on_swarm(c, yes)
        return
    stack = _stack(c)
    apply.refuse_lapsed(stack.d)  # it renders at its end: refuse before anything changes
    preflight.check_docker(stack.runner)  # before anything changes: services are recreated
    if not stack.runner.dry:
        clean.confirm("rotate-secrets", rotate.DESCRIPTION, yes, ui.interactive())
    with _locked(c, "rotate-secrets"):
        backup, removed = rotate.rotate(stack)
        ui.info(f"old passwords saved to {backup}; removed {len(removed)} prosody account(s)")
        seconds = up(Stack(stack.d, stack.runner, stack.warnings), [], recreate=True)
    if seconds is not None:
        ui.info(f"all services use the new passwords; healthy after {seconds:.1f}s")


def _rotate_on_swarm(c, yes: bool) -> None:
    """rotate-secrets where the stack runs: the internal accounts deleted in prosody's task
    (through the manager), the new secrets stored, the stack deployed again; this machine's
    engine is not touched."""
    from ..access.users import ProsodyShell
    from ..ops import clean, rotate
    from ..swarm import cluster
    from .access import swarm_prosody

    here = session(c)
    stack = here.stack()
    manager, absent = swarm_prosody(c)
    prosody = ProsodyShell(stack, manager, absent, task="rotate-secrets")
    prosody.shell(["server:version()"], what="")  # reachable, before anything changes
    if not here.runner.dry:
        clean.confirm("rotate-secrets", rotate.SWARM_DESCRIPTION, yes, ui.interactive())
    with _locked(c, "rotate-secrets"):
        prosody.shell([f'user:delete("{jid}")' for jid in rotate.internal_jids(stack.d)],
                      what="")  # fmt: skip
        if here.runner.dry:
            return
        backup = rotate.new_secrets(stack)
        ui.info(f"old passwords saved to {backup}; prosody's internal accounts deleted")
        cluster.deploy(here.root, here.runner, 300, settings=here.settings, deployment=here.d)
    ui.info("the stack runs with the new passwords (`inv swarm.status` shows it)")


def _cafile(value: str) -> str:
    from pathlib import Path

    if value and not Path(value).is_file():
        raise UsageError(f"--cafile: {value} is not a file: give the PEM file of the CA")
    return str(Path(value).resolve()) if value else ""


@task(
    name="smoke",
    help={
        "url": "Check this deployment instead of the local one",
        "json": "Print JSON",
        "junit": "Write a JUnit XML report to this file",
        "only": "Comma-separated check names",
        "timeout": "Seconds each check may take (default 10)",
        "insecure": "Do not verify the TLS certificate (a self-signed test setup)",
        "cafile": "Trust this CA file (a private CA) instead of the system's, e.g. ca.pem",
    },
)
@operator_errors
def smoke_task(
    c,
    url="",
    json=False,
    junit="",
    only="",
    timeout="10",
    insecure=False,
    cafile="",
):
    """Check a running deployment end to end, as a browser uses it."""
    from .. import smoke
    from ..smoke.target import from_deployment

    seconds = _number(timeout, "--timeout", minimum=0.1)
    names = [o for o in re.split(r"[,\s]+", only) if o]
    unknown = [n for n in names if n not in smoke.CHECK_NAMES]
    if unknown:
        raise UsageError(
            f"--only: unknown check {unknown[0]!r}: use one of {', '.join(smoke.CHECK_NAMES)}"
        )
    if not url:
        not_on_swarm(c, "smoke")
    stack = _stack(c)
    target = from_deployment(
        stack.d,
        stack.compose,
        url=url or None,
        timeout=seconds,
        verify_tls=not insecure,
        cafile=_cafile(cafile),
    )
    here = session(c)
    if here.swarm is not None:  # the bridges advertise their nodes' addresses
        import dataclasses

        from ..swarm import advertised

        target = dataclasses.replace(target, advertise_ips=advertised(here.settings))
    from ..smoke.credentials import probe_login

    with probe_login(stack, target, set(names or smoke.CHECK_NAMES)) as target:
        results = smoke.run_checks(target, only=names or None)
    if json:
        ui.plain(smoke.to_json(results))
    else:
        smoke.render_table(results, console=ui.out)
    if junit:
        smoke.write_junit(results, junit)
    if smoke.exit_code(results):
        raise Exit(code=1)


ns = Collection(
    render_task,
    config_task,
    lint_task,
    start_task,
    stop_task,
    restart_task,
    logs_task,
    status_task,
    update_task,
    clean_task,
    rotate_secrets_task,
    smoke_task,
    token_task,
    addresses_task,
    backup_task,
    restore_task,
    users,
    swarm,
    helm,
    adopt_task,
    devca_collection,
)
