"""What every task shares: one-line errors, the Stack, the project lock, numeric flags."""

from __future__ import annotations

import functools

from invoke import Exit

from .. import ui
from ..docker import Runner
from ..errors import StackError, UsageError
from ..settings import project


def operator_errors(fn):
    """Print a StackError as one line (plus its detail) and exit 1, or 2 for bad input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StackError as err:
            raise Exit(code=ui.report(err)) from None
        except OSError as err:  # anything the modules did not turn into one line
            from ..store.files import os_error

            raise Exit(code=ui.report(os_error(err.filename or "a file", err, "use"))) from None
        except KeyboardInterrupt:
            ui.error("interrupted: run the command again to finish (`inv status` shows the state)")
            raise Exit(code=130) from None

    return wrapper


def _stack(c, *, on_disk: str = "", **kwargs):
    """The project's Stack (on_disk.load_stack: its certificate warnings printed; with
    on_disk, the task's name, it may run on what was rendered when the settings fail)."""
    from ..ops import on_disk as rendered

    return rendered.load_stack(project.root(c), Runner.from_context(c), on_disk, **kwargs)


# What to do instead, per task that would act on this machine's Compose project.
SWARM_INSTEAD = {
    "start": "change the settings, then `inv swarm.deploy`",
    "restart": "`inv swarm.deploy` (or `docker service update --force` on a manager)",
    "update": "set images.tag, then `inv swarm.deploy`",
    "users": "make agents with prosodyctl on swarm.prosody_node, as docs/scaling.md says",
}


def not_on_swarm(c, task: str) -> None:
    """UsageError (one line) when the project runs as a Swarm stack (swarm.deploy's marker):
    `task` would start or change a second deployment on this machine's engine, or say
    "run `inv start` first" about a prosody that runs on a node."""
    from .. import swarm

    fact = swarm.deployed(project.root(c))
    if fact is None:
        return
    instead = SWARM_INSTEAD[task.split(".")[0]]
    raise UsageError(
        f"{task}: this project runs as Swarm stack {fact.get('stack', '?')}, and `inv {task}` "
        f"acts on this machine's Compose project: {instead}"
    )


def _locked(c, name: str):
    """The project lock (none in --dry: a dry run writes nothing, not even the lock)."""
    import contextlib

    from ..store import lock

    if Runner.from_context(c).dry:
        return contextlib.nullcontext()
    return lock.hold(project.root(c), name)


def _number(value, flag: str, *, minimum: float = 0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: {value!r} is not a number: e.g. {flag} 10") from None
    if number < minimum:
        raise UsageError(f"{flag}: must be at least {minimum:g}")
    return number


def detect_addresses(c, *, refresh: bool = False):
    """jvb.advertise_ips: auto is detected once (STUN, network) before a render needs it;
    nothing is locked or written when the stored result is current."""
    from ..settings import addresses

    root = project.root(c)
    stored, stun = addresses.current(root, refresh=refresh)
    if stun is None:
        return stored
    found = addresses.detect(stun, local=addresses.url_is_local(root))
    if not Runner.from_context(c).dry:
        with _locked(c, "addresses"):
            addresses.store(root, found)
    return found
