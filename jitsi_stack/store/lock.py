"""One project lock around every task that changes files or containers.

An advisory flock on .jitsi-stack/lock, held for the whole task. The file names
the holder (task, pid, start time) so a second task can say who is busy. The
kernel drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import StackError
from . import files, paths


@contextlib.contextmanager
def hold(root: Path, task: str) -> Iterator[None]:
    with files.open_dir(Path(root), paths.STATE_DIR, mode=0o700) as dfd:
        try:
            fd = os.open(
                "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd
            )
        except OSError as exc:
            raise files.os_error(paths.LOCK, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another task"
            raise StackError(
                f"another jitsi-stack task is working on this project ({holder}): wait for it "
                "to finish and re-run"
            ) from None
        since = _dt.datetime.now(_dt.UTC).strftime("%H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"inv {task}, pid {os.getpid()}, since {since}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # nobody holds it now
    finally:
        os.close(fd)  # releases the lock
