"""Keeping a deployment: `inv backup`, `inv restore` and `inv update --check`."""

from __future__ import annotations

import json as jsonlib
import os
import sys
from pathlib import Path

from invoke import Exit, task

from .. import ui
from ..errors import StackError
from .support import _locked, _stack, operator_errors, session


def _progress():
    """A percentage on the terminal while a large archive is written; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    shown = [-1]

    def report(done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent // 10 != shown[0] // 10:
            shown[0] = percent
            sys.stderr.write(f"\rbackup: {percent}% of {total / 1e6:.1f} MB")
            sys.stderr.flush()
            if percent >= 100:
                sys.stderr.write("\n")

    return report


@task(
    name="backup",
    help={
        "to": "Write the archive to this file (default: backups/jitsi-stack-backup-<time>.tar.gz)",
        "include-recordings": "Also archive jibri's recordings and the transcripts",
        "json": "Machine-readable output",
    },
)
@operator_errors
def backup_task(c, to="", include_recordings=False, json=False):
    """Archive settings, secrets, state, prosody's accounts and the certificates (0600)."""
    from ..ops import backup

    stack = _stack(c, on_disk="backup")
    if stack.problem:  # the settings do not load: archive the files as they are on disk
        from ..ops.on_disk import settings_files

        files = settings_files(stack.d.root)
    else:
        files = session(c).settings.files
    with _locked(c, "backup"):
        result = backup.write(
            stack,
            files,
            dest=Path(to).resolve() if to else None,
            recordings=include_recordings,
            progress=_progress(),
        )
    for path, why in result.left_out:
        ui.warn(f"{path}: named by the settings but {why}: not in the backup (copy it yourself)")
    from ..store import devca

    if (stack.d.root / devca.CA_KEY).is_file():
        ui.info(
            f"the archive holds the development CA's private key ({devca.CA_KEY}), which "
            "this machine's browsers may trust: keep it as private as the secrets"
        )
    shown = {
        "archive": str(result.path),
        "members": result.members,
        "bytes": result.size,
        "prosody_paused_seconds": round(result.paused, 2),
    }
    if json:
        ui.plain(jsonlib.dumps(shown, indent=2))
        return
    paused = f"prosody paused {result.paused:.2f}s" if result.paused else "prosody not running"
    ui.show(
        f"backup written: {result.path} ({result.members} entries, {result.size} bytes, {paused})"
    )


@task(
    name="restore",
    positional=["file"],
    help={
        "file": "An archive of backups/ or of `inv backup --to` to restore into the project folder",
        "yes": "Replace the files the folder already has (they are archived first)",
    },
)
@operator_errors
def restore_task(c, file, yes=False):
    """Restore an archive into an empty project folder (or, with confirmation, over one)."""
    from .. import swarm
    from ..ops import clean, restore, restore_target
    from ..store import paths

    here = session(c)
    root = here.root
    swarm.refuse_host_backup(root, "restore")  # its prosody data is on a node
    archive = Path(file).absolute()
    checked = restore.check(archive)  # the whole archive, nothing written
    target = restore_target.check_target(root, checked)  # the folder, nothing written
    running = _running(here)
    if running:
        raise StackError(
            f"{root}: {running[0]} of this project is running ({len(running)} container(s)): "
            "stop it first (`inv stop`), then restore; nothing was restored"
        )
    if here.runner.dry:
        ui.info(f"dry run: would restore {len(checked.entries)} entries into {root}")
        return
    lines = []
    if target.replaced:
        lines.append(
            f"replace {len(target.replaced)} path(s) of {root}, first {target.replaced[0]}"
        )
    for name in target.aside:
        lines.append(
            f"move {name} aside: the archive has no such layer and it would stay in force "
            "over the restored settings"
        )
    if lines:
        lines.append(f"what they hold is archived to {paths.BACKUP_ARCHIVES}/ first")
        clean.confirm("restore", lines, yes, ui.interactive())
    with _locked(c, "restore"):
        done = restore_target.apply(checked, target)
    for name in target.aside:
        ui.warn(f"{name}: moved aside (not in the archive, it would override the restored ones)")
    for name in sorted(os.environ):  # settings layers of the environment stay in force too
        if name.startswith("JITSI_STACK_") and name != "JITSI_STACK_ROOT":
            ui.warn(f"{name} is set: it overrides the restored settings (unset it to run the "
                    "deployment as it was backed up)")  # fmt: skip
    if done.saved:
        ui.info(f"what the folder held is saved in {done.saved.relative_to(root)}")
    manifest = checked.manifest
    ui.show(
        f"restored {done.count} entries of project {manifest['project']} "
        f"({manifest['image_tag']}, {manifest['created']}): run `inv start`"
    )


def _running(here) -> list[str]:
    """The running containers of the session's project, when its settings load and Docker
    answers (a new machine without either has none)."""
    try:
        stack = here.stack()
        return sorted(x.name for x in stack.compose.ps() if x.state == "running")
    except (StackError, OSError):
        return []


CHECK_FAILED = 3  # `inv update --check` could not ask the registry (0: up to date, 1: newer)


def update_check(c, *, as_json: bool) -> None:
    """The stable releases newer than the running tag; exit 1 when there are any."""
    from ..ops import releases
    from ..settings.upstream import RELEASE

    stack = _stack(c)
    d = stack.d
    jitsi = [s.kind for s in d.services if s.image.startswith(f"{stack_repository(stack)}/")]
    images = sorted({"jigasi" if k == "transcriber" else k for k in jitsi})
    try:
        found = releases.newer(stack_repository(stack), images, d.tag)
    except StackError as err:
        ui.report(err)
        raise Exit(code=CHECK_FAILED) from None
    if as_json:
        shown = {
            "running": d.tag,
            "tested_release": RELEASE,
            "newer": [r.to_json() for r in found],
        }
        ui.plain(jsonlib.dumps(shown, indent=2))
    elif not found:
        ui.show(f"up to date: {d.tag} is the newest stable release of {', '.join(images)}")
    else:
        rows = [
            [r.tag, "yes" if r.tested else f"no: newer than {RELEASE}, update jitsi-stack first"]
            for r in found
        ]
        ui.show(ui.table(None, ["newer release", "tested with this jitsi-stack"], rows))
        ui.info(f"running {d.tag}: `inv update --tag {found[-1].tag}` takes the newest")
    if found:
        raise Exit(code=1)


def stack_repository(stack) -> str:
    """images.repository, read back from the web image (registry/path/web:tag)."""
    image = stack.d.service("web").image
    return image.rsplit("/", 1)[0]
