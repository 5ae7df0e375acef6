"""Keeping a deployment: `inv backup`, `inv restore` and `inv update --check`."""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path

from invoke import Exit, task

from . import project, ui
from .task_support import _locked, _stack, operator_errors


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
def backup_task(c, to="", include_recordings=False, json=False):  # noqa: A002
    """Archive settings, secrets, state, prosody's accounts and the certificates (0600)."""
    from . import backup

    stack = _stack(c)
    files = project.load(stack.d.root).files
    with _locked(c, "backup"):
        result = backup.write(
            stack,
            files,
            dest=Path(to).resolve() if to else None,
            recordings=include_recordings,
            progress=_progress(),
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
        "file": "The backup archive (.tar.gz) to restore into the project folder",
        "yes": "Replace the files the folder already has (they are archived first)",
    },
)
@operator_errors
def restore_task(c, file, yes=False):
    """Restore a backup into an empty project folder (or, with confirmation, over one)."""
    from . import clean, paths, restore, swarm
    from .safefs import backup_archive

    root = project.root(c)
    swarm.refuse_host_backup(root, "restore")
    archive = Path(file).resolve()
    manifest = restore.read_manifest(archive)
    existing = restore.occupied(root, manifest)
    saved = None
    if existing:
        clean.confirm(
            "restore",
            [f"replace {len(existing)} file(s) of {root}, first {existing[0]} (they are "
             f"archived to {paths.ARCHIVES}/ first)"],
            yes,
            ui.interactive(),
        )  # fmt: skip
    with _locked(c, "restore"):
        if existing:
            saved = backup_archive(root, [root / name for name in existing], root / paths.ARCHIVES)
        count = restore.extract(archive, root, manifest)
    if saved:
        ui.info(f"what the folder held is saved in {saved.relative_to(root)}")
    ui.show(
        f"restored {count} entries of project {manifest.get('project')} "
        f"({manifest.get('image_tag')}, {manifest.get('created')}): run `inv start`"
    )


CHECK_FAILED = 3  # `inv update --check` could not ask the registry (0: up to date, 1: newer)


def update_check(c, *, as_json: bool) -> None:
    """The stable releases newer than the running tag; exit 1 when there are any."""
    from . import releases
    from .errors import StackError
    from .upstream import RELEASE

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
