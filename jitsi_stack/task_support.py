"""What every task shares: one-line errors, the Stack, the project lock, numeric flags."""

from __future__ import annotations

import functools

from invoke import Exit

from . import project, ui
from .docker import Runner
from .errors import StackError, UsageError


def operator_errors(fn):
    """Print a StackError as one line (plus its detail) and exit 1, or 2 for bad input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StackError as err:
            raise Exit(code=ui.report(err)) from None
        except OSError as err:  # anything the modules did not turn into one line
            from .files import os_error

            raise Exit(code=ui.report(os_error(err.filename or "a file", err, "use"))) from None
        except KeyboardInterrupt:
            ui.error("interrupted: run the command again to finish (`inv status` shows the state)")
            raise Exit(code=130) from None

    return wrapper


def _stack(c, *, on_disk: str = "", **kwargs):
    """The project's Stack; its certificate warnings printed (one line each: every task
    says so, as only a task that would install the certificate refuses it).

    on_disk: the task's name when it may run on what the last render left on disk while
    the settings do not load (stop, logs, status, backup: on_disk.TASKS); it then says
    what is wrong in one line and gets a Stack of the rendered files."""
    from .errors import SettingsError
    from .stack import Stack

    root = project.root(c)
    runner = Runner.from_context(c)
    try:
        stack = Stack.load(root, runner, **kwargs)
    except SettingsError as err:
        if not on_disk:
            raise
        from . import on_disk as rendered

        try:
            found = rendered.load(root)
        except StackError:
            raise err from None  # nothing rendered to work on: the settings' problem it is
        problem = rendered.problem_line(err)
        ui.warn(
            f"{problem}: the settings do not load, so `{on_disk}` works on what was rendered "
            "(docker-compose.yml, jitsi-meet/.env)"
        )
        return Stack(found, runner, [], problem=problem)
    cert = [w for w in stack.warnings if w.startswith("https.certificate")]
    for warning in cert:
        ui.warn(warning)
    stack.warnings = [w for w in stack.warnings if w not in cert]
    return stack


def _locked(c, name: str):
    """The project lock (none in --dry: a dry run writes nothing, not even the lock)."""
    import contextlib

    from . import lock

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
    from . import addresses

    root = project.root(c)
    stored, stun = addresses.current(root, refresh=refresh)
    if stun is None:
        return stored
    found = addresses.detect(stun)
    if not Runner.from_context(c).dry:
        with _locked(c, "addresses"):
            addresses.store(root, found)
    return found
