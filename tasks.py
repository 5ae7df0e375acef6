"""`inv` in the checkout: the same tasks as the `jitsi-stack` command (jitsi_stack/cli/tasks.py).

Run here, the project folder is this checkout unless --root or JITSI_STACK_ROOT says otherwise.
"""

from pathlib import Path

from jitsi_stack.cli.tasks import ns

ns.configure({"jitsi_stack": {"default_root": str(Path(__file__).resolve().parent)}})
