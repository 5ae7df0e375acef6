"""Every archive jitsi-stack writes: one format, one writer, one set of path rules.

Four kinds, named by what they hold and why they were written (all in backups/ unless
`inv backup --to` says otherwise, all restorable with `inv restore`):

- `jitsi-stack-backup-<time>.tar.gz`: `inv backup`;
- `jitsi-stack-before-update-<time>.tar.gz`: `inv update`, before it changes anything
  (the newest five kept);
- `jitsi-stack-before-clean-<time>.tar.gz`: `inv clean --all`, before it deletes the
  deployment (recordings included: clean deletes them too);
- `jitsi-stack-before-restore-<time>.tar.gz`: `inv restore`, what the target folder held
  at every path the restore replaced.

What a backup holds (paths relative to the project):
- the settings files (jitsi-stack.yml, a profile, jitsi-stack.local.yml) and the files they
  name inside the project: compose.extra_files, frontend.env_file and the site's own
  certificate and key;
- .jitsi-stack/secrets.env, state.json, manifest.json and backups/ (internal passwords,
  JWT and TURN secrets, the chosen tag, detected addresses, the render record, old copies)
  and dev-ca/ (the development CA with its private key, which browsers that ran
  `inv dev-ca.trust` trust: `inv backup` says when the archive holds it);
- the generated files of the last render (docker-compose.yml, jitsi-meet/.env, ...), so a
  restored project is up to date (`inv render --check` exits 0) with no render;
- jitsi-meet/storage/ (prosody's accounts and data, the web container's certificates and
  Let's Encrypt account) except recordings and transcripts, which --include-recordings adds.

The first member is jitsi-stack-backup.json: format, kind, tool version, image tag,
project, time, and per member its size, mode, owner and SHA-256. Prosody is paused while
its files are read (no half-written account file); the archive is written 0600 under a
temporary name and renamed into place. Only regular files and directories are archived: a
symbolic link in those folders stops the backup with one line.

`rule(name, named)` is the one place that says which paths an archive may hold and with
which mode and owner each comes back; restore.py takes modes and owners only from it.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, swarm
from ..errors import StackError
from ..render import OUTPUTS
from ..store import paths
from .archive_rules import (
    KINDS,
    SMALL_FILE,
    STATE_FILES,
    STORAGE,
)

FORMAT = 2  # 2: kind, generated files, .jitsi-stack/backups; restore reads 1 and 2
MANIFEST = "jitsi-stack-backup.json"
MANIFEST_MAX = 16 << 20  # bytes: the manifest of a million members fits; more is no backup
RECORDINGS = (f"{paths.CONFIG_DIR}/storage/jibri", f"{paths.CONFIG_DIR}/storage/transcripts")
KEEP_BEFORE_UPDATE = 5  # of the archives `inv update` writes, the newest kept
CHUNK = 1 << 20

# -- the manifest ----------------------------------------------------------------------


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
    left_out: tuple[tuple[str, str], ...] = ()  # (file the settings name, why not archived)
    passed: tuple[str, ...] = ()  # links and special files left out (before-clean only)


def _walk(
    root: Path, rel: str, skip: tuple[str, ...], passed: list[str] | None = None
) -> Iterator[str]:
    """rel and everything below it (no link followed; a link is an error, or, when
    `passed` is a list, left out and named there)."""
    path = root / rel
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if passed is not None and not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        passed.append(rel)
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
        yield from _walk(root, child, skip, passed)


def walk(
    root: Path, tops: list[str], skip: tuple[str, ...] = (), passed: list[str] | None = None
) -> list[str]:
    """Every path under the tops, with the folders above each, parents first, once."""
    names: list[str] = []
    for top in tops:
        names += list(_walk(root, top, skip, passed))
    parents = set()
    for name in names:  # the folders above each member, so modes and owners come back too
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parents.add("/".join(parts[:i]))
    return sorted(set(names) | parents, key=lambda n: (n.count("/"), n))


def plan(
    root: Path,
    settings_files: list[Path],
    extra: list[Path],
    recordings: bool,
    generated: list[str] | tuple[str, ...] = (),
    passed: list[str] | None = None,
) -> list[str]:
    """Every path to archive, parents before children, no duplicates."""
    root = Path(root).resolve()
    tops: list[str] = []
    for path in [*settings_files, *extra]:
        rel = inside(root, Path(path))
        if rel is not None and os.path.lexists(root / rel):
            tops.append(rel)
    tops += [rel for rel in (*STATE_FILES, paths.REPLACED_COPIES) if os.path.lexists(root / rel)]
    tops += [rel for rel in generated if os.path.isfile(root / rel)]
    if (root / STORAGE).is_dir():
        tops.append(STORAGE)
    return walk(root, tops, () if recordings else RECORDINGS, passed)


def inside(root: Path, path: Path) -> str | None:
    """path relative to root (POSIX), or None when it lies outside."""
    full = path if path.is_absolute() else root / path
    if not full.parent.resolve(strict=False).is_relative_to(root):
        return None
    rel = os.path.relpath(full.parent.resolve(strict=False) / full.name, root)
    return None if rel.startswith("..") else Path(rel).as_posix()


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
    kind: str = "backup",
    dest: Path | None = None,
    recordings: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Back up the deployment; return where, how many members and how long prosody paused."""
    from ..store import files

    swarm.refuse_host_backup(stack.d.root, "backup")  # its prosody data is on a node
    d = stack.d
    root = Path(d.root).resolve()
    extra = list(d.extra_files) + ([d.frontend_file] if d.frontend_file else [])
    if d.certificate:
        extra += [d.certificate.cert, d.certificate.key]
    left_out = tuple(
        (os.path.relpath(p, root), "outside the project")
        for p in extra
        if inside(root, Path(p)) is None
    ) + tuple(  # a link to /etc/letsencrypt/...: the archive holds regular files only
        (os.path.relpath(p, root), "a symbolic link")
        for p in extra
        if inside(root, Path(p)) is not None and Path(p).is_symlink()
    )
    extra = [p for p in extra if not Path(p).is_symlink()]
    record = files.read_manifest(root)
    generated = record.outputs or [path for path, _, _ in OUTPUTS]
    passed: list[str] | None = [] if kind == "before-clean" else None  # clean removes links
    with prosody_paused(stack) as paused:
        names = plan(root, settings_files, extra, recordings, generated, passed)
        layers = [rel for rel in (inside(root, Path(f)) for f in settings_files) if rel]
        restorable(root, names, generated, layers)
        path, size = write_archive(
            root, names, kind=kind, dest=dest, progress=progress,
            meta={"project": d.project, "image_tag": d.tag, "recordings": recordings},
        )  # fmt: skip
    took = paused[0] if paused else 0.0
    return Result(path, len(names), size, took, left_out, tuple(passed or ()))


