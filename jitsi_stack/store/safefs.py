"""Deletion confined to the project tree (archives: backup.py).

It never follows a symbolic link: links are removed, their targets are never touched.
Removal works on open directory descriptors (openat/unlinkat with O_NOFOLLOW), so a
directory swapped for a link mid-walk is refused instead of followed, and it never
crosses into another mounted filesystem.
"""

from __future__ import annotations

import os
import stat
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
