"""Internal passwords and prosody's accounts, kept in step.

Prosody creates an account for focus, jvb, jigasi, jibri, recorder and
transcriber the first time it starts and never updates it (upstream's
`user create` says "User exists"). New passwords therefore only work once the
old accounts are gone: `inv rotate-secrets` removes them and recreates the
services, and a render refuses to invent passwords for accounts that exist.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from . import files, model
from . import secrets as secret_store
from .cleanup import safe_remove

ACCOUNT_OF = {
    "JICOFO_AUTH_PASSWORD": "focus",
    "JVB_AUTH_PASSWORD": "jvb",
    "JIGASI_XMPP_PASSWORD": "jigasi",
    "JIGASI_TRANSCRIBER_PASSWORD": "transcriber",
    "JIBRI_RECORDER_PASSWORD": "recorder",
    "JIBRI_XMPP_PASSWORD": "jibri",
}
PROSODY_DATA = Path(model.CONFIG_DIR) / "storage" / "prosody"


def account_files(root: Path, names) -> list[Path]:
    """Prosody's stored accounts (any vhost) of the internal users behind the given secrets."""
    users = {ACCOUNT_OF[name] for name in names if name in ACCOUNT_OF}
    data = Path(root) / PROSODY_DATA
    if not users or not data.is_dir():
        return []
    return sorted(p for p in data.rglob("accounts/*.dat") if p.stem in users)


def rotate(root: Path) -> tuple[str, list[str]]:
    """New passwords for all six accounts; old ones backed up. Returns (backup, removed)."""
    root = Path(root)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    backup = Path(".jitsi-stack") / "backups" / stamp / "secrets.env"
    current = secret_store.path(root)
    if current.exists():
        (root / backup).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        files.write_atomic(root / backup, current.read_text(encoding="utf-8"), 0o600)
    removed = []
    for path in account_files(root, secret_store.SECRET_NAMES):
        safe_remove(root, path)
        removed.append(str(path.relative_to(root)))
    secret_store.save(root, {name: secret_store.generate() for name in secret_store.SECRET_NAMES})
    return str(backup), removed
