"""`inv rotate-secrets`: new internal passwords, and prosody's accounts kept in step.

Prosody creates an account for focus, jvb, jigasi, jibri, recorder and
transcriber the first time it starts and never updates it (upstream's
`user create` says "User exists"). New passwords therefore only work once the
old accounts are gone: rotation removes them (on the auth domain only) and
recreates the services; a render refuses to invent passwords for accounts
that exist.
"""

from __future__ import annotations

import datetime as _dt

from ..deployment import ACCOUNT_OF
from ..render.apply import account_files, check_tree
from ..store import files, paths
from ..store import secrets as secret_store
from ..store.safefs import safe_remove
from .stack import Stack

DESCRIPTION = [
    "generate six new internal passwords, and new JWT and TURN secrets where jitsi-stack "
    "generated them (the old ones are kept in .jitsi-stack/backups/)",
    "remove prosody's internal accounts (focus, jvb, ...) so prosody creates them anew",
    "recreate every service with the new passwords",
]


SWARM_DESCRIPTION = [
    DESCRIPTION[0],
    "delete prosody's internal accounts (focus, jvb, ...) in its task, through the "
    "manager, so prosody creates them anew",
    "deploy the stack again: Swarm replaces every service that reads a new secret",
]


def rotate(stack: Stack) -> tuple[str, list[str]]:
    """New passwords for all six accounts; old ones backed up. Returns (backup, removed)."""
    root = stack.d.root
    check_tree(stack.d)  # a planted link stops us before a password changes
    if stack.runner.dry:
        return _backup_name(), []
    removed = []
    for path in account_files(stack.d, secret_store.SECRET_NAMES):
        safe_remove(root, path)
        removed.append(str(path.relative_to(root)))
    return new_secrets(stack), removed


def internal_jids(d) -> list[str]:
    """The internal accounts behind the six passwords, on the auth domain."""
    return [f"{ACCOUNT_OF[n]}@{d.domains.auth}" for n in secret_store.SECRET_NAMES]


def _backup_name() -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{paths.REPLACED_COPIES}/{stamp}/secrets.env"


def new_secrets(stack: Stack) -> str:
    """The new secrets in .jitsi-stack/secrets.env, the old file kept; its copy's path."""
    root = stack.d.root
    backup = _backup_name()
    current = files.read_bytes(root, paths.SECRETS)
    if current is not None:
        files.write_atomic(root, backup, current, 0o600)
    # The six internal passwords, and the JWT and TURN secrets jitsi-stack generated (not
    # ones you set in jitsi-stack.yml): the platform's backend then needs the new JWT one.
    stored = secret_store.read(root)
    names = [*secret_store.SECRET_NAMES, *(n for n in stack.d.generated_secrets if n in stored)]
    fresh = {name: secret_store.generate(name) for name in names}
    secret_store.save(root, fresh)
    return backup