def restorable(root: Path, names: list[str], generated: list[str], layers: list[str]) -> None:
    """Refuse to write what `inv restore` would refuse to take back (archive_rules.rule);
    layers: the settings files in the project, checked first."""
    from .archive_rules import named_files, rule

    texts = {}
    for name in layers:
        with _open(root, name) as handle:
            texts[name] = handle.read(SMALL_FILE + 1)
    try:
        named = named_files(texts)
    except ValueError as err:
        raise StackError(f"{err}: fix the settings file") from None
    for name in [*layers, *names]:
        kind = "dir" if os.path.isdir(root / name) else "file"
        found = rule(name, kind, named, frozenset(generated))
        size = os.lstat(root / name).st_size if kind == "file" else 0
        if found is None or (found.limit is not None and size > found.limit):
            raise StackError(
                f"{name}: `inv restore` would not take it back (settings files are named "
                "jitsi-stack[.<profile>|.local].yml; files the settings name lie outside "
                f"{paths.STATE_DIR}/, {paths.BACKUP_ARCHIVES}/ and {STORAGE}/; at most "
                f"{SMALL_FILE >> 20} MiB each): rename or move it"
            )


def archive_name(folder: Path, kind: str) -> Path:
    """backups/<prefix>-<time>.tar.gz, a free name (two archives in one second)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = folder / f"{KINDS[kind]}-{stamp}.tar.gz"
    for number in range(2, 100):
        if not os.path.lexists(dest):
            break
        dest = folder / f"{KINDS[kind]}-{stamp}-{number}.tar.gz"
    return dest


def write_archive(
    root: Path,
    names: list[str],
    *,
    kind: str,
    meta: Mapping[str, object],
    dest: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, int]:
    """The one tar writer: manifest first, then `names` (relative to root, parents first),
    0600 from creation, under a temporary name in the same folder, renamed into place."""
    root = Path(root).resolve()
    dest = Path(dest) if dest is not None else archive_name(root / paths.BACKUP_ARCHIVES, kind)
    _check_dest(root, dest)
    members = [_member(root, n) for n in names]
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "tool": "jitsi-stack",
        "version": __version__,
        "project": str(meta.get("project", "")),
        "image_tag": str(meta.get("image_tag", "")),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recordings": bool(meta.get("recordings", False)),
        "members": [m.to_json() for m in members],
    }
    total = sum(m.size for m in members)
    _make_private_dir(dest.parent)
    return dest, _write_tar(root, dest, manifest, members, total, progress)


def _make_private_dir(folder: Path) -> None:
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        raise StackError(f"{folder}: exists and is not a folder: move it away") from None
    except OSError as err:
        raise StackError(f"{folder}: cannot create it ({err.strerror})") from None


def _check_dest(root: Path, dest: Path) -> None:
    parent = dest.parent
    if dest.exists() or dest.is_symlink():
        raise StackError(f"{dest}: exists: choose another name (a backup never overwrites)")
    if parent.is_symlink():
        shown = parent.relative_to(root) if parent.is_relative_to(root) else parent
        raise StackError(
            f"{shown}: is a symbolic link: jitsi-stack writes backup archives only into a "
            "real directory: replace the link with a directory"
        )
    resolved = parent.resolve()
    for rel in (STORAGE, paths.STATE_DIR):
        if resolved.is_relative_to((root / rel).resolve()):
            raise StackError(f"{dest}: is inside {rel}, which is being backed up: choose another")


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
            os.fchmod(raw.fileno(), 0o600)  # os.open's mode is filtered by the umask
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


def prune(folder: Path, kind: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives of this kind."""
    found = sorted(folder.glob(f"{KINDS[kind]}-*.tar.gz"))
    gone = found[:-keep] if keep else found
    for path in gone:
        if path.is_file() and not path.is_symlink():
            path.unlink()
    return gone
