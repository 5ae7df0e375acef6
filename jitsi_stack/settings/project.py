"""The project: where it lives, and its settings loaded and validated once.

`load(root)` is the one entry every task, lint and test uses:
layers (files, environment, state) -> merge -> rules.check (once) -> Settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SettingsError, UsageError

if TYPE_CHECKING:  # imported where used: `root()` is all most imports of this module need
    from . import layers as settings


def root(c=None, environ: Mapping[str, str] | None = None) -> Path:
    """The project folder: --root, else JITSI_STACK_ROOT, else the checkout's folder when
    run as `inv` there (its tasks.py says so), else the current directory. Never the
    package's own location."""
    environ = os.environ if environ is None else environ
    section: Mapping = {}
    if c is not None:
        section = c.config.get("jitsi_stack", {}) or {}
    if section.get("root"):
        return _existing(section["root"], "--root")
    if environ.get("JITSI_STACK_ROOT"):
        return _existing(environ["JITSI_STACK_ROOT"], "JITSI_STACK_ROOT")
    if section.get("default_root"):
        return _existing(section["default_root"], "the project folder")
    return Path.cwd().resolve()


def _existing(value: str, name: str) -> Path:
    path = Path(value).expanduser()
    if "\x00" in value or not path.is_dir():
        raise UsageError(
            f"{name}: {value!r} is not an existing directory: create it or fix the path"
        )
    return path.resolve()


def state_layers(root_dir: Path, merged: dict) -> tuple[list[settings.Layer], list[str]]:
    """What the state adds: the tag `inv update` chose, the addresses `auto` found."""
    from ..store import state

    current = state.read(root_dir)
    layer, notes = _tag_layer(current, merged)
    found = _addresses_layer(current, merged, notes)
    return [x for x in (layer, found) if x], notes


def _addresses_layer(current, merged: dict, notes: list[str]) -> settings.Layer | None:
    """jvb.advertise_ips with `auto` replaced by the stored detection (if it is current)."""
    from . import layers as settings
    from .addresses import wanted

    if not wanted(merged):
        return None
    found = current.addresses
    stun = merged["jvb"].get("stun_server") or ""
    if found is None or found.stun != stun:
        notes.append(
            "jvb.advertise_ips: auto is not detected yet"
            + (" for this jvb.stun_server" if found else "")
            + ": `inv addresses` (or inv start) detects it"
        )
        return None
    listed = merged["jvb"]["advertise_ips"]
    ips: list[str] = []
    for item in listed:
        ips += found.ips if item == "auto" else [item]
    where = f"via {found.stun}" if found.stun else "LAN only"
    origin = f"state:inv addresses ({where}, {found.at})"
    return settings.Layer(origin, {"jvb.advertise_ips": list(dict.fromkeys(ips))})


def _tag_layer(current, merged: dict) -> tuple[settings.Layer | None, list[str]]:
    """The tag `inv update` chose, unless the settings have moved on since."""
    from . import layers as settings

    if current.tag is None:
        return None, []
    configured = merged["images"]["tag"]
    choice = current.tag
    if configured == choice.value:
        return None, []  # the settings caught up with `inv update`
    if configured == choice.over:
        return settings.Layer("state:inv update", {"images.tag": choice.value}), []
    return None, [
        f"images.tag: `inv update` chose {choice.value!r} over {choice.over!r}, but the settings "
        f"now say {configured!r}: using {configured!r}"
    ]


def load(
    root_dir: Path,
    *,
    strict: bool = False,
    environ: Mapping[str, str] | None = None,
    use_state: bool = True,
) -> settings.Settings:
    """Effective, validated settings; SettingsError lists every problem."""
    from . import layers as settings
    from . import rules

    environ = os.environ if environ is None else environ
    root_dir = Path(root_dir).resolve()
    layers = settings.file_layers(root_dir, environ) + settings.env_layers(environ)
    tree, sources = settings.merge(layers)
    asked = tree
    notes: list[str] = []
    if use_state:
        extra, notes = state_layers(root_dir, tree)
        if extra:
            layers += extra
            tree, sources = settings.merge(layers)
    loaded = settings.Settings(
        root=root_dir,
        values=tree,
        sources=sources,
        files=[layer.path for layer in layers if layer.path is not None],
        asked=asked,
    )
    errors, warnings = rules.check(loaded, strict=strict)
    if errors:
        raise SettingsError(errors)
    loaded.warnings = notes + warnings
    return loaded
