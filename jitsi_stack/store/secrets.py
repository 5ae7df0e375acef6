"""The six internal passwords: generated once, kept in a 0600 file, never printed.

Upstream containers refuse to start without them, and prosody keeps the
accounts it created with the first values, so they must never change behind
the operator's back. They live in .jitsi-stack/secrets.env (git-ignored) and
are reused by every render.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import StackError
from . import files, paths

MASK = "********"
# Passthrough variables whose values are masked in every output.
SECRET_HINTS = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|BINDPW|_KEY$")
LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)=([0-9A-Za-z]{32,128})$")

# The six internal passwords upstream's gen-passwords.sh creates (128-bit hex each).
SECRET_NAMES = (
    "JICOFO_AUTH_PASSWORD",
    "JVB_AUTH_PASSWORD",
    "JIGASI_XMPP_PASSWORD",
    "JIGASI_TRANSCRIBER_PASSWORD",
    "JIBRI_RECORDER_PASSWORD",
    "JIBRI_XMPP_PASSWORD",
)

# Secrets jitsi-stack generates when the operator gives none, only when the feature is on:
# the JWT app secret (auth.jwt.app_secret), the TURN shared secret (turn.secret) and
# Grafana's admin password (metrics.enabled).
GENERATED_SECRETS = ("JWT_APP_SECRET", "TURN_CREDENTIALS", "GRAFANA_ADMIN_PASSWORD")
STORED_SECRETS = SECRET_NAMES + GENERATED_SECRETS

RESTORE = "restore the file from a backup (prosody keeps the accounts made with the old passwords)"


def generate(name: str = "") -> str:
    """An internal password: 128 bits from the OS CSPRNG, as 32 hex characters (like
    upstream's openssl rand -hex 16). The JWT and TURN secrets: 256 bits as 43 letters and
    digits (safe in prosody's Lua strings, never read as false by upstream's toBool)."""
    import secrets as _random  # imported here: reading the secrets needs no CSPRNG

    if name in GENERATED_SECRETS:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        while True:
            value = "".join(_random.choice(alphabet) for _ in range(43))
            if not value.isdigit():
                return value
    return _random.token_hex(16)


def read(root: Path) -> dict[str, str]:
    """The stored secrets; {} when the file does not exist yet."""
    data = files.read_bytes(Path(root), paths.SECRETS)
    if data is None:
        return {}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise StackError(f"{paths.SECRETS}: is not text (damaged): {RESTORE}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = LINE.match(line.strip())
        if not match or match.group(1) not in STORED_SECRETS:
            raise StackError(f"{paths.SECRETS}:{number}: not NAME=<hex>: {RESTORE}")
        if match.group(1) in values:
            raise StackError(f"{paths.SECRETS}:{number}: {match.group(1)} appears twice: {RESTORE}")
        values[match.group(1)] = match.group(2)
    return values


def complete(
    stored: dict[str, str], needed: tuple[str, ...] = ()
) -> tuple[dict[str, str], list[str]]:
    """The six internal passwords and the generated secrets the deployment needs,
    generating the missing ones. Returns (secrets, names generated now)."""
    values = dict(stored)
    missing = [name for name in (*SECRET_NAMES, *needed) if name not in values]
    for name in missing:
        values[name] = generate(name)
    return values, missing


def save(root: Path, values: dict[str, str]) -> None:
    body = "# jitsi-stack internal passwords: generated once, keep this file private (0600).\n"
    body += "".join(f"{name}={values[name]}\n" for name in STORED_SECRETS if name in values)
    files.write_atomic(Path(root), paths.SECRETS, body, mode=0o600)


ASSIGNMENT = re.compile(r"^([+\- ]?\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=).*$", re.M)


def mask(text: str, hidden: Iterable[str]) -> str:
    """Replace every known secret value, and the value of any NAME=value line whose name
    looks secret (a hand-made .env has passwords jitsi-stack never generated)."""
    for value in sorted({v for v in hidden if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return ASSIGNMENT.sub(
        lambda m: f"{m.group(1)}{MASK}" if is_secret_name(m.group(2)) else m.group(0), text
    )


def is_secret_name(name: str) -> bool:
    return name in STORED_SECRETS or bool(SECRET_HINTS.search(name))
