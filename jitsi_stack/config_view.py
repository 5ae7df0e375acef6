"""`inv config`: the effective settings, secrets masked, each with its source."""

from __future__ import annotations

import json

from . import ui
from .schema import FIELDS
from .secrets import MASK, is_secret_name
from .settings import Settings


def _show(key: str, value) -> str:
    if FIELDS[key].secret and value:
        return MASK
    if key == "env":
        value = {k: (MASK if is_secret_name(k) else v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def rows(s: Settings) -> list[tuple[str, str, str]]:
    return [(key, _show(key, s[key]), s.sources.get(key, "default")) for key in FIELDS]


def show(s: Settings, as_json: bool = False) -> None:
    data = rows(s)
    if as_json:
        ui.plain(
            json.dumps(
                {key: {"value": value, "source": source} for key, value, source in data}, indent=2
            )
        )
        return
    files = ", ".join(str(p) for p in s.files) or "none (defaults only)"
    ui.out.print(
        ui.table(
            f"settings (files: {files})", ["setting", "value", "source"], [list(r) for r in data]
        )
    )
    for warning in s.warnings:
        ui.warn(warning)
