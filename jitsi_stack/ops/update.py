"""`inv update`: pull, recreate, verify health, roll back by itself when health fails.

The bridges go first, one at a time: each is put in drain and recreated once its calls
have ended or jvb.drain_timeout passed (ops/drain.py); then everything else at once.

Before anything changes, state.json records the running tag and image ids and a
`pending` marker. The chosen tag is kept there as an override of images.tag
(shown by `inv config` with its source). An update that fails, or is
interrupted with Ctrl-C, is rolled back; if even that is cut short, `pending`
stays and `inv status` names the command that finishes the job.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from .. import docker, ui
from ..errors import StackError, UsageError
from ..store import paths, state
from ..validators import tag_problem
from . import preflight
from .stack import changed_bridges, report_render, roll_bridges, up

if TYPE_CHECKING:
    from .session import Session


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _choose(session: Session, tag: str) -> None:
    """Record `tag` as the chosen one (or drop the override when it is the configured one);
    the session's settings are read again by the next step."""
    root = session.root
    configured = session.settings.asked["images"]["tag"]  # what the files say, no state
    current = state.read(root)
    current.tag = None if tag == configured else state.TagChoice(tag, configured)
    state.write(root, current)
    session.reload()


def _finish(root: Path, **changes) -> None:
    current = state.read(root)
    current.pending = {}
    for key, value in changes.items():
        setattr(current, key, value)
    state.write(root, current)


def _backup(session: Session) -> None:
    """An archive before anything changes; the last few of these are kept."""
    from . import backup

    root = session.root
    result = backup.write(session.stack(), session.settings.files, kind="before-update")
    backup.prune(root / paths.BACKUP_ARCHIVES, "before-update", backup.KEEP_BEFORE_UPDATE)
    paused = f", prosody paused {result.paused:.2f}s" if result.paused else ""
    ui.info(f"backup: {result.path.relative_to(root)}{paused}")


def update(session: Session, tag: str | None = None, rollback: bool = False) -> str:
    """Returns a one-line summary; raises StackError when it had to roll back."""
    root, runner = session.root, session.runner
    stack = session.stack()
    from ..render.apply import refuse_lapsed

    refuse_lapsed(stack.d)  # it renders after the backup and the state: refuse before those
    recorded = state.read(root)
    current = stack.d.tag
    if rollback:
        target = recorded.previous.get("tag", "")
        if not target:
            raise UsageError(
                "nothing to roll back to: no previous tag is recorded (run "
                "`inv update --tag TAG` first)"
            )
    else:
        target = tag or current
    problem = tag_problem(target)
    if problem:
        raise UsageError(f"--tag: {problem}")
    preflight.check_docker(runner)
    if runner.dry:
        ui.info(f"dry run: would switch {current} -> {target}, pull, recreate and wait for health")
        return f"dry run: nothing changed ({current} -> {target})"
    if target == current and not rollback:
        # Same tag: pull newer images for it (a registry may have re-pushed the tag) before
        # anything is recorded; a failed pull changes nothing.
        from ..render import apply

        report_render(apply.apply(stack.d))
        try:
            stack.compose.run("pull", *stack.d.names, capture=False)
        except StackError as err:
            raise StackError(
                f"pulling {current} failed, nothing changed: {str(err).splitlines()[0]}"
            ) from None
    _backup(session)
    rendered = (root / paths.COMPOSE_FILE).exists()
    containers = stack.compose.ps() if rendered else []
    recorded.previous = {
        "tag": current,
        "images": docker.image_ids(runner, containers),
        "at": _now(),
    }
    recorded.pending = {"from": current, "to": target, "at": _now()}
    state.write(root, recorded)
    _choose(session, target)
    ui.info(f"updating {current} -> {target}" if target != current else f"refreshing {current}")
    try:
        new = session.stack()
        # the bridges first, one at a time, each drained of its calls (ops/drain.py), then
        # the rest at once; the rollback below recreates without draining
        roll_bridges(new, changed_bridges(new))
        up(new, [])
    except (StackError, KeyboardInterrupt) as err:
        if rollback or target == current:  # nothing else to go back to
            _finish(root)
            raise
        reason = "interrupted (Ctrl-C)" if isinstance(err, KeyboardInterrupt) else str(err)
        if isinstance(err, StackError):
            ui.error(str(err))
            if err.detail:
                ui.plain(err.detail)
        ui.info(f"rolling back to {current}")
        _choose(session, current)
        up(session.stack(), [])
        _finish(root, last_failed={"tag": target, "reason": reason.split("\n")[0], "at": _now()})
        raise StackError(
            f"update to {target} failed and was rolled back to {current}; the stack is healthy "
            f"on {current} (cause: {reason.split(':', 1)[0]})"
        ) from None
    history = state.read(root).history
    history.append({"from": current, "to": target, "at": _now()})
    _finish(root, history=history[-20:])
    return f"running {target} (previous: {current}; `inv update --rollback` returns to it)"
