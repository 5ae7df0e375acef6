"""`inv clean`: remove containers, the network and generated files; with --all, everything.

Secrets and state (prosody accounts, certificates, recordings) survive a plain
clean. --all first writes a timestamped backup archive (0600) to backups/.
Removal never leaves the project tree and never follows a symbolic link.
"""

from __future__ import annotations

from pathlib import Path

from . import compose, files, preflight, render, ui
from .cleanup import backup_archive, safe_remove
from .errors import StackError
from .settings import Settings

GENERATED = (
    render.COMPOSE_FILE,
    render.ROOT_ENV,
    render.ENV_FILE,
    render.CUSTOM_CONFIG,
    str(files.MANIFEST),
)
STATE_DIRS = ("jitsi-meet", ".jitsi-stack")
BACKUP_DIR = "backups"


def describe(all_: bool) -> list[str]:
    lines = [
        "stop and remove the stack's containers and its network (docker compose down)",
        f"delete the generated files: {', '.join(GENERATED)}",
    ]
    if all_:
        lines += [
            "write a backup archive of jitsi-meet/ and .jitsi-stack/ to backups/",
            "delete jitsi-meet/ (prosody accounts, certificates, recordings) and "
            ".jitsi-stack/ (internal passwords, update history)",
        ]
    else:
        lines.append(
            "keep the internal passwords (.jitsi-stack/) and the state under jitsi-meet/storage/"
        )
    return lines


def confirm(all_: bool, yes: bool, interactive: bool, ask=input) -> None:
    if yes:
        return
    if not interactive:
        raise StackError(
            "inv clean deletes containers and files and there is no terminal to "
            "ask: re-run with --yes to confirm"
        )
    ui.info("inv clean will:")
    for line in describe(all_):
        ui.info(f"  - {line}")
    answer = ask("Type 'yes' to continue: ")
    if answer.strip().lower() != "yes":
        raise StackError("cancelled: nothing was changed")


def clean(s: Settings, *, all_: bool = False) -> list[str]:
    """Do it (confirmation is the caller's). Returns what was done, one line each."""
    root = s.root
    done: list[str] = []
    archive: Path | None = None
    if all_:
        members = [root / name for name in STATE_DIRS if (root / name).exists()]
        members += [p for p in s.files if p.exists() and p.is_relative_to(root)]
        if members:
            archive = backup_archive(root, members, root / BACKUP_DIR)
            done.append(f"backup written: {archive.relative_to(root)} (mode 0600)")
    preflight.check_docker()
    result = compose.run(s, "down", "--remove-orphans", timeout=300)
    if not result.ok:
        raise StackError(
            f"docker compose down failed: {result.stderr.strip().splitlines()[-1:]}"
            ": fix the cause and re-run (nothing was deleted)",
            detail=result.stderr,
        )
    done.append("containers and network removed")
    for rel in GENERATED:
        if safe_remove(root, root / rel):
            done.append(f"deleted {rel}")
    if all_:
        for rel in STATE_DIRS:
            if safe_remove(root, root / rel):
                done.append(f"deleted {rel}/")
    return done


def confirm_rotation(yes: bool, interactive: bool, ask=input) -> None:
    if yes:
        return
    if not interactive:
        raise StackError(
            "inv rotate-secrets recreates every service and there is no terminal to "
            "ask: re-run with --yes to confirm"
        )
    ui.info(
        "inv rotate-secrets will generate six new internal passwords, remove prosody's "
        "internal accounts (they are re-created) and recreate every service."
    )
    if ask("Type 'yes' to continue: ").strip().lower() != "yes":
        raise StackError("cancelled: nothing was changed")
