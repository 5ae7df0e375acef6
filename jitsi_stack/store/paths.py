"""Every file and directory jitsi-stack reads or writes, relative to the project root."""

from __future__ import annotations

from pathlib import PurePosixPath

SETTINGS_FILE = "jitsi-stack.yml"
LOCAL_SETTINGS = "jitsi-stack.local.yml"

COMPOSE_FILE = "docker-compose.yml"
CONFIG_DIR = "jitsi-meet"  # upstream's ${CONFIG}: the containers' config and storage tree
ENV_FILE = f"{CONFIG_DIR}/.env"
CUSTOM_CONFIG = f"{CONFIG_DIR}/web/custom-config.js"
ROOT_ENV = ".env"  # a link to jitsi-meet/.env, so plain `docker compose` finds the values

STATE_DIR = ".jitsi-stack"
SECRETS = f"{STATE_DIR}/secrets.env"
MANIFEST = f"{STATE_DIR}/manifest.json"
STATE = f"{STATE_DIR}/state.json"
LOCK = f"{STATE_DIR}/lock"
# copies of the files that `render --force` or `rotate-secrets` replaced
REPLACED_COPIES = f"{STATE_DIR}/backups"
BACKUP_ARCHIVES = "backups"  # the archives: inv backup, before-update, before-clean, before-restore

PROSODY_DATA = f"{CONFIG_DIR}/storage/prosody"

# Files jitsi-stack generates and `clean` deletes.
GENERATED = (COMPOSE_FILE, ROOT_ENV, ENV_FILE, CUSTOM_CONFIG, MANIFEST)


def top(rel: str) -> str:
    """The first component of a relative path: 'jitsi-meet' for 'jitsi-meet/.env'."""
    return PurePosixPath(rel).parts[0]
