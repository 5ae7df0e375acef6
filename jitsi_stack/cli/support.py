"""What every task shares: the command's session, one-line errors, the project lock,
numeric flags."""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING

from invoke import Exit

from .. import ui
from ..docker import Runner
from ..errors import StackError, UsageError
from ..settings import project

if TYPE_CHECKING:
    from ..ops.session import Session

_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar("session", default=None)


def session(c) -> Session:
    """The command's Session: made from Invoke's context (--root, --dry, --echo) the first
    time a task asks, then the same object for the rest of that task."""
    found = _current.get()
    if found is None:
        from ..ops.session import Session  # here: the collection's import stays light

        found = Session(project.root(c), Runner.from_context(c))
        _current.set(found)
    return found


def operator_errors(fn):
    """Each task call gets its own session; a StackError is printed as one line (plus its
    detail) and exits 1, or 2 for bad input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        token = _current.set(None)
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
        finally:
            _current.reset(token)

    return wrapper


def _stack(c, *, on_disk: str = ""):
    """The session's Stack (its certificate warnings printed; with on_disk, the task's
    name, it may run on what was rendered when the settings fail)."""
    return session(c).stack(on_disk)


# What to do instead, per task that would act on this machine's Compose project.
SWARM_INSTEAD = {
    "start": "change the settings, then `inv swarm.deploy`",
    "restart": "`inv swarm.deploy` (or `docker service update --force` on a manager)",
    "update": "set images.tag, then `inv swarm.deploy`",
    "stop": "`inv swarm.rm` removes the stack (prosody's volume stays on its node)",
    "logs": "`docker service logs STACK_jitsi-web` on a manager (DOCKER_HOST=swarm.docker_host)",
    "clean": "`inv swarm.rm` first, then `inv clean` tidies this folder",
    "smoke": "check the Swarm's web: `inv smoke --url http://NODE:PORT`",
}


def not_on_swarm(c, task: str) -> None:
    """UsageError (one line) when the project runs as a Swarm stack (swarm.deploy's marker):
    `task` would start or change a second deployment on this machine's engine, or say
    "run `inv start` first" about a prosody that runs on a node."""
    fact = session(c).swarm
    if fact is None:
        return
    instead = SWARM_INSTEAD[task.split(".")[0]]  # users.add -> users
    raise UsageError(
        f"{task}: this project runs as Swarm stack {fact.get('stack', '?')}, and `inv {task}` "
        f"acts on this machine's Compose project: {instead}"
    )


def _locked(c, name: str):
    """The project lock (none in --dry: a dry run writes nothing, not even the lock)."""
    return session(c).locked(name)


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

    here = session(c)
    asked = here.settings.asked  # the settings load once, here (SettingsError: one line)
    stored, stun = addresses.current(here.root, asked, refresh=refresh)
    if stun is None:
        return stored
    found = addresses.detect(stun, local=addresses.local_url(asked))
    if not here.runner.dry:
        with here.locked("addresses"):
            addresses.store(here.root, found)
        here.reload()  # the state the settings read has changed
    return found
