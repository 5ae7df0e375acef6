"""`inv restore FILE`: a backup archive back into a project folder.

First the whole archive is read and checked, writing nothing: it must be a jitsi-stack
backup of a format this version reads, hold exactly the members its manifest lists (only
regular files and folders, relative paths without `..`), and every file must have the
size and SHA-256 the manifest records. One line says what is wrong otherwise.

Then the members are extracted into a staging folder next to the project and moved into
place with their modes and owners (uid 1000 for the containers' storage). The target
folder must be empty, or every path the archive holds is first saved into a backup of its
own (`backups/jitsi-stack-before-restore-*.tar.gz`) and then replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from .backup import CHUNK, FORMAT, MANIFEST
from .errors import StackError, UsageError


def _fail(path: Path, why: str) -> StackError:
    return StackError(f"{path}: {why}: nothing was restored")


def _stream(archive: Path, tar: tarfile.TarFile, info: tarfile.TarInfo):
    """A regular member's bytes (tarfile answers None for any other kind)."""
    stream = tar.extractfile(info)
    if stream is None:
        raise _fail(archive, f"{info.name} is not a regular file")
    return stream


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name


def read_manifest(archive: Path) -> dict:
    """The manifest, after checking every member against it (nothing is written)."""
    if not archive.is_file():
        raise UsageError(f"{archive}: no such file: give the backup archive (.tar.gz)")
    try:
        tar = tarfile.open(archive, mode="r:gz")  # noqa: SIM115 - closed by `with tar` below
    except (tarfile.TarError, OSError, EOFError):
        raise _fail(
            archive, "is not a gzip-compressed tar archive (damaged or another file)"
        ) from None
    with tar:
        try:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise _fail(archive, f"is not a jitsi-stack backup (no {MANIFEST} first)")
            manifest = _parse(archive, _stream(archive, tar, first).read())
            expected = {m["name"]: m for m in manifest["members"]}
            seen: set[str] = set()
            for info in tar:
                if info.offset == first.offset:  # iteration starts over at the manifest
                    continue
                _check_member(archive, info, expected, seen)
                if info.isfile():
                    _check_content(archive, tar, info, expected[info.name])
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise _fail(archive, f"is damaged ({err.__class__.__name__}: {err})") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise _fail(archive, f"is incomplete: {missing[0]} is in the manifest but not stored")
    return manifest


def _parse(archive: Path, data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise _fail(archive, f"{MANIFEST} is not JSON (damaged)") from None
    if not isinstance(manifest, dict) or manifest.get("tool") != "jitsi-stack":
        raise _fail(archive, "is not a jitsi-stack backup (foreign manifest)")
    version = manifest.get("format")
    if not isinstance(version, int):
        raise _fail(archive, "has no backup format number (damaged)")
    if version > FORMAT:
        raise _fail(
            archive,
            f"is backup format {version}, newer than this jitsi-stack reads ({FORMAT}): "
            f"restore it with jitsi-stack {manifest.get('version', '?')} or newer",
        )
    members = manifest.get("members")
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise _fail(archive, "has no member list (damaged)")
    names = [m.get("name") for m in members]
    if len(set(names)) != len(names):
        raise _fail(archive, "lists a member twice (damaged)")
    for m in members:
        name = m.get("name")
        if not isinstance(name, str) or not _safe_name(name) or name == MANIFEST:
            raise _fail(archive, f"lists an unsafe path {name!r}")
        if m.get("kind") not in ("file", "dir"):
            raise _fail(archive, f"{name}: is neither a file nor a folder")
    return manifest


def _check_member(archive: Path, info: tarfile.TarInfo, expected: dict, seen: set) -> None:
    name = info.name
    if not _safe_name(name):
        raise _fail(archive, f"holds an unsafe path {name!r} (absolute or with ..)")
    if not (info.isfile() or info.isdir()):
        raise _fail(archive, f"{name}: is a link or device: a backup holds only files and folders")
    entry = expected.get(name)
    if entry is None:
        raise _fail(archive, f"{name}: is stored but not in the manifest (tampered?)")
    if name in seen:
        raise _fail(archive, f"{name}: is stored twice")
    seen.add(name)
    if (entry["kind"] == "dir") != info.isdir():
        raise _fail(archive, f"{name}: is stored as another kind than the manifest says")


def _check_content(archive, tar, info: tarfile.TarInfo, entry: dict) -> None:
    if info.size != entry.get("size"):
        raise _fail(
            archive, f"{info.name}: has {info.size} bytes, the manifest says {entry.get('size')}"
        )
    digest = hashlib.sha256()
    handle = tar.extractfile(info)
    for block in iter(lambda: handle.read(CHUNK), b""):
        digest.update(block)
    if digest.hexdigest() != entry.get("sha256"):
        raise _fail(archive, f"{info.name}: checksum mismatch (damaged or changed)")


def occupied(target: Path, manifest: dict) -> list[str]:
    """The archive's paths that already exist in target (what a restore would replace)."""
    return [
        m["name"]
        for m in manifest["members"]
        if m["kind"] == "file" and os.path.lexists(target / m["name"])
    ]


def extract(archive: Path, target: Path, manifest: dict) -> int:
    """Extract into a staging folder beside target, then move each file into place."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".jitsi-stack-restore-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(mode=0o700)
    entries = {m["name"]: m for m in manifest["members"]}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                if info.offset == 0:  # the manifest, read already
                    continue
                out = staging / info.name
                if info.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with _stream(archive, tar, info) as src, open(out, "xb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        for name in sorted(entries, key=lambda n: n.count("/")):
            entry = entries[name]
            final = target / name
            if _through_link(target, name):
                raise StackError(
                    f"{name}: a folder on its way is a symbolic link: nothing was moved"
                )
            if entry["kind"] == "dir":
                final.mkdir(exist_ok=True)
            else:
                if final.is_dir() and not final.is_symlink():
                    raise StackError(f"{name}: is a folder in the target: move it away")
                os.replace(staging / name, final)
        for name in sorted(entries, key=lambda n: -n.count("/")):  # modes last: 0500 dirs
            _own(target / name, entries[name])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(entries)


def _through_link(target: Path, name: str) -> bool:
    path = target
    for part in PurePosixPath(name).parts[:-1]:
        path = path / part
        if path.is_symlink():
            return True
    return (target / name).is_symlink()


def _own(path: Path, entry: dict) -> None:
    with contextlib.suppress(PermissionError):  # not root: the files stay ours
        os.chown(path, int(entry["uid"]), int(entry["gid"]), follow_symlinks=False)
    os.chmod(path, int(str(entry["mode"]), 8))
