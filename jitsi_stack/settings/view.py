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
    notes = adopted(s)
    return [
        (key, value(key, s[key]), FIELDS[key].upstream, _source(s, key, notes)) for key in FIELDS
    ]


def _source(s: Settings, key: str, notes: dict[tuple[str, str], str]) -> str:
    source = s.sources.get(key, "default")
    note = notes.get((source, key))
    return f"{source}, {note}" if note else source


ADOPTED = "# adopted from "


def adopted(s: Settings) -> dict[tuple[str, str], str]:
    """{(source, setting): "adopted from .env:LINE NAME"}: the comment `inv adopt` wrote
    after a value (ops/adopt.py yaml_text), read back from the settings files."""
    import yaml

    notes: dict[tuple[str, str], str] = {}
    for path in s.files:
        try:
            text = path.read_text("utf-8")
        except OSError:
            continue
        if ADOPTED not in text:
            continue
        lines = text.splitlines()
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            continue
        label = _label(s, path)
        for dotted, line in _key_lines(node, ""):
            at = lines[line].find(ADOPTED) if line < len(lines) else -1
            if at >= 0:
                notes[(f"file:{label}", dotted)] = lines[line][at + 2 :].strip()
    return notes


def _label(s: Settings, path) -> str:
    try:
        return str(path.relative_to(s.root))
    except ValueError:
        return str(path)


def _key_lines(node: Any, prefix: str):
    """(dotted key, 0-based line of its value's end) for every scalar leaf."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        dotted = f"{prefix}{key_node.value}"
        if isinstance(value_node, yaml.MappingNode) and dotted != "env":
            yield from _key_lines(value_node, dotted + ".")
        else:
            yield dotted, value_node.end_mark.line


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
