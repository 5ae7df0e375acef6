"""`inv restore FILE`: an archive back into a project folder, trusting nothing in it.

1. `check(archive)` reads the whole archive once and writes nothing. It must be a regular
   file holding gzip-compressed tar whose first member is a jitsi-stack manifest of a
   format this version reads (read with a size bound, every field of the type it must
   have, nothing more), then exactly the members it lists: only regular files and folders,
   only paths `inv backup` writes (backup.rule), each of the size and SHA-256 recorded,
   each within its size limit. Decompression is bounded by what the manifest declares and
   by a ratio to the archive's own size: a 2 MB archive never becomes a 2 GiB file. An
   archive with no file to restore is refused.
2. `restore_target.check_target(root, checked)` looks at the target folder, still writing
   nothing: no link and nothing but a folder where the archive has a folder, no link where
   it has a file, free space for what it will write, and the settings layers it does not
   hold (a jitsi-stack.local.yml there would stay in force over the restored settings: it
   is moved aside with the files the restore replaces, and the output says so).
3. `restore_target.apply(...)` extracts into a staging folder inside the target (same
   filesystem), checks every byte again, gives each path the mode and owner the tool's
   rules say (never the archive's), archives what it will replace to
   backups/jitsi-stack-before-restore-*.tar.gz, then swaps by renames; any failure moves
   every renamed path back, so the target is either restored or as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import StackError, UsageError
from ..store import paths
from . import archive_rules
from .archive_rules import Rule
from .backup import CHUNK, MANIFEST, MANIFEST_MAX

FORMATS = (1, 2)
RATIO = 100  # at most this many bytes restored per byte of archive (gzip reaches ~1000)
FLOOR = 64 << 20  # ... or this many, for small archives of small, compressible files
MAX_MEMBERS = 1_000_000
HEADER_ALLOWANCE = 8192  # tar header bytes a member may add (pax headers, long names)
MAX_NAME = 1024
FIX = "use an archive written by `inv backup` (or one of backups/jitsi-stack-*.tar.gz)"
SHA = re.compile(r"[0-9a-f]{64}")
MODE = re.compile(r"0o[0-7]{1,6}")
SHOWN = {  # the fields `inv restore` prints, and what they may hold
    "version": re.compile(r"[\w.+-]{1,40}"),
    "project": re.compile(r"[A-Za-z0-9_.-]{0,64}"),
    "image_tag": re.compile(r"[\w.+-]{0,128}"),
    "created": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
}
TOP = {  # field -> type, per format (format 2 adds the kind)
    1: {"format": int, "tool": str, "version": str, "project": str, "image_tag": str,
        "created": str, "recordings": bool, "members": list},
}  # fmt: skip
TOP[2] = TOP[1] | {"kind": str}
FILE_FIELDS = {"name": str, "kind": str, "size": int, "mode": str, "uid": int, "gid": int,
               "sha256": str}  # fmt: skip
DIR_FIELDS = {k: v for k, v in FILE_FIELDS.items() if k not in ("size", "sha256")}


class Refused(StackError):
    """One line naming the archive (or the target path), what is wrong and the fix."""


def _fail(where: Path | str, why: str, fix: str = FIX) -> Refused:
    return Refused(f"{where}: {why}: {fix}; nothing was restored")


@dataclass
class Checked:
    archive: Path
    manifest: dict
    entries: dict[str, dict]  # name -> manifest entry, in manifest order
    rules: dict[str, Rule]
    total: int  # bytes of files


# -- reading the archive, bounded ------------------------------------------------------


class _TooBig(Exception):
    pass


class _Bounded(io.RawIOBase):
    """The decompressed stream, refusing to give more than `limit` bytes."""

    def __init__(self, inner, limit: int) -> None:
        self.inner, self.limit, self.count = inner, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        room = self.limit - self.count + 1
        view = memoryview(buffer)[: max(0, min(len(buffer), room))]
        n = self.inner.readinto(view) if len(view) else 0
        self.count += n
        if self.count > self.limit:
            raise _TooBig
        return n


def _open_archive(archive: Path) -> tuple[io.BufferedReader, int]:
    """The archive as a regular file (a FIFO or a device is refused, never read)."""
    try:
        fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UsageError(f"{archive}: no such file: give the backup archive (.tar.gz)") from None
    except OSError as err:
        raise _fail(
            archive, f"cannot read it ({err.strerror})", "check the path and permissions"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _fail(archive, "is not a regular file", "give the backup archive (.tar.gz)")
    return os.fdopen(fd, "rb"), info.st_size


def _stream(archive: Path, visit) -> None:
    """Feed every tar member to visit(tar, info, bounded) with decompression bounded; turn
    every way a damaged archive fails into one line."""
    raw, size = _open_archive(archive)
    with raw:
        if raw.read(2) != b"\x1f\x8b":
            raise _fail(archive, "is not a gzip-compressed tar archive (wrong magic)")
        raw.seek(0)
        unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
        bounded = _Bounded(unzipped, MANIFEST_MAX + 4 * HEADER_ALLOWANCE)
        bounded.archive_size = size  # type: ignore[attr-defined]
        try:
            buffered = io.BufferedReader(bounded, CHUNK)
            with tarfile.open(fileobj=buffered, mode="r|") as tar:
                for info in tar:
                    visit(tar, info, bounded)
            bounded.limit = bounded.count + CHUNK + 2 * tarfile.RECORDSIZE  # the end padding
            while block := buffered.read(CHUNK):  # to the gzip trailer: CRC and length checked
                if block.strip(b"\0"):
                    raise _fail(archive, "has data after the end of the tar archive")
        except _TooBig:
            raise _fail(
                archive, "unpacks to more than its manifest declares (damaged or a gzip bomb)"
            ) from None
        except (tarfile.TarError, OSError, EOFError, zlib.error, gzip.BadGzipFile) as err:
            kind = err.__class__.__name__
            raise _fail(archive, f"is damaged or truncated ({kind})") from None


# -- the manifest ------------------------------------------------------------------------


def _typed(value, kind) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _parse(archive: Path, data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError):
        raise _fail(archive, f"{MANIFEST} is not JSON (damaged)") from None
    if not isinstance(manifest, dict) or manifest.get("tool") != "jitsi-stack":
        raise _fail(archive, "is not a jitsi-stack backup (foreign manifest)")
    version = manifest.get("format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(archive, "has no valid backup format number (damaged)")
    if version > max(FORMATS):
        newer = manifest.get("version")
        shown = newer if isinstance(newer, str) and re.fullmatch(r"[\w.+-]{1,40}", newer) else "?"
        raise _fail(
            archive,
            f"is backup format {version}, newer than this jitsi-stack reads ({max(FORMATS)})",
            f"restore it with jitsi-stack {shown} or newer",
        )
    _fields(
        archive,
        manifest,
        TOP[version],
        f"{MANIFEST}: ",
        ("has no {key!r} (damaged)", "{key!r} is not {kind} (damaged)",
         "has an unknown field {key!r} (tampered?)"),
    )  # fmt: skip
    for key, pattern in SHOWN.items():  # printed after the restore: no escape or control
        if not pattern.fullmatch(manifest[key]):
            raise _fail(archive, f"{MANIFEST}: {key!r} is malformed (tampered?)")
    if version >= 2 and manifest["kind"] not in archive_rules.KINDS:
        raise _fail(archive, f"{MANIFEST}: 'kind' is not one of {', '.join(archive_rules.KINDS)}")
    members = manifest["members"]
    if len(members) > MAX_MEMBERS:
        raise _fail(archive, f"lists more than {MAX_MEMBERS} members")
    entries: dict[str, dict] = {}
    for entry in members:
        name = _entry(archive, entry)
        if name in entries:
            raise _fail(archive, f"{name}: is listed twice in its manifest (tampered?)")
        entries[name] = entry
    if not any(e["kind"] == "file" for e in entries.values()):
        raise _fail(archive, "holds no file to restore", "give the backup archive itself")
    manifest["entries"] = entries
    return manifest


def _fields(
    archive: Path, found: dict, fields: dict[str, type], where: str, says: tuple[str, str, str]
) -> None:
    """Every field there with its exact type, and no other. `says` holds the three messages
    (missing, mistyped, unknown) as fixed templates of key and kind; `where` (which may hold
    an archive's text) goes before them, never through str.format."""
    missing, mistyped, unknown = says
    for key, kind in fields.items():
        if key not in found:
            raise _fail(archive, where + missing.format(key=key))
        if not _typed(found[key], kind):
            raise _fail(archive, where + mistyped.format(key=key, kind=kind.__name__))
    extra = sorted(set(found) - set(fields))
    if extra:
        raise _fail(archive, where + unknown.format(key=extra[0][:40]))


def _entry(archive: Path, entry) -> str:
    if not isinstance(entry, dict):
        raise _fail(archive, f"{MANIFEST}: a member is not an object (damaged)")
    name = entry.get("name")
    if not isinstance(name, str) or not _safe_name(name):
        shown = name[:60] if isinstance(name, str) else type(name).__name__
        raise _fail(archive, f"{MANIFEST}: lists an unsafe or invalid path {shown!r}")
    kind = entry.get("kind")
    if kind not in ("file", "dir"):
        raise _fail(archive, f"{name}: is neither a file nor a folder in its manifest")
    _fields(
        archive,
        entry,
        FILE_FIELDS if kind == "file" else DIR_FIELDS,
        f"{name}: ",
        ("its manifest entry has no {key!r} (damaged)", "{key!r} in its manifest is not {kind}",
         "its manifest entry has an unknown field {key!r}"),
    )  # fmt: skip
    if not MODE.fullmatch(entry["mode"]) or entry["uid"] < 0 or entry["gid"] < 0:
        raise _fail(archive, f"{name}: mode or owner in its manifest is malformed")
    if kind == "file" and (entry["size"] < 0 or not SHA.fullmatch(entry["sha256"])):
        raise _fail(archive, f"{name}: size or checksum in its manifest is malformed")
    return name


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return (
        0 < len(name) <= MAX_NAME
        and name not in (".", "..")
        and not pure.is_absolute()
        and pure.as_posix() == name  # no "./", "//" or trailing "/"
        and ".." not in pure.parts
        and "." not in pure.parts
        and not any(ord(ch) < 32 or ch in "\\\x7f" for ch in name)
        and name != MANIFEST
    )


# -- check: the whole archive, nothing written --------------------------------------------


def check(archive: Path) -> Checked:
    """Read and verify every byte of the archive; return what it holds and the rule for each."""
    archive = Path(archive)
    state: dict = {"manifest": None, "seen": set(), "texts": {}}

    def visit(tar, info, bounded) -> None:
        if state["manifest"] is None:
            state["manifest"] = _first(archive, tar, info, bounded)
            return
        entry = _member(archive, info, state["manifest"]["entries"], state["seen"])
        if entry["kind"] == "file":
            keep = bool(archive_rules.SETTINGS_NAME.fullmatch(info.name)) or (
                info.name == paths.MANIFEST
            )
            data = _content(archive, tar, info, entry, None, keep)
            if keep:
                state["texts"][info.name] = data

    _stream(archive, visit)
    manifest = state["manifest"]
    if manifest is None:
        raise _fail(archive, f"is not a jitsi-stack backup (no {MANIFEST} first)")
    entries = manifest.pop("entries")
    missing = [name for name in entries if name not in state["seen"]]
    if missing:
        raise _fail(archive, f"is incomplete: {missing[0]} is in the manifest but not stored")
    rules = _rules(archive, entries, state["texts"])
    total = sum(e["size"] for e in entries.values() if e["kind"] == "file")
    return Checked(archive, manifest, entries, rules, total)


def _first(archive: Path, tar, info, bounded) -> dict:
    if info.name != MANIFEST or info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        raise _fail(archive, f"is not a jitsi-stack backup (no {MANIFEST} first)")
    if info.size > MANIFEST_MAX:
        raise _fail(archive, f"{MANIFEST}: is larger than {MANIFEST_MAX >> 20} MiB (not ours)")
    manifest = _parse(archive, tar.extractfile(info).read(MANIFEST_MAX))
    entries = manifest["entries"]
    declared = sum(e["size"] for e in entries.values() if e["kind"] == "file")
    allowed = max(FLOOR, RATIO * bounded.archive_size)
    if declared > allowed:
        raise _fail(
            archive,
            f"declares {declared} bytes, more than {RATIO} times its own size (a gzip bomb?)",
        )
    bounded.limit = bounded.count + declared + HEADER_ALLOWANCE * (len(entries) + 2)
    return manifest


def _member(archive: Path, info: tarfile.TarInfo, entries: dict, seen: set) -> dict:
    name = info.name
    if not _safe_name(name):
        raise _fail(archive, f"holds an unsafe path {name[:60]!r} (absolute, .., or odd)")
    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE) or info.sparse:
        raise _fail(archive, f"{name}: is a link, device or special file (a backup has none)")
    entry = entries.get(name)
    if entry is None:
        raise _fail(archive, f"{name}: is stored but not in the manifest (tampered?)")
    if name in seen:
        raise _fail(archive, f"{name}: is stored twice (tampered?)")
    seen.add(name)
    if (entry["kind"] == "dir") != info.isdir():
        raise _fail(archive, f"{name}: is stored as another kind than the manifest says")
    if info.isfile() and info.size != entry["size"]:
        raise _fail(archive, f"{name}: has {info.size} bytes, the manifest says {entry['size']}")
    return entry


