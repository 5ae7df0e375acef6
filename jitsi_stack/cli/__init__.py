"""The `jitsi-stack` command: the same tasks as `inv` in the checkout, from any folder.

    jitsi-stack start            # the project is the current directory
    jitsi-stack --root /srv/meet status
    JITSI_STACK_ROOT=/srv/meet jitsi-stack logs jvb

Built on Invoke's Program (as invocations and tutor ship their CLIs), so --dry, --echo,
--help and the task flags are Invoke's own.

One shortcut: `jitsi-stack [--root DIR] status [--json]`, exactly that and nothing more, is
answered without importing Invoke (whose import alone costs about as long as Docker's
answer). It runs the same function the status task runs; any other argument list, or any
flag, goes through Invoke.
"""

from __future__ import annotations

import sys

from .. import __version__


def _status_shortcut(argv: list[str]) -> int | None:
    """The exit code of `status` when argv is exactly a status request, else None."""
    root = None
    if argv[:1] == ["--root"] and len(argv) >= 3:
        root, argv = argv[1], argv[2:]
    if argv not in (["status"], ["status", "--json"]):
        return None
    from pathlib import Path

    from .. import ui
    from ..docker import Runner
    from ..errors import StackError
    from ..ops import status
    from ..ops.session import Session
    from ..settings import project

    try:
        if root is not None and not Path(root).is_dir():
            return None  # let the full CLI give its one-line error
        base = project._existing(root, "--root") if root else project.root()
        here = Session(base, Runner())
        if here.swarm is not None:
            return None  # a Swarm stack: the status task shows it (swarm.status's view)
        stack = here.stack("status")  # as the status task does
        return 0 if status.run(stack, as_json=argv[-1] == "--json") else 1
    except StackError as err:
        return ui.report(err)


def main() -> None:
    code = _status_shortcut(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    _program().run()


def _program():
    from invoke import Argument, Program

    from .tasks import ns

    class StackProgram(Program):
        def core_args(self) -> list[Argument]:
            return [
                *super().core_args(),
                Argument(
                    names=("root",),
                    help="Project folder (default: JITSI_STACK_ROOT, else the current directory).",
                ),
            ]

        def update_config(self, merge: bool = True) -> None:
            super().update_config(merge=False)
            root = self.args.root.value
            if root:
                self.config.load_overrides({"jitsi_stack": {"root": root}}, merge=False)
            if merge:
                self.config.merge()

    return StackProgram(name="jitsi-stack", binary="jitsi-stack", version=__version__, namespace=ns)


def __getattr__(name: str):  # `cli.program`, built on first use (tests run it in process)
    if name == "program":
        return _program()
    raise AttributeError(name)
