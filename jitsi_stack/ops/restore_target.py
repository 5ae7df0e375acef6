"""`inv restore`, the target side: check the folder, stage, save what is replaced, swap.

restore.check() has read and verified the whole archive; here nothing in the folder
changes until everything is known to fit: no link and nothing but a folder where the
archive has a folder, no link where it has a file, free space, and the settings layers the
archive does not hold (moved aside: a jitsi-stack.local.yml would stay in force over the
restored settings). The archive is extracted into a staging folder inside the target
(same filesystem) with every byte checked again, each path gets the mode and owner of
archive_rules.rule, what will be replaced is archived to
backups/jitsi-stack-before-restore-*.tar.gz, then renames swap it in; a failure undoes
every rename, so the folder is either restored or as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import StackError
from ..store import paths
from . import archive_rules, backup
from .archive_rules import Rule
from .backup import MANIFEST
from .restore import HEADER_ALLOWANCE, Checked, _content, _fail, _member, _stream


@dataclass
class Target:
    root: Path
    units: list[str]  # paths swapped whole (files, storage sub-folders, .jitsi-stack/backups)
    containers: list[str]  # folders that hold units: created when missing, never replaced
    replaced: list[str] = field(default_factory=list)  # units the target already has
    aside: list[str] = field(default_factory=list)  # target files not in the archive, moved
    link_env: bool = False  # create the ./.env link to jitsi-meet/.env


# -- the target --------------------------------------------------------------------------


def _unit(name: str) -> str | None:
    """The path swapped whole for this member, or None for a folder that only holds units."""
    parts = PurePosixPath(name).parts
    storage = PurePosixPath(archive_rules.STORAGE).parts
    if name == paths.REPLACED_COPIES or name.startswith(f"{paths.REPLACED_COPIES}/"):
        return paths.REPLACED_COPIES
    if parts[: len(storage)] == storage and len(parts) > len(storage):
        return "/".join(parts[: len(storage) + 1])
    return None


def check_target(root: Path, checked: Checked) -> Target:
    """What the restore will replace, create and move aside; refuses what it cannot do."""
    root = Path(root)
    units: dict[str, str] = {}
    for name, entry in checked.entries.items():
        unit = _unit(name)
        if unit is None and entry["kind"] == "file":
            unit = name
        if unit is not None:
            units[unit] = checked.entries.get(unit, {"kind": "dir"})["kind"]
    containers = sorted(
        {n for n, e in checked.entries.items() if e["kind"] == "dir" and _unit(n) is None}
        | {"/".join(PurePosixPath(u).parts[:i]) for u in units
           for i in range(1, len(PurePosixPath(u).parts))},
        key=lambda n: (n.count("/"), n),
    )  # fmt: skip
    target = Target(root, sorted(units), containers)
    for name in containers:
        info = _lstat(root / name)
        if info is not None and not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise _fail(
                name, f"is {what} in {root}, where the archive has a folder", "move it away"
            )
    for name, kind in sorted(units.items()):
        info = _lstat(root / name)
        if info is None:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise _fail(name, f"is a symbolic link in {root}", "move it away and re-run")
        want = stat.S_ISDIR if kind == "dir" else stat.S_ISREG
        if not want(info.st_mode):
            other = "a folder" if kind == "file" else "a file"
            raise _fail(name, f"the archive has {other} here, {root} has something else",
                        "move it away and re-run")  # fmt: skip
        if kind == "dir":
            _plain_tree(root, name)
        target.replaced.append(name)
    for found in sorted(os.listdir(root)):  # settings layers the archive does not hold
        if archive_rules.SETTINGS_NAME.fullmatch(found) and found not in units:
            if not os.path.isfile(root / found) or os.path.islink(root / found):
                raise _fail(found, "is a settings layer but not a regular file", "move it away")
            target.aside.append(found)
    if paths.ENV_FILE in units:
        info = _lstat(root / paths.ROOT_ENV)
        if info is None:
            target.link_env = True
        elif not stat.S_ISLNK(info.st_mode) or os.readlink(root / paths.ROOT_ENV) != paths.ENV_FILE:
            raise _fail(paths.ROOT_ENV, f"is where jitsi-stack keeps a link to {paths.ENV_FILE}",
                        "move it away and re-run")  # fmt: skip
    if target.replaced or target.aside:
        archives = root / paths.BACKUP_ARCHIVES
        if archives.is_symlink() or (archives.exists() and not archives.is_dir()):
            raise _fail(paths.BACKUP_ARCHIVES, "is not a real folder: the replaced files cannot be "
                        "archived there", "make it a folder")  # fmt: skip
    need = checked.total + _size(root, target.replaced + target.aside) + (1 << 20)
    free = shutil.disk_usage(root).free
    if need > free:
        raise _fail(checked.archive, f"needs {need >> 20} MiB in {root}, {free >> 20} MiB are free",
                    "free space and re-run")  # fmt: skip
    return target


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def _plain_tree(root: Path, rel: str) -> None:
    try:
        backup.walk(root, [rel])
    except StackError:
        raise _fail(rel, f"in {root} holds a link or a special file", "move it away") from None


def _size(root: Path, names: list[str]) -> int:
    total = 0
    for name in backup.walk(root, names):
        info = os.lstat(root / name)
        total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


# -- apply: stage, save, swap ------------------------------------------------------------


@dataclass
class Done:
    count: int
    saved: Path | None


def apply(checked: Checked, target: Target) -> Done:
    """Stage, give modes and owners by rule, archive what is replaced, swap by renames."""
    root = target.root
    staging = root / f".jitsi-stack-restore-{secrets.token_hex(4)}"
    try:
        staging.mkdir(mode=0o700)
    except OSError as err:
        raise _unwritable(staging / "new", err) from None
    saved = None
    try:
        new = staging / "new"
        new.mkdir(mode=0o700)
        _extract(checked, new)
        try:
            owner = os.lstat(root)
            for name in sorted(checked.entries, key=lambda n: -n.count("/")):
                _own(new / name, checked.rules[name], owner)
            if target.link_env:
                os.symlink(paths.ENV_FILE, new / paths.ROOT_ENV)
        except OSError as err:
            raise _unwritable(new, err) from None
        made = not os.path.lexists(root / paths.BACKUP_ARCHIVES)
        if target.replaced or target.aside:
            saved, _ = backup.write_archive(
                root, backup.walk(root, target.replaced + target.aside), kind="before-restore",
                meta={"project": checked.manifest["project"],
                      "image_tag": checked.manifest["image_tag"]},
            )  # fmt: skip
        try:
            _swap(checked, target, staging)
        except BaseException:
            if saved is not None:
                saved.unlink(missing_ok=True)
                if made:
                    with contextlib.suppress(OSError):
                        os.rmdir(root / paths.BACKUP_ARCHIVES)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Done(len(checked.entries), saved)


def _extract(checked: Checked, new: Path) -> None:
    """The second read: every byte checked again as it is written into the staging folder."""
    archive = checked.archive
    seen: set[str] = set()

    def visit(tar, info, bounded) -> None:
        if info.name == MANIFEST and not seen:
            bounded.limit = (
                bounded.count + checked.total + HEADER_ALLOWANCE * (len(checked.entries) + 2)
            )
            seen.add(MANIFEST)
            return
        entry = _member(archive, info, checked.entries, seen)
        out = new / info.name
        if entry["kind"] == "dir":
            out.mkdir(mode=0o700, exist_ok=True)
            return
        try:
            out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as err:
            raise _unwritable(new, err) from None
        handle = os.fdopen(fd, "wb")
        try:
            _content(archive, tar, info, entry, _Out(handle, new), False)
        finally:
            try:
                handle.close()
            except OSError as err:
                raise _unwritable(new, err) from None

    _stream(archive, visit)
    if set(checked.entries) - seen:
        raise _fail(archive, "changed while it was being restored", "re-run")


class _Out:
    """The staging file: a failed write (a full disk) is said as such, not as a damaged
    archive (reading and writing happen in one loop)."""

    def __init__(self, handle, new: Path) -> None:
        self.handle, self.new = handle, new

    def write(self, block: bytes) -> None:
        try:
            self.handle.write(block)
        except OSError as err:
            raise _unwritable(self.new, err) from None


def _unwritable(new: Path, err: OSError) -> StackError:
    root = new.parent.parent
    return _fail(root, f"cannot write the restored files ({err.strerror or err})",
                 "free space (or fix the permissions) and re-run")  # fmt: skip


def _own(path: Path, rule: Rule, project: os.stat_result) -> None:
    if path.is_symlink() or not path.exists():
        return
    if os.geteuid() == 0:
        uid = project.st_uid if rule.owner is None else rule.owner
        gid = project.st_gid if rule.owner is None else rule.owner
        os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, rule.mode)


def _swap(checked: Checked, target: Target, staging: Path) -> None:
    """Renames only: each done step is undone in reverse order when a later one fails."""
    root, new, old = target.root, staging / "new", staging / "old"
    done: list[tuple[Path, Path | None]] = []  # (from, to) renames; (made folder, None)
    try:
        owner = os.lstat(root)
        for name in target.containers:
            if _lstat(root / name) is None:
                os.mkdir(root / name, 0o700)
                done.append((root / name, None))
                rule = checked.rules.get(name) or archive_rules.rule(name, "dir", {}, frozenset())
                _own(root / name, rule or Rule("folder", "dir", 0o755), owner)
        moves = [(u, True) for u in target.units] + [(a, False) for a in target.aside]
        if target.link_env:
            moves.append((paths.ROOT_ENV, True))
        for name, bring in moves:
            if _lstat(root / name) is not None:
                (old / name).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.rename(root / name, old / name)
                done.append((root / name, old / name))
            if bring:
                os.rename(new / name, root / name)
                done.append((new / name, root / name))
    except BaseException as exc:
        for source, moved in reversed(done):
            with contextlib.suppress(OSError):
                if moved is None:
                    os.rmdir(source)
                else:
                    os.rename(moved, source)
        if isinstance(exc, OSError):
            raise StackError(
                f"{root}: cannot move the restored files in ({exc.strerror or exc}): fix it and "
                "re-run; the folder is as it was"
            ) from None
        raise
