"""Atomic file writes and the manifest of what jitsi-stack generated.

Every generated file is written to a temporary file in the same directory,
fsynced, given its mode and renamed over the target, so a reader never sees
half a file. The manifest (.jitsi-stack/manifest.json) keeps the sha256 of
each file as it was last written; a different hash on disk means a hand edit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

MANIFEST = Path(".jitsi-stack") / "manifest.json"


def sha256(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_manifest(root: Path) -> dict[str, str]:
    file = Path(root) / MANIFEST
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.get("files", {}).items()}


def write_manifest(root: Path, hashes: dict[str, str]) -> None:
    file = Path(root) / MANIFEST
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = json.dumps({"files": dict(sorted(hashes.items()))}, indent=2) + "\n"
    write_atomic(file, body, mode=0o600)
