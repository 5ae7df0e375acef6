"""Deletion and backup confined to the project tree.

Neither function ever follows a symbolic link: links are removed or archived as links,
their targets are never touched. Removal works on open directory descriptors
(openat/unlinkat with O_NOFOLLOW), so a directory swapped for a link mid-walk is
refused instead of followed, and it never crosses into another mounted filesystem.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import stat
import tarfile
from pathlib import Path

from jitsi_stack.errors import StackError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# --------------------------------------------------------------------------- confinement


def _confine(root: Path, target: Path, verb: str) -> tuple[Path, Path]:
    """Return (resolved root, target with its parent resolved) or refuse.

    A relative target is taken relative to root. Only the parent is resolved: the last
    component stays as named, so a symlink is handled as the link itself.
    """
    try:
        root_r = Path(root).resolve()
        path = Path(target)
        if not path.is_absolute():
            path = root_r / path
        if path.name in ("", ".."):
            raise StackError(
                f"refusing to {verb} {target}: name a file or directory under {root_r}, "
                "not '..' or '/'"
            )
        candidate = path.parent.resolve() / path.name
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop (3.11)
        raise StackError(f"cannot {verb} {target}: {exc}: fix the path and re-run") from exc
    if candidate == root_r:
        raise StackError(
            f"refusing to {verb} the project directory {root_r} itself: "
            "name a file or directory inside it"
        )
    if not candidate.is_relative_to(root_r):
        raise StackError(
            f"refusing to {verb} {target}: it is outside the project directory {root_r}: "
            "name a path inside it"
        )
    return root_r, candidate


# --------------------------------------------------------------------------- removal


def safe_remove(root: Path, target: Path) -> bool:
    """Remove a file, a symlink (never its target) or a directory tree under root.

    Returns False when target does not exist. Raises StackError when target is root
    itself or lies outside it (after resolving target's parent), or when the tree holds
    a mount point or cannot be removed.
    """
    _, path = _confine(root, target, "delete")
    try:
        parent_fd = os.open(path.parent, _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise _removal_error(path.parent, exc) from exc
    try:
        try:
            st = os.stat(path.name, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            _unlink(parent_fd, path.name, path)
            return True
        if st.st_dev != os.fstat(parent_fd).st_dev:
            raise _mount_error(path)
        _remove_tree(parent_fd, path.name, st, path)
        return True
    finally:
        os.close(parent_fd)


def _remove_tree(parent_fd: int, name: str, top: os.stat_result, path: Path) -> None:
    """Depth-first removal without recursion; every step is relative to an open dir fd."""
    # frame: (fd of the parent, name in it, fd of this dir, its path, entries left)
    fd = _open_dir(parent_fd, name, top, path)
    stack = [(parent_fd, name, fd, path, _entries(fd, path))]
    try:
        while stack:
            up_fd, dir_name, dir_fd, dir_path, entries = stack[-1]
            if not entries:
                stack.pop()
                os.close(dir_fd)
                try:
                    os.rmdir(dir_name, dir_fd=up_fd)
                except OSError as exc:
                    raise _removal_error(dir_path, exc) from exc
                continue
            entry = entries.pop()
            entry_path = dir_path / entry
            try:
                st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if st.st_dev != top.st_dev:
                    raise _mount_error(entry_path)
                child = _open_dir(dir_fd, entry, st, entry_path)
                stack.append((dir_fd, entry, child, entry_path, _entries(child, entry_path)))
            else:  # files, symlinks (to anything), sockets, fifos, devices
                _unlink(dir_fd, entry, entry_path)
    finally:
        for frame in stack:
            os.close(frame[2])


def _open_dir(parent_fd: int, name: str, expected: os.stat_result, path: Path) -> int:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise _removal_error(path, exc) from exc
    if not os.path.samestat(os.fstat(fd), expected):
        os.close(fd)
        raise StackError(f"{path} changed while it was being deleted: re-run the command")
    return fd


def _entries(fd: int, path: Path) -> list[str]:
    try:
        with os.scandir(fd) as it:
            return [entry.name for entry in it]
    except OSError as exc:
        raise _removal_error(path, exc) from exc


def _unlink(dir_fd: int, name: str, path: Path) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _removal_error(path, exc) from exc


def _removal_error(path: Path, exc: OSError) -> StackError:
    if isinstance(exc, PermissionError):
        return StackError(f"cannot delete {path}: permission denied: re-run as root (sudo)")
    return StackError(f"cannot delete {path}: {exc.strerror or exc}: fix it and re-run")


def _mount_error(path: Path) -> StackError:
    return StackError(
        f"refusing to delete {path}: it is a mount point of another filesystem: "
        f"unmount it (sudo umount {path}) and re-run"
    )


# --------------------------------------------------------------------------- backup


def backup_archive(
    root: Path,
    members: list[Path],
    dest_dir: Path,
    *,
    now: dt.datetime | None = None,
) -> Path:
    """Write dest_dir/jitsi-stack-backup-YYYYmmdd-HHMMSS.tar.gz and return its path.

    Members that exist are stored relative to root; symlinks are stored as links and
    never followed; members outside root are refused. The archive is mode 0600 from
    creation, written under a temporary name in dest_dir and renamed into place.
    dest_dir is created with mode 0700 when missing; it must not lie inside a member.
    """
    root_r = Path(root).resolve()
    dest = Path(dest_dir)
    if dest.is_symlink():
        shown = dest.relative_to(root_r) if dest.is_relative_to(root_r) else dest
        raise StackError(
            f"{shown}: is a symbolic link: jitsi-stack writes backup archives only into a "
            "real directory: replace the link with a directory"
        )
    try:
        dest_r = dest.resolve()
    except (OSError, RuntimeError) as exc:
        raise StackError(f"cannot use backup directory {dest}: {exc}: choose another") from exc

    chosen: list[tuple[Path, str]] = []  # (path with resolved parent, name in archive)
    for member in members:
        _, path = _confine(root_r, member, "back up")
        if dest_r == path or dest_r.is_relative_to(path):
            raise StackError(
                f"backup directory {dest} is inside {path}, which is being backed up: "
                "choose a backup directory outside it"
            )
        if not os.path.lexists(path):
            continue
        chosen.append((path, path.relative_to(root_r).as_posix()))

    # Drop duplicates and members already inside a real directory being archived.
    dirs = {p for p, _ in chosen if p.is_dir() and not p.is_symlink()}
    unique: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path, arcname in chosen:
        if path in seen or any(d != path and path.is_relative_to(d) for d in dirs):
            continue
        seen.add(path)
        unique.append((path, arcname))

    _make_private_dir(dest)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    final = dest / f"jitsi-stack-backup-{stamp}.tar.gz"
    tmp = dest / f".{final.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError as exc:
        raise StackError(
            f"cannot write a backup in {dest}: {exc.strerror or exc}: "
            "fix its permissions or choose another backup directory"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o600)  # os.open's mode is filtered by the umask; pin it
            with tarfile.open(fileobj=raw, mode="w:gz", dereference=False) as tar:
                for path, arcname in unique:
                    tar.add(path, arcname=arcname, recursive=True)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, PermissionError):
            raise StackError(
                f"cannot write backup {final}: permission denied reading "
                f"{exc.filename or 'a member'}: re-run as root (sudo)"
            ) from exc
        if isinstance(exc, OSError):
            raise StackError(
                f"cannot write backup {final}: {exc.strerror or exc}: "
                "check free space and permissions, then re-run"
            ) from exc
        raise
    _fsync_dir(dest)
    return final


def _make_private_dir(dest: Path) -> None:
    if dest.is_dir():
        return
    try:
        dest.mkdir(mode=0o700, parents=True)
        os.chmod(dest, 0o700)  # mkdir's mode is filtered by the umask
    except FileExistsError as exc:
        if not dest.is_dir():
            raise StackError(
                f"backup directory {dest} exists and is not a directory: choose another"
            ) from exc
    except OSError as exc:
        raise StackError(
            f"cannot create backup directory {dest}: {exc.strerror or exc}: "
            "fix its parent's permissions or choose another"
        ) from exc


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
