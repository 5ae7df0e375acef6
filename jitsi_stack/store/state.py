"""What jitsi-stack remembers between runs: .jitsi-stack/state.json.

- `tag`: the image tag `inv update` chose, and the configured tag it overrides;
- `previous`: the tag and image ids before the last update (for --rollback);
- `history`: the last 20 updates; `last_failed`: the last update that was rolled back;
- `pending`: an update that started and has not finished (set before anything changes);
- `applied`: what the last successful start brought up (its inputs and each service's
  Compose config hash), so a start with nothing to change need not ask Compose.

The file is validated on every read. A damaged file is never ignored: losing the
update choice would silently switch a running stack back to another release.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StackError
from ..validators import TAG_RE
from . import files, paths

RECOVERY = (
    "restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update "
    "history (the tag in jitsi-stack.yml is then used)"
)


@dataclass
class TagChoice:
    value: str  # the tag chosen by `inv update`
    over: str  # the configured tag it replaced


@dataclass(frozen=True)
class Detected:
    """What `jvb.advertise_ips: auto` found (addresses.detect)."""

    lan: tuple[str, ...]
    public: tuple[str, ...]
    stun: str  # the STUN server asked; "" when none is set (then only the LAN address)
    at: str  # ISO time of the detection

    @property
    def ips(self) -> list[str]:
        """Public first (what remote browsers need), then LAN (agents on the LAN)."""
        return list(dict.fromkeys([*self.public, *self.lan]))

    def to_json(self) -> dict:
        return {
            "lan": list(self.lan),
            "public": list(self.public),
            "stun": self.stun,
            "at": self.at,
        }

    @classmethod
    def from_json(cls, data: dict) -> Detected:
        for key in ("lan", "public"):
            values = data.get(key)
            if not isinstance(values, list) or not all(_is_ip(v) for v in values):
                raise ValueError(f"'addresses.{key}' must be a list of IP addresses")
        if not isinstance(data.get("stun"), str) or not isinstance(data.get("at"), str):
            raise ValueError("'addresses.stun' and 'addresses.at' must be text")
        return cls(tuple(data["lan"]), tuple(data["public"]), data["stun"], data["at"])


def _is_ip(value) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return isinstance(value, str)


@dataclass
class State:
    tag: TagChoice | None = None
    previous: dict[str, Any] = field(default_factory=dict)  # {tag, images, at}
    history: list[dict[str, str]] = field(default_factory=list)
    last_failed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # {from, to, at}
    applied: dict[str, Any] = field(default_factory=dict)  # {inputs, services: {name: hash}}
    addresses: Detected | None = None  # what jvb.advertise_ips: auto found

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        if self.tag:
            data["overrides"] = {"images.tag": asdict(self.tag)}
        for key in ("previous", "history", "last_failed", "pending", "applied"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.addresses is not None:
            data["addresses"] = self.addresses.to_json()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _bad(why: str) -> StackError:
    return StackError(f"{paths.STATE}: {why}: {RECOVERY}")


def _tag(value: Any, where: str) -> str:
    if not isinstance(value, str) or not TAG_RE.match(value):
        raise _bad(f"{where} is not an image tag")
    return value


def parse(text: str) -> State:
    try:
        data = json.loads(text)
    except ValueError:
        raise _bad("is not valid JSON (truncated or edited)") from None
    if not isinstance(data, dict):
        raise _bad("must hold a JSON object")
    known = {"overrides", "previous", "history", "last_failed", "pending", "applied", "addresses"}
    unknown = set(data) - known
    if unknown:
        raise _bad(f"unknown entry {sorted(unknown)[0]!r}")
    state = State()
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict) or set(overrides) - {"images.tag"}:
        raise _bad("'overrides' must be an object with at most images.tag")
    if "images.tag" in overrides:
        entry = overrides["images.tag"]
        if not isinstance(entry, dict):
            raise _bad("'overrides.images.tag' must be an object {value, over}")
        state.tag = TagChoice(
            _tag(entry.get("value"), "overrides.images.tag.value"),
            _tag(entry.get("over"), "overrides.images.tag.over"),
        )
    for key in ("previous", "last_failed", "pending", "applied"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise _bad(f"'{key}' must be an object")
        if "tag" in value:
            _tag(value["tag"], f"{key}.tag")
        setattr(state, key, value)
    if state.previous and not isinstance(state.previous.get("images", {}), dict):
        raise _bad("'previous.images' must be an object")
    if state.applied and not (
        isinstance(state.applied.get("inputs"), str)
        and isinstance(state.applied.get("services"), dict)
    ):
        raise _bad("'applied' must be {inputs, services}")
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise _bad("'history' must be a list of objects")
    state.history = history
    if "addresses" in data:
        if not isinstance(data["addresses"], dict):
            raise _bad("'addresses' must be an object")
        try:
            state.addresses = Detected.from_json(data["addresses"])
        except ValueError as err:
            raise _bad(str(err)) from None
    return state


def read(root: Path) -> State:
    """The recorded state; State() when there is none yet."""
    text = files.read_text(Path(root), paths.STATE)
    return State() if text is None else parse(text)


def write(root: Path, state: State) -> None:
    files.write_atomic(Path(root), paths.STATE, state.to_json(), mode=0o600)
