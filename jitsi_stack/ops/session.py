"""One command's session: the project folder, the runner, the settings loaded once (with
their warnings), the Deployment built once, and where the deployment runs.

The CLI makes one Session per command (cli/support.session) and every task reads it: no
task loads the settings or builds the Deployment a second time. A task that itself
changes what the settings read (the addresses `auto` detected, the tag `inv update`
chose, the secrets `inv rotate-secrets` made) says so with `reload()`, the one place a
command reads them again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..docker import Runner

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..deployment import Deployment
    from ..settings.layers import Settings
    from .stack import Stack

COMPOSE = "compose"  # this machine's engine runs the deployment
SWARM = "swarm"  # a Swarm stack deployed from this folder (swarm.deploy's marker) runs it


@dataclass
class Session:
    root: Path
    runner: Runner = field(default_factory=Runner)
    _built: bool = field(default=False, repr=False)  # a Stack was built (warnings shown)
    _settings: Settings | None = field(default=None, repr=False)
    _stack: Stack | None = field(default=None, repr=False)
    _swarm: dict | None = field(default=None, repr=False)
    _swarm_read: bool = field(default=False, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings (SettingsError when they do not load)."""
        if self._settings is None:
            from ..settings import project

            self._settings = project.load(self.root)
        return self._settings

    def stack(self, on_disk: str = "") -> Stack:
        """The Deployment and the runner that drives it, built once; the settings'
        certificate warnings are printed when it is built (one line each).

        on_disk: the task's name when it may work on what the last render left on disk
        while the settings do not load (ops/on_disk.TASKS): it then says what is wrong in
        one line and gets a Stack of the rendered files."""
        if self._stack is None:
            self._stack = self._build(on_disk)
            self._built = True
        return self._stack

    def _build(self, task: str) -> Stack:
        from typing import cast

        from .. import ui
        from ..deployment import build
        from ..errors import SettingsError, StackError
        from . import on_disk
        from .stack import Stack

        try:
            s = self.settings
            stack = Stack(build(s), self.runner, list(s.warnings))
        except SettingsError as err:
            if task not in on_disk.TASKS:
                raise
            try:
                found = on_disk.load(self.root)
            except StackError:
                raise err from None  # nothing rendered to work on: the settings' problem
            problem = on_disk.problem_line(err)
            ui.warn(
                f"{problem}: the settings do not load, so `{task}` works on what was "
                "rendered (docker-compose.yml, jitsi-meet/.env)"
            )
            # Rendered has the part of a Deployment that stop, logs, status and backup
            # read (names, files, services): those tasks alone get it (on_disk.TASKS).
            return Stack(cast("Deployment", found), self.runner, [], problem=problem)
        # The certificate's warnings, one line each, from every task (only a task that
        # would install the certificate refuses it); once per command, not on a reload.
        cert = [w for w in stack.warnings if w.startswith("https.certificate")]
        for warning in cert if not self._built else []:
            ui.warn(warning)
        stack.warnings = [w for w in stack.warnings if w not in cert]
        return stack

    @property
    def d(self) -> Deployment:
        return self.stack().d

    def reload(self) -> Session:
        """Forget what was loaded: the task changed what the settings read (state,
        secrets). The next `settings` or `stack()` reads them again."""
        self._settings = None
        self._stack = None
        return self

    # -- where the deployment runs --------------------------------------------------------

    @property
    def swarm(self) -> dict | None:
        """swarm.deploy's record of the stack deployed from this folder, or None."""
        if not self._swarm_read:
            from .. import swarm

            self._swarm = swarm.deployed(self.root)
            self._swarm_read = True
        return self._swarm

    @property
    def where(self) -> str:
        return SWARM if self.swarm is not None else COMPOSE

    # -- the project lock ----------------------------------------------------------------

    def locked(self, task: str) -> contextlib.AbstractContextManager[Any]:
        """The project lock for `task` (none in --dry: a dry run writes nothing, not even
        the lock)."""
        if self.runner.dry:
            return contextlib.nullcontext()
        return _hold(self.root, task)


@contextlib.contextmanager
def _hold(root: Path, task: str) -> Iterator[None]:
    from ..store import lock

    with lock.hold(root, task):
        yield
