"""Which paths an archive may hold, and the mode and owner each comes back with.

The one place restore takes modes and owners from (never from the archive); backup.py
writes only what these rules accept, restore.py refuses the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..deployment.facts import Certificate
from ..render import CONTAINER_UID, NOBODY, OUTPUTS
from ..store import devca, paths

STORAGE = f"{paths.CONFIG_DIR}/storage"
# the development CA (frontend.dev_https) is kept with the secrets: browsers trust its key,
# so a restored project serves a certificate they already trust (`inv backup` says so)
STATE_FILES = (paths.SECRETS, paths.STATE, paths.MANIFEST, *devca.FILES)
SMALL_FILE = 8 << 20  # settings, secrets, state, generated and named files: at most this
KINDS = {  # kind -> file name prefix (the name says what the archive holds)
    "backup": "jitsi-stack-backup",
    "before-update": "jitsi-stack-before-update",
    "before-clean": "jitsi-stack-before-clean",
    "before-restore": "jitsi-stack-before-restore",
}


# -- which paths an archive may hold, and how each comes back ---------------------------


@dataclass(frozen=True)
class Rule:
    """What the tool decides for a path it restores: kind, mode, owner, size limit."""

    what: str  # shown in errors: "settings file", "prosody's storage", ...
    kind: str  # "file" or "dir"
    mode: int
    owner: int | None = None  # None: the owner of the project folder
    limit: int | None = SMALL_FILE  # bytes; None: only free space bounds it


SETTINGS_NAME = re.compile(r"jitsi-stack(\.[A-Za-z0-9_-]+)?\.ya?ml")
_COPIES = Certificate(cert=PurePosixPath(), key=PurePosixPath())  # type: ignore[arg-type]
GENERATED = {  # as render writes them (render.OUTPUTS, render._certificates): mode, owner
    **{path: (mode, None) for path, mode, _ in OUTPUTS},
    _COPIES.web_cert: (0o644, CONTAINER_UID),
    _COPIES.web_key: (0o600, CONTAINER_UID),
    _COPIES.turn_cert: (0o644, NOBODY),
    _COPIES.turn_key: (0o400, NOBODY),
}
NAMED = {  # settings keys that name a file the backup carries: rule of that file
    "compose.extra_files": (0o644, "compose file (compose.extra_files)"),
    "frontend.env_file": (0o644, "frontend file (frontend.env_file)"),
    "https.certificate.cert": (0o644, "certificate (https.certificate.cert)"),
    "https.certificate.key": (0o600, "certificate key (https.certificate.key)"),
}
NOT_NAMED = (paths.STATE_DIR, paths.BACKUP_ARCHIVES, STORAGE)  # a named file never comes back there


def _ours(name: str) -> bool:
    """Under jitsi-stack's own state, its archives or the containers' storage."""
    return any(name == top or name.startswith(f"{top}/") for top in NOT_NAMED)


# The containers' storage belongs to uid 1000: docker-jitsi-meet stable-11146-2 (738058b4)
# base/Dockerfile:56 `adduser ... s6` (the image's first user: Debian's uid 1000) and :72
# `USER s6`; prosody/Dockerfile:75 `chown s6:s6 /var/lib/prosody` and :85 `USER s6`;
# docker-compose.yml:216 mounts ${CONFIG}/storage/prosody on /var/lib/prosody;
# prosody/rootfs/etc/s6-overlay/scripts/config:14-21 stops the container when that folder is
# not writable by "the container user (uid 1000)". So 0600 files and 0750 folders owned by
# 1000 are all prosody needs, and nobody else on the host reads the account hashes.
def _container_modes() -> tuple[int, int]:
    """(dir, file) modes in the containers' storage: the containers' uid 1000 owns them when
    we are root (or 1000); otherwise upstream's recipe (world-writable folders) applies and
    the files stay readable by uid 1000."""
    if os.geteuid() in (0, CONTAINER_UID):
        return 0o750, 0o600
    return 0o777, 0o644


def rule(name: str, kind: str, named: Mapping[str, str], generated: frozenset[str]) -> Rule | None:
    """The rule for `name` in an archive, or None when `inv backup` never writes it.
    named: the in-project paths the archive's settings name (path -> settings key);
    generated: the outputs the archive's render record lists."""
    parts = PurePosixPath(name).parts
    if kind == "dir":
        copies = paths.REPLACED_COPIES
        if name in (paths.STATE_DIR, copies, devca.DIR) or name.startswith(f"{copies}/"):
            return Rule("jitsi-stack's state folder", "dir", 0o700)
        if name == paths.CONFIG_DIR or (
            name.startswith(f"{paths.CONFIG_DIR}/") and not name.startswith(f"{STORAGE}/")
            and any(g.startswith(f"{name}/") for g in generated)
        ):  # fmt: skip
            return Rule("folder of generated files", "dir", 0o755)
        if name == STORAGE:
            return Rule("the containers' storage", "dir", 0o755, CONTAINER_UID)
        if name.startswith(f"{STORAGE}/"):
            return Rule("the containers' storage", "dir", _container_modes()[0], CONTAINER_UID)
        if not _ours(name) and any(n.startswith(f"{name}/") for n in named):
            return Rule("folder of a file the settings name", "dir", 0o755)
        return None
    if name in STATE_FILES:
        return Rule("jitsi-stack's state", "file", 0o600)
    if name.startswith(f"{paths.REPLACED_COPIES}/"):
        return Rule("copy kept by render --force or rotate-secrets", "file", 0o600)
    if name.startswith(f"{STORAGE}/"):
        return Rule("the containers' storage", "file", _container_modes()[1], CONTAINER_UID, None)
    if name in generated and (name == paths.COMPOSE_FILE or parts[0] == paths.CONFIG_DIR):
        mode, owner = GENERATED.get(name, (0o644, None))
        return Rule("generated file", "file", mode, owner)
    if len(parts) == 1 and SETTINGS_NAME.fullmatch(name):
        return Rule("settings file", "file", 0o600)  # settings may hold turn.secret
    if name in named and not _ours(name) and name not in GENERATED:
        mode, what = NAMED[named[name]]
        return Rule(what, "file", mode)
    return None


def named_files(settings_texts: Mapping[str, bytes]) -> dict[str, str]:
    """The in-project paths the settings files name (path -> settings key), read as plain
    YAML (the archive's settings are not validated here: only their file names are used)."""
    import yaml

    found: dict[str, str] = {}
    for label, text in settings_texts.items():
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, RecursionError):
            raise ValueError(f"{label}: is not valid YAML") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ValueError(f"{label}: is not a mapping of settings")
        for key in NAMED:
            for value in _values(data, key):
                pure = PurePosixPath(value)
                if value and not pure.is_absolute() and ".." not in pure.parts:
                    found[pure.as_posix()] = key
    return found


def _values(data: dict, dotted: str) -> list[str]:
    node: object = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        node = data.get(dotted)  # a flat key ("compose.extra_files": [...])
    items = node if isinstance(node, list) else [node]
    return [v for v in items if isinstance(v, str)]
