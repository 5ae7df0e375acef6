"""Where the project lives, its recorded state, and loading its settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import settings as settings_mod
from .files import write_atomic

STATE = Path(".jitsi-stack") / "state.json"
REPO_ROOT = Path(__file__).resolve().parent.parent


def root() -> Path:
    """JITSI_STACK_ROOT, else the directory holding tasks.py."""
    return Path(os.environ.get("JITSI_STACK_ROOT") or REPO_ROOT).resolve()


def read_state(base: Path) -> dict:
    file = base / STATE
    if not file.exists():
        return {}
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        return {}


def write_state(base: Path, state: dict) -> None:
    file = base / STATE
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(file, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o600)


def load(
    base: Path | None = None, *, strict: bool = False, use_state: bool = True
) -> settings_mod.Settings:
    base = base or root()
    loaded = settings_mod.load(base, state=read_state(base) if use_state else None)
    if strict:
        from . import rules

        errors, warnings = rules.check(loaded, strict=True)
        loaded.warnings = warnings
        if errors:
            raise settings_mod.SettingsError(errors)
    return loaded
