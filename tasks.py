"""Run Jitsi Meet with Docker Compose: `inv --list`. The logic lives in jitsi_stack/."""

from __future__ import annotations

import functools

from invoke import Exit, task

from jitsi_stack import (
    compose,
    config_view,
    lifecycle,
    preflight,
    project,
    render,
    rotation,
    status,
    teardown,
    ui,
)
from jitsi_stack import update as updater
from jitsi_stack.errors import StackError
from jitsi_stack.invoke_compat import install as allow_optional_positionals

allow_optional_positionals()  # `inv start` and `inv start web,jvb`


def operator_errors(fn):
    """Print a StackError as one line (plus its detail) and exit non-zero."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StackError as err:
            for line in str(err).splitlines():
                ui.error(line)
            if err.detail:
                ui.plain(err.detail)
            raise Exit(code=err.exit_code) from None

    return wrapper


@task(
    name="render",
    help={
        "check": "Exit 1 and show a diff when a generated file is out of date; write nothing",
        "force": "Overwrite hand edits (a backup is kept in .jitsi-stack/backups/)",
    },
)
@operator_errors
def render_(c, check=False, force=False):
    """Render docker-compose.yml, jitsi-meet/.env and the config tree from the settings."""
    report = render.render(project.load(), check=check, force=force)
    if check:
        if report.stale:
            ui.plain(report.diff)
            raise StackError(f"out of date: {', '.join(report.stale)}: run `inv render`")
        ui.info("all generated files are up to date")
        return
    lifecycle.report_render(report)
    if not report.written:
        ui.info("nothing to do: every generated file is up to date")


@task(help={"json": "Machine-readable output"})
@operator_errors
def config(c, json=False):  # noqa: A002 - the flag is --json
    """Show the effective settings (secrets masked) and where each value came from."""
    config_view.show(project.load(), as_json=json)


@task(name="lint")
@operator_errors
def lint_settings(c):
    """Check the settings with the production rules of `nox -s lint`."""
    s = project.load(strict=True)
    for warning in s.warnings:
        ui.warn(warning)
    ui.info(f"settings OK ({', '.join(str(p.name) for p in s.files) or 'defaults'})")


@task(
    positional=["targets"],
    optional=["targets"],
    help={
        "targets": "Services: web, prosody, jicofo, jvb, jitsi, or a compose service "
        "(comma separated); default: everything"
    },
)
@operator_errors
def start(c, targets=None):
    """Render if needed, start the stack, wait until every service is healthy."""
    s = project.load()
    seconds = lifecycle.up(s, lifecycle.resolve_targets(s, lifecycle.split_targets(targets)))
    ui.info(f"healthy after {seconds:.1f}s")
    ui.out.print(f"Jitsi Meet is up: {s['public_url']}", style="bold green", markup=False)


@task(
    positional=["targets"],
    optional=["targets"],
    help={"targets": "Services to stop (default: everything)"},
)
@operator_errors
def stop(c, targets=None):
    """Stop the stack's containers (they are kept; `inv clean` removes them)."""
    s = project.load()
    lifecycle.require_rendered(s)
    services = lifecycle.resolve_targets(s, lifecycle.split_targets(targets))
    c.run(compose.cmd(s, "stop", *services), env=compose.child_env(s), replace_env=True)


@task(
    positional=["targets"],
    optional=["targets"],
    help={"targets": "Services to restart (default: everything)"},
)
@operator_errors
def restart(c, targets=None):
    """Recreate containers so they read the current settings, then wait for health."""
    s = project.load()
    services = lifecycle.resolve_targets(s, lifecycle.split_targets(targets))
    seconds = lifecycle.up(s, services, recreate=True)
    ui.info(f"healthy after {seconds:.1f}s")


@task(
    positional=["target"],
    optional=["target"],
    help={
        "target": "jitsi (default), web, prosody, jicofo, jvb or a compose service",
        "follow": "Keep streaming",
        "tail": "Lines per service (default 100)",
        "since": "Only newer lines: 10m, 2h, or a timestamp",
    },
)
@operator_errors
def logs(c, target=None, follow=False, tail=100, since=""):
    """Show container logs."""
    s = project.load()
    lifecycle.require_rendered(s)
    args = ["logs", "--tail", str(tail)]
    if follow:
        args.append("--follow")
    if since:
        args += ["--since", since]
    args += lifecycle.resolve_targets(s, lifecycle.split_targets(target or "jitsi"))
    c.run(compose.cmd(s, *args), env=compose.child_env(s), replace_env=True, pty=follow)


@task(name="status", help={"json": "Machine-readable output"})
@operator_errors
def status_(c, json=False):  # noqa: A002
    """A table of every service (state, health, ports, uptime, image); exit 1 unless all OK."""
    if not status.show(project.load(), as_json=json):
        raise Exit(code=1)


@task(
    help={
        "tag": "Switch to this image tag (default: pull the current one)",
        "rollback": "Return to the previous tag",
    }
)
@operator_errors
def update(c, tag="", rollback=False):
    """Pull images, recreate, wait for health; roll back by itself when health fails."""
    ui.info(updater.update(project.load(), tag=tag or None, rollback=rollback))


@task(help={"yes": "Do not ask", "all": "Also delete secrets and state, after a backup"})
@operator_errors
def clean(c, yes=False, all=False):  # noqa: A002
    """Remove containers, network and generated files (asks first)."""
    s = project.load()
    teardown.confirm(all, yes, ui.interactive())
    for line in teardown.clean(s, all_=all):
        ui.info(line)


@task(name="rotate-secrets", help={"yes": "Do not ask"})
@operator_errors
def rotate_secrets(c, yes=False):
    """New internal passwords, applied to prosody's accounts and every service."""
    s = project.load()
    preflight.check_docker()  # before anything changes: the services must be recreated
    teardown.confirm_rotation(yes, ui.interactive())
    backup, removed = rotation.rotate(s.root)
    ui.info(f"old passwords saved to {backup}; removed {len(removed)} prosody account(s)")
    seconds = lifecycle.up(project.load(), [], recreate=True)
    ui.info(f"all services use the new passwords; healthy after {seconds:.1f}s")


@task(
    help={
        "url": "Check this deployment instead of the local one",
        "json": "Print JSON",
        "junit": "Write a JUnit XML report to this file",
        "only": "Comma-separated check names",
    }
)
@operator_errors
def smoke(c, url="", json=False, junit="", only=""):  # noqa: A002
    """Check a running deployment end to end, as a browser uses it."""
    from jitsi_stack import smoke as checks
    from jitsi_stack import smoke_target

    target = smoke_target.build(project.load(), url or None)
    results = checks.run_checks(target, only=[o for o in only.split(",") if o] or None)
    if json:
        ui.plain(checks.to_json(results))
    else:
        checks.render_table(results, console=ui.out)
    if junit:
        checks.write_junit(results, junit)
    if checks.exit_code(results):
        raise Exit(code=1)
