"""`inv backup`: one archive that recreates the deployment on another machine.

What it holds (paths relative to the project, as they are):
- the settings files (jitsi-stack.yml, profiles, jitsi-stack.local.yml) and the site's own
  certificate and key when they live in the project;
- .jitsi-stack/secrets.env and state.json (internal passwords, JWT and TURN secrets, the
  chosen tag, detected addresses);
- jitsi-meet/storage/ (prosody's accounts and data, the web container's certificates and
  Let's Encrypt account) except recordings and transcripts, which --include-recordings adds.

The first member is jitsi-stack-backup.json: format, tool version, image tag, project, time,
and per member its size, mode, owner and SHA-256. Prosody is paused while its files are
read (no half-written account file), for as long as that takes; the archive is written
0600 under a temporary name and renamed into place. Only regular files and directories
are archived: a symbolic link in those folders stops the backup with one line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import secrets
import stat
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import __version__, paths, swarm
from .errors import StackError

FORMAT = 1
MANIFEST = "jitsi-stack-backup.json"
RECORDINGS = (f"{paths.CONFIG_DIR}/storage/jibri", f"{paths.CONFIG_DIR}/storage/transcripts")
STORAGE = f"{paths.CONFIG_DIR}/storage"
STATE_FILES = (paths.SECRETS, paths.STATE)
BEFORE_UPDATE = "-before-update"  # the name suffix of the archives `inv update` writes
KEEP_BEFORE_UPDATE = 5  # of those, the newest kept (older ones it wrote are deleted)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    name: str  # relative POSIX path
    kind: str  # "file" or "dir"
    size: int
    mode: int
    uid: int
    gid: int
    sha256: str = ""

    def to_json(self) -> dict:
        data = {"name": self.name, "kind": self.kind, "mode": oct(self.mode), "uid": self.uid,
                "gid": self.gid}  # fmt: skip
        if self.kind == "file":
            data |= {"size": self.size, "sha256": self.sha256}
        return data


@dataclass(frozen=True)
class Result:
    path: Path
    members: int
    size: int
    paused: float  # seconds prosody was paused; 0 when it was not running


def _walk(root: Path, rel: str, skip: tuple[str, ...]) -> Iterator[str]:
    """rel and everything below it (no link followed; a link is an error)."""
    path = root / rel
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise StackError(
            f"{rel}: is a symbolic link: a backup holds only regular files and folders: "
            "replace the link with what it points to"
        )
    if stat.S_ISREG(info.st_mode):
        yield rel
        return
    if not stat.S_ISDIR(info.st_mode):
        raise StackError(f"{rel}: is not a regular file or folder: move it away")
    yield rel
    for name in sorted(os.listdir(path)):
        child = f"{rel}/{name}"
        if child in skip:
            continue
        yield from _walk(root, child, skip)


def plan(root: Path, settings_files: list[Path], extra: list[Path], recordings: bool) -> list[str]:
    """Every path to archive, parents before children, no duplicates."""
    root = Path(root).resolve()
    tops: list[str] = []
    for path in [*settings_files, *extra]:
        path = Path(path)
        resolved = (path if path.is_absolute() else root / path).resolve(strict=False)
        if resolved.is_relative_to(root) and os.path.lexists(path):
            tops.append(
                Path(os.path.relpath(path if path.is_absolute() else root / path, root)).as_posix()
            )
    tops += [rel for rel in STATE_FILES if os.path.lexists(root / rel)]
    skip = () if recordings else RECORDINGS
    names: list[str] = []
    for top in tops:
        names += list(_walk(root, top, skip))
    if (root / STORAGE).is_dir():
        names += [p for p in _walk(root, STORAGE, skip)]
    parents = set()
    for name in names:  # the folders above each member, so modes and owners come back too
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parents.add("/".join(parts[:i]))
    ordered = sorted(set(names) | parents, key=lambda n: (n.count("/"), n))
    return ordered


def _member(root: Path, name: str) -> Member:
    info = os.lstat(root / name)
    if stat.S_ISDIR(info.st_mode):
        return Member(name, "dir", 0, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    digest = hashlib.sha256()
    with _open(root, name) as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return Member(
        name, "file", info.st_size, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
        digest.hexdigest(),
    )  # fmt: skip


def _open(root: Path, name: str):
    try:
        fd = os.open(root / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except PermissionError:
        raise StackError(
            f"{name}: permission denied: the backup must read every file of the deployment: "
            "run it as root (sudo) or as the files' owner"
        ) from None
    except OSError as err:
        raise StackError(f"{name}: cannot read it ({err.strerror})") from None
    return os.fdopen(fd, "rb")


@contextlib.contextmanager
def prosody_paused(stack) -> Iterator[list[float]]:
    """Pause the running prosody container (cgroup freezer: no write can land half way);
    yields a list that receives the seconds it was paused."""
    took: list[float] = []
    service = stack.d.service("prosody").name
    running = None
    with contextlib.suppress(StackError):
        running = stack.compose.running(service)
    if running is None or stack.runner.dry:
        yield took
        return
    stack.compose.run("pause", service, timeout=60)
    started = time.monotonic()
    try:
        yield took
    finally:
        stack.compose.run("unpause", service, timeout=60)
        took.append(time.monotonic() - started)
        _healthy_again(stack, service)


def _healthy_again(stack, service: str) -> None:
    """Docker 20.10 reports a container unhealthy right after unpause until its next
    health check: wait for that check (bounded), so the backup leaves the stack as it was."""
    deadline = time.monotonic() + 2 * stack.d.health_interval + 10
    while time.monotonic() < deadline:
        container = stack.compose.running(service)
        if container is None or container.health in ("healthy", ""):
            return
        time.sleep(0.5)


def write(
    stack,
    settings_files: list[Path],
    *,
    dest: Path | None = None,
    recordings: bool = False,
    progress: Callable[[int, int], None] | None = None,
    tag: str = "",
) -> Result:
    """Write the archive; return where, how many members and how long prosody paused."""
    swarm.refuse_host_backup(stack.d.root, "backup")  # its prosody data is on a node
    d = stack.d
    root = Path(d.root).resolve()
    extra = [c for c in ((d.certificate.cert, d.certificate.key) if d.certificate else ())]
    if dest is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = root / paths.ARCHIVES
        dest = folder / f"jitsi-stack-backup-{stamp}{tag}.tar.gz"
        for number in range(2, 100):  # two backups in one second
            if not os.path.lexists(dest):
                break
            dest = folder / f"jitsi-stack-backup-{stamp}-{number}{tag}.tar.gz"
    dest = Path(dest)
    _check_dest(root, dest)
    with prosody_paused(stack) as paused:
        names = plan(root, settings_files, extra, recordings)
        members = [_member(root, n) for n in names]
        manifest = {
            "format": FORMAT,
            "tool": "jitsi-stack",
            "version": __version__,
            "project": d.project,
            "image_tag": d.tag,
            "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recordings": recordings,
            "members": [m.to_json() for m in members],
        }
        total = sum(m.size for m in members)
        try:
            dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise StackError(f"{dest.parent}: cannot create it ({err.strerror})") from None
        size = _write_tar(root, dest, manifest, members, total, progress)
    return Result(dest, len(members), size, paused[0] if paused else 0.0)


def _check_dest(root: Path, dest: Path) -> None:
    parent = dest.parent
    if dest.exists() or dest.is_symlink():
        raise StackError(f"{dest}: exists: choose another name (a backup never overwrites)")
    if parent.is_symlink():
        raise StackError(f"{parent}: is a symbolic link: write the backup into a real folder")
    if parent.resolve().is_relative_to((root / STORAGE).resolve()):
        raise StackError(f"{dest}: is inside {STORAGE}, which is being backed up: choose another")


def _write_tar(root, dest, manifest, members, total, progress) -> int:
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as err:
        raise StackError(f"{dest.parent}: cannot write the backup there ({err.strerror})") from None
    done = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o600)
            with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
                for m in members:
                    info = tarfile.TarInfo(m.name)
                    info.mode, info.uid, info.gid = m.mode, m.uid, m.gid
                    info.mtime = int(os.lstat(root / m.name).st_mtime)
                    if m.kind == "dir":
                        info.type = tarfile.DIRTYPE
                        tar.addfile(info)
                        continue
                    info.size = m.size
                    with _open(root, m.name) as handle:
                        tar.addfile(info, handle)
                    done += m.size
                    if progress:
                        progress(done, total)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, StackError):
            raise StackError(
                f"{dest}: cannot write it ({exc.strerror or exc}): check free space"
            ) from None
        raise
    return dest.stat().st_size


def prune(folder: Path, tag: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives whose name carries `tag`."""
    found = sorted(folder.glob(f"jitsi-stack-backup-*{tag}.tar.gz"))
    gone = found[:-keep] if keep else found
    for path in gone:
        if path.is_file() and not path.is_symlink():
            path.unlink()
    return gone
