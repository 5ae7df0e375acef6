"""One setting's description (schema.py and schema_ops.py build the table of them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    # str | int | bool | port | optional_port (0: off) | url | domain | email | list |
    # mapping | choice | path
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    example: str = ""
    upstream: str = ""  # the upstream variable this setting feeds in jitsi-meet/.env
    # Not set anywhere: derived from other settings (settings.derive) instead of `default`;
    # says from what, for docs/settings.md.
    auto: str = ""
