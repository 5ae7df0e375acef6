"""Docker Swarm tasks: `inv swarm.render`, `swarm.deploy`, `swarm.status`, `swarm.rm`
(`jitsi-stack swarm.deploy` takes the same). The logic is in swarm/__init__.py (the stack file) and
swarm/cluster.py (the Swarm)."""

from __future__ import annotations

import json as jsonlib

from invoke import Collection, Exit, task

from .. import ui
from .support import _locked, _number, operator_errors, session


def _loaded(c) -> dict:
    """The session's settings and Deployment, for the swarm floor's functions."""
    here = session(c)
    return {"settings": here.settings, "deployment": here.d}


@task(name="render", help={"check": "Exit 1 when swarm/stack.yml is out of date; write nothing"})
@operator_errors
def swarm_render_task(c, check=False):
    """Render swarm/stack.yml (and its secrets wrapper) from the settings."""
    from .. import swarm

    here = session(c)
    dry = here.runner.dry
    _s, d, _values, v = swarm.load(here.root, dry=dry or check, **_loaded(c))
    for warning in v.warnings:
        ui.warn(warning)
    texts = swarm.render(v)
    if check:
        stale = swarm.write(d.root, texts, dry=True)
        if stale:
            ui.error(f"out of date: {', '.join(stale)}: run `inv swarm.render`")
            raise Exit(code=1)
        ui.info(f"{swarm.STACK_FILE} is up to date")
        return
    with _locked(c, "swarm.render"):
        written = swarm.write(d.root, texts, dry=dry)
    for rel in written:
        ui.info(f"{'would write' if dry else 'wrote'} {rel}")
    if not written:
        ui.info(f"nothing to do: {swarm.STACK_FILE} is up to date")


@task(
    name="deploy",
    help={
        "timeout": "Seconds to wait for every service to run (default 300)",
        "json": "Print the status as JSON",
    },
)
@operator_errors
def swarm_deploy_task(c, timeout="300", json=False):  # the flag is --json
    """Deploy the stack to the Swarm (`docker stack deploy`) and wait until it runs."""
    from ..swarm import cluster as swarm_cluster

    seconds = _number(timeout, "--timeout", minimum=1)
    here = session(c)
    with _locked(c, "swarm.deploy"):
        view, _states = swarm_cluster.deploy(here.root, here.runner, seconds, **_loaded(c))
    if here.runner.dry:
        return
    _show(swarm_cluster.status(here.root, here.runner, **_loaded(c)), json)


@task(name="status", help={"json": "Machine-readable output"})
@operator_errors
def swarm_status_task(c, json=False):
    """Each service of the stack (tasks, nodes, health) and each node of the Swarm."""
    swarm_status(c, json)


def swarm_status(c, as_json: bool) -> None:
    """The stack's view (exit 1 unless converged): `inv swarm.status`, and `inv status` of
    a project that runs as a Swarm stack."""
    from ..swarm import cluster as swarm_cluster

    here = session(c)
    view = swarm_cluster.status(here.root, here.runner, **_loaded(c))
    _show(view, as_json)
    if not view["converged"]:
        raise Exit(code=1)


def _show(view: dict, as_json: bool) -> None:
    from ..swarm import cluster as swarm_cluster

    if as_json:
        ui.plain(jsonlib.dumps(view, indent=2))
    else:
        swarm_cluster.show_status(view)


@task(name="rm")
@operator_errors
def swarm_rm_task(c):
    """Remove the stack: its services, networks, secrets and configs (waits until gone)."""
    from ..swarm import cluster as swarm_cluster

    here = session(c)
    with _locked(c, "swarm.rm"):
        left, volume = swarm_cluster.remove(here.root, here.runner, **_loaded(c))
    ui.info("no stack was deployed" if left == ["nothing"] else "stack removed")
    if left != ["nothing"]:
        ui.info(
            f"kept prosody's data: the volume {volume} on its node (remove it there with "
            f"`docker volume rm {volume}` when its accounts are no longer needed)"
        )


swarm = Collection("swarm", swarm_render_task, swarm_deploy_task, swarm_status_task, swarm_rm_task)
