"""Writing and reading inside the project root: atomic, and never through a link.

Every write walks from the project root one directory at a time with O_NOFOLLOW
(a planted link to elsewhere is refused, not followed), writes a temporary file
in the target's directory, fsyncs it, gives it its mode and renames it over the
target, so a reader never sees half a file. OS errors (disk full, permission)
become one-line StackErrors naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import StackError
from . import paths

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def sha256(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    import hashlib  # imported here: `inv status` never hashes

    return hashlib.sha256(data).hexdigest()


def os_error(path: str | Path, exc: OSError, verb: str = "write") -> StackError:
    """One line for an OS error on a file we manage."""
    if exc.errno == errno.ENOSPC:
        return StackError(f"cannot {verb} {path}: the disk is full: free some space and re-run")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StackError(
            f"cannot {verb} {path}: permission denied: run as the owner of the project "
            "(or root) and re-run"
        )
    if exc.errno == errno.ELOOP:
        return StackError(
            f"{path}: is a symbolic link: jitsi-stack writes only inside the project: "
            "replace the link with a real directory or file"
        )
    if exc.errno == errno.EROFS:
        return StackError(f"cannot {verb} {path}: the file system is read-only")
    return StackError(f"cannot {verb} {path}: {exc.strerror or exc}: fix it and re-run")


@contextlib.contextmanager
def open_dir(root: Path, rel: str, *, create: bool = True, mode: int = 0o755) -> Iterator[int]:
    """A file descriptor for root/rel, reached without following any link."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise StackError(f"{rel}: '..' is not allowed in a managed path")
    try:
        fd = os.open(root, _DIR)
    except OSError as exc:
        raise os_error(root, exc, "open") from exc
    try:
        walked = ""
        for part in parts:
            walked = f"{walked}/{part}" if walked else part
            try:
                child = os.open(part, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                except FileExistsError:
                    pass  # another process made it a moment ago: open what is there
                except OSError as exc:
                    raise os_error(walked, exc, "create") from exc
                try:
                    child = os.open(part, _DIR, dir_fd=fd)
                except OSError as exc:
                    raise os_error(walked, exc, "open") from exc
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    is_link = os.path.islink(Path(root) / walked)
                    if is_link:
                        raise os_error(walked, OSError(errno.ELOOP, "link")) from exc
                    raise StackError(
                        f"{walked}: is not a directory: move it away and re-run"
                    ) from exc
                raise os_error(walked, exc, "open") from exc
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def write_atomic(
    root: Path, rel: str, data: str | bytes, mode: int = 0o644, owner: int | None = None
) -> None:
    """Replace root/rel with data (a link at rel is replaced, never written through).
    owner: the uid and gid the file gets when we run as root."""
    import secrets  # imported here: `inv status` never writes

    body = data.encode("utf-8") if isinstance(data, str) else data
    parent, name = os.path.split(rel)
    with open_dir(
        Path(root), parent, mode=0o700 if paths.top(rel) == paths.STATE_DIR else 0o755
    ) as dfd:
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(
                tmp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=dfd,
            )
        except OSError as exc:
            raise os_error(rel, exc) from exc
        try:
            try:
                os.fchmod(fd, mode)
                if owner is not None and os.geteuid() == 0:
                    os.fchown(fd, owner, owner)
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            if isinstance(exc, OSError):
                raise os_error(rel, exc) from exc
            raise
        with contextlib.suppress(OSError):
            os.fsync(dfd)


# The most the tool reads of any one file it manages or an operator names (settings have
# their own 1 MiB in settings/layers.py): more is not a file jitsi-stack wrote or asked for.
MAX_FILE_BYTES = 1 << 20


def kind(mode: int) -> str:
    """What a non-regular file is, for a message: 'a directory', 'a device', ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def size_text(limit: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


class NotRegular(Exception):
    """Why a file was not read (a fragment: 'is a directory, not a regular file')."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def read_bounded(path: str | Path, *, limit: int = MAX_FILE_BYTES, follow: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; NotRegular otherwise.

    Never waits and never reads what is not a regular file: the open does not block (a
    FIFO without a writer answers at once), the kind is taken from the open descriptor
    (no race with a swap), a device is refused before one byte is read, and at most
    limit + 1 bytes are read (a file that grows, or that lies about its size as /proc
    does, is still bounded). A link is refused unless `follow`. FileNotFoundError and
    other OS errors pass through for the caller's own words."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow and os.path.islink(path):
            raise NotRegular("is a symbolic link, not a regular file") from None
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO on some systems)
            mode = os.stat(path).st_mode if follow else os.lstat(path).st_mode
            raise NotRegular(f"is {kind(mode)}, not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(f"is {kind(st.st_mode)}, not a regular file")
        too_big = f"is more than {size_text(limit)}, the most"
        if st.st_size > limit:
            raise NotRegular(too_big)
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise NotRegular(too_big)
        return data
    finally:
        os.close(fd)


def read_regular(
    path: str | Path,
    *,
    label: str,
    what: str,
    fix: str = "",
    limit: int = MAX_FILE_BYTES,
    follow: bool = False,
    error: type[StackError] = StackError,
) -> bytes:
    """read_bounded with the refusal as one line: '<label>: is a directory, not a regular
    file: <fix>' or '<label>: is more than 1 MiB, the most <what> may have: <fix>'."""
    try:
        return read_bounded(path, limit=limit, follow=follow)
    except NotRegular as refused:
        raise error(refusal(label, refused, what, fix)) from None


def refusal(label: str, refused: NotRegular, what: str, fix: str = "") -> str:
    why = refused.why + (f" {what} may have" if refused.why.endswith("the most") else "")
    return f"{label}: {why}" + (f": {fix}" if fix else "")


def read_bytes(root: Path, rel: str) -> bytes | None:
    """root/rel's bytes; None when missing. A link or a non-file is refused by name, and
    so is a file larger than MAX_FILE_BYTES (none the tool writes comes near it)."""
    parent, name = os.path.split(rel)
    try:
        with open_dir(Path(root), parent, create=False) as dfd:
            try:
                fd = os.open(
                    name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd
                )
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise os_error(rel, exc, "read") from exc
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                raise StackError(
                    f"{rel}: is {kind(st.st_mode)}, not a regular file: move it away and re-run"
                )
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise StackError(
                    f"{rel}: is more than {size_text(MAX_FILE_BYTES)}, the most this file may "
                    "have: restore it from a backup or move it away"
                )
            return data
    except FileNotFoundError:
        return None


def read_text(root: Path, rel: str) -> str | None:
    data = read_bytes(root, rel)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StackError(
            f"{rel}: is not UTF-8 text (damaged?): restore it from a backup or delete it"
        ) from None


def is_link(root: Path, rel: str) -> bool:
    return os.path.islink(Path(root) / rel)


# -- the manifest: what jitsi-stack last wrote -----------------------------------------


@dataclass
class Manifest:
    """.jitsi-stack/manifest.json: the sha256 of each generated file as last written, the
    hashes of a render that started and has not finished (`pending`), and the inputs and
    mounted directories of the last complete render (a no-op render skips the templates)."""

    files: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    inputs: str = ""
    tree: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # the files of that render

    def ours(self, rel: str, digest: str) -> bool:
        return digest in (self.files.get(rel), self.pending.get(rel))


def _hashes(value) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in value.items()
    )


