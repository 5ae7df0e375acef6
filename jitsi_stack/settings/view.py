"""`inv config`: the effective settings, secrets masked, each with its source."""

from __future__ import annotations

import json
from typing import Any

from ..store.secrets import MASK, is_secret_name
from .layers import Settings
from .schema import FIELDS


def value(key: str, raw: Any) -> Any:
    """The value as shown: typed, secrets masked."""
    if FIELDS[key].secret and raw not in ("", None):
        return MASK
    if key == "env":
        return {k: (MASK if is_secret_name(k) else v) for k, v in raw.items()}
    return raw


def text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (list, dict)):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)


def rows(s: Settings) -> list[tuple[str, Any, str, str]]:
    """(setting, shown value, upstream variable, source) in schema order."""
    return [
        (key, value(key, s[key]), FIELDS[key].upstream, s.sources.get(key, "default"))
        for key in FIELDS
    ]


def as_json(s: Settings) -> str:
    return json.dumps(
        {
            "files": [str(p) for p in s.files],
            "warnings": list(s.warnings),
            "settings": {
                key: {"value": shown, "source": source, "upstream": upstream or None}
                for key, shown, upstream, source in rows(s)
            },
        },
        indent=2,
        ensure_ascii=False,
    )


def show(s: Settings) -> None:
    from .. import ui

    files = ", ".join(str(p) for p in s.files) or "none (defaults only)"
    ui.show(
        ui.table(
            f"settings (files: {files})",
            ["setting", "value", "source"],
            [[key, text(shown), source] for key, shown, _, source in rows(s)],
        )
    )
    for warning in s.warnings:
        ui.warn(warning)
