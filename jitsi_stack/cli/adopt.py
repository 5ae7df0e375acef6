"""`inv adopt PATH/TO/.env`: a running docker-jitsi-meet deployment becomes this project
(ops/adopt.py does the work; this is the Invoke face)."""

from __future__ import annotations

from pathlib import Path

from invoke import task

from .. import ui
from ..docker import Runner
from .support import _locked, operator_errors, session


@task(
    name="adopt",
    positional=["env_file"],
    help={
        "env_file": "docker-jitsi-meet's .env (e.g. ../docker-jitsi-meet/.env)",
        "config": "Its CONFIG folder, when the .env's CONFIG does not name it from here",
        "force": "Replace an existing jitsi-stack.yml",
        "json": "Print the plan as JSON (variable, value, where it goes, why)",
    },
)
@operator_errors
def adopt_task(c, env_file, config="", force=False, json=False):
    """Take over a docker-jitsi-meet deployment: its .env becomes jitsi-stack.yml and
    secrets.env, its CONFIG folder ./jitsi-meet. Shows the plan; --dry writes nothing."""
    from ..ops import adopt

    here = session(c)
    root, runner = here.root, here.runner
    p = adopt.plan(Path(env_file), root, config)
    adopt.check(p, root, force=force, running=[])  # the files first: no Docker needed
    adopt.check(p, root, force=force, running=_running(runner, p))
    if json:
        ui.plain(p.as_json())
    else:
        ui.show(
            ui.table(
                f"adopt {env_file} into {root}",
                ["variable", "line", "value", "goes to", "why"],
                [
                    [r.variable, str(r.line) if r.line else "-", r.value, r.target, r.why]
                    for r in p.rows
                ],
            )
        )
    for warning in p.warnings:
        ui.warn(warning)
    if runner.dry:
        ui.info("dry run: nothing written")
        return
    with _locked(c, "adopt"):
        done = adopt.apply(p, root, force=force)
    if not json:
        for line in done:
            ui.info(line)
        ui.info("next: `inv start`, then `inv status` and `inv smoke`")


def _running(runner: Runner, p) -> list[str]:
    """Names of the old deployment's running containers ([] when Docker is not here)."""
    from ..docker.engine import Engine
    from ..errors import DockerError
    from ..ops import adopt

    engine = Engine.local(Runner())  # a read-only question: asked in --dry too
    if not engine.available():
        ui.warn("could not ask Docker which containers run: stop the old deployment first")
        return []
    try:
        rows = engine.request("GET", "/containers/json")
    except DockerError:
        ui.warn("could not ask Docker which containers run: stop the old deployment first")
        return []
    import json as jsonlib

    return adopt.holders(p, jsonlib.loads(rows or b"[]"), adopt.new_containers(p))