def read_manifest(root: Path) -> Manifest:
    text = read_text(root, paths.MANIFEST)
    if text is None:
        return Manifest()
    fix = "delete it; the next render treats every generated file as a hand edit to review"
    try:
        data = json.loads(text)
    except ValueError:
        raise StackError(f"{paths.MANIFEST}: is not valid JSON: {fix}") from None
    if (
        not isinstance(data, dict)
        or not _hashes(data.get("files"))
        or not _hashes(data.get("pending", {}))
        or not isinstance(data.get("inputs", ""), str)
        or not isinstance(data.get("tree", []), list)
        or not isinstance(data.get("outputs", []), list)
        or not all(isinstance(o, str) and ".." not in o for o in data.get("outputs", []))
        or not all(
            isinstance(t, str) and t.startswith(f"{paths.CONFIG_DIR}/") and ".." not in t
            for t in data.get("tree", [])
        )
    ):
        raise StackError(f'{paths.MANIFEST}: must be {{"files": {{path: sha256}}, ...}}: {fix}')
    return Manifest(
        data["files"],
        data.get("pending", {}),
        data.get("inputs", ""),
        data.get("tree", []),
        data.get("outputs", []),
    )


def write_manifest(root: Path, manifest: Manifest) -> None:
    body: dict = {"files": dict(sorted(manifest.files.items()))}
    if manifest.pending:
        body["pending"] = dict(sorted(manifest.pending.items()))
    if manifest.inputs:
        body["inputs"] = manifest.inputs
        body["tree"] = list(manifest.tree)
        body["outputs"] = list(manifest.outputs)
    write_atomic(root, paths.MANIFEST, json.dumps(body, indent=2) + "\n", mode=0o600)
