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
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import paths
from .errors import StackError

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def sha256(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
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


def read_bytes(root: Path, rel: str) -> bytes | None:
    """root/rel's bytes; None when missing. A link or a non-file is refused by name."""
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
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise StackError(f"{rel}: is not a regular file: move it away and re-run")
            with os.fdopen(fd, "rb") as handle:
                return handle.read()
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
