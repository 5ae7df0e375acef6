"""`inv clean`: remove containers, the network and generated files; with --all, everything.

Secrets and state (prosody accounts, certificates, recordings) survive a plain
clean. --all first writes backups/jitsi-stack-before-clean-<time>.tar.gz (backup.py: the one
archive format, recordings included, restorable with `inv restore`).
Removal never leaves the project tree and never follows a symbolic link.
"""

from __future__ import annotations

from pathlib import Path

from .. import ui
from ..errors import DockerError, StackError
from ..store import paths
from ..store.safefs import safe_remove
from . import preflight
from .stack import Stack

STATE_DIRS = (paths.CONFIG_DIR, paths.STATE_DIR)


def describe(all_: bool) -> list[str]:
    lines = [
        "stop and remove the stack's containers and its network (docker compose down)",
        f"delete the generated files: {', '.join(paths.GENERATED)}",
    ]
    if all_:
        lines += [
            f"write a backup archive (settings, {paths.STATE_DIR}/, {paths.CONFIG_DIR}/storage/ "
            f"with the recordings) to {paths.BACKUP_ARCHIVES}/",
            f"delete {paths.CONFIG_DIR}/ (prosody accounts, certificates, recordings) and "
            f"{paths.STATE_DIR}/ (internal passwords, update history)",
            "remove the stack's named volumes (Prometheus's samples)",
        ]
    else:
        lines.append(
            f"keep the internal passwords ({paths.STATE_DIR}/) and the state under "
            f"{paths.CONFIG_DIR}/storage/"
        )
    return lines


def confirm(what: str, lines: list[str], yes: bool, interactive: bool, ask=input) -> None:
    """Ask before something destructive; without a terminal, --yes is required."""
    if yes:
        return
    if not interactive:
        raise StackError(
            f"inv {what} changes containers and files and there is no terminal to "
            "ask: re-run with --yes to confirm"
        )
    ui.info(f"inv {what} will:")
    for line in lines:
        ui.info(f"  - {line}")
    if ask("Type 'yes' to continue: ").strip().lower() != "yes":
        raise StackError("cancelled: nothing was changed")


def clean(stack: Stack, settings_files: list[Path], *, all_: bool = False) -> list[str]:
    """Do it (confirmation is the caller's). Returns what was done, one line each."""
    root = stack.d.root
    done: list[str] = []
    if stack.runner.dry:
        stack.compose.run("down", "--remove-orphans")
        return [f"dry run: would {line}" for line in describe(all_)]
    if all_:
        from . import backup

        if any((root / name).exists() for name in STATE_DIRS):
            result = backup.write(stack, settings_files, kind="before-clean", recordings=True)
            done.append(f"backup written: {result.path.relative_to(root)} (mode 0600)")
            done += [f"not archived: {rel} (a link or special file)" for rel in result.passed]
    preflight.check_docker(stack.runner)
    if (root / paths.COMPOSE_FILE).exists():
        try:
            # --all: the named volumes too (Prometheus's samples, metrics.enabled)
            volumes = ("--volumes",) if all_ else ()
            stack.compose.run("down", "--remove-orphans", *volumes, timeout=300)
        except DockerError as err:
            raise StackError(
                f"{err}: fix the cause and re-run (nothing was deleted)", detail=err.stderr
            ) from None
        done.append("containers and network removed")
    for rel in paths.GENERATED:
        if safe_remove(root, root / rel):
            done.append(f"deleted {rel}")
    if all_:
        for rel in STATE_DIRS:
            if safe_remove(root, root / rel):
                done.append(f"deleted {rel}/")
    return done