def _content(archive, tar, info, entry, out, keep: bool) -> bytes:
    """Hash the member (writing it to `out` when given); its bytes when keep."""
    if keep and info.size > archive_rules.SMALL_FILE:
        raise _fail(archive, f"{info.name}: is larger than {archive_rules.SMALL_FILE >> 20} MiB")
    digest = hashlib.sha256()
    kept = bytearray()
    handle = tar.extractfile(info)
    for block in iter(lambda: handle.read(CHUNK), b""):
        digest.update(block)
        if keep:
            kept += block
        if out is not None:
            out.write(block)
    if digest.hexdigest() != entry["sha256"]:
        raise _fail(archive, f"{info.name}: checksum mismatch (damaged or changed)")
    return bytes(kept)


def _rules(archive: Path, entries: dict[str, dict], texts: dict[str, bytes]) -> dict[str, Rule]:
    settings = {n: t for n, t in texts.items() if n != paths.MANIFEST}
    try:
        named = archive_rules.named_files(settings)
    except ValueError as err:
        raise _fail(archive, f"its settings: {err}") from None
    generated: frozenset[str] = frozenset()
    if paths.MANIFEST in texts:
        try:
            outputs = json.loads(texts[paths.MANIFEST]).get("outputs", [])
        except (ValueError, AttributeError, RecursionError):
            raise _fail(archive, f"{paths.MANIFEST}: is not the render record (damaged)") from None
        if isinstance(outputs, list):
            generated = frozenset(o for o in outputs if isinstance(o, str) and _safe_name(o))
        if not generated:
            generated = frozenset(path for path, _, _ in archive_rules.OUTPUTS)
    rules: dict[str, Rule] = {}
    for name, entry in entries.items():
        found = archive_rules.rule(name, entry["kind"], named, generated)
        if found is None:
            raise _fail(archive, f"{name}: is no path `inv backup` writes (tampered?)")
        if found.limit is not None and entry["kind"] == "file" and entry["size"] > found.limit:
            raise _fail(
                archive, f"{name}: {entry['size']} bytes is more than a {found.what} may have"
            )
        rules[name] = found
    return rules
