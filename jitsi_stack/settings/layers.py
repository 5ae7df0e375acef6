"""The settings, layered: defaults < jitsi-stack.yml < profile < local < environment < state.

Named steps, each small: `layers()` reads every source into a Layer, `merge()`
folds them over the defaults remembering where each value came from, and
`project.load()` validates the result once (rules.check). Nothing here touches
Docker or writes files. Reading is strict: a settings file must be a regular,
UTF-8 file of limited size, with no duplicate keys and no YAML aliases.
"""

from __future__ import annotations

import copy
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import SettingsError
from ..store import paths
from ..validators import show, suggest
from .schema import FIELDS, SECTIONS
from .upstream import MANAGED, REMOVED, managed_fix, variables

ENV_PREFIX = "JITSI_STACK_"
# Variables of the tool itself, not settings overrides (see docs/settings.md).
CONTROL_VARS = {"JITSI_STACK_ROOT", "JITSI_STACK_SETTINGS", "JITSI_STACK_PROFILE"}
PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
MAX_SETTINGS_BYTES = 1 << 20  # 1 MiB: a settings file is a page of YAML


@dataclass
class Settings:
    """Validated, effective settings. `values` is nested like the YAML file."""

    root: Path
    values: dict[str, Any]
    sources: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # the files and environment merged, before the state's layers (what the operator asked:
    # `auto` in jvb.advertise_ips before the stored detection replaced it)
    asked: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node


@dataclass(frozen=True)
class Layer:
    """One source of values: its name for `inv config` and its flat dotted values."""

    origin: str  # default | file:<path> | env:<NAME> | state:inv update
    values: Mapping[str, Any]
    path: Path | None = None


# -- strict YAML --------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases (no anchor bombs)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="YAML aliases (*name) are not allowed: write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be text", problem_mark=key_node.start_mark
                ) from None
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {show(key)} (first on line {seen[key] + 1}): "
                    "merge the two into one",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, label: str) -> dict[str, Any]:
    """The mapping in a settings file; SettingsError naming the file for anything else."""
    try:
        st = os.stat(path)  # follows a link: a link to a regular file is fine
    except FileNotFoundError:
        if os.path.islink(path):
            raise SettingsError(
                [f"{label}: is a link to {os.readlink(path)}, which does not exist: fix the link"]
            ) from None
        raise
    except OSError as err:
        if err.errno == 40:  # ELOOP
            raise SettingsError(
                [f"{label}: is a link that loops: replace it with a file"]
            ) from None
        raise SettingsError(
            [f"{label}: cannot read ({err.strerror}): check the path and permissions"]
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise SettingsError([f"{label}: is {kind}: it must be a YAML file"])
    if st.st_size > MAX_SETTINGS_BYTES:
        raise SettingsError(
            [f"{label}: is {st.st_size} bytes, more than the 1 MiB a settings file may have"]
        )
    from ..store.files import NotRegular, read_bounded

    try:  # never blocks: a FIFO swapped in after the stat above is refused, not waited on
        raw = read_bounded(path, limit=MAX_SETTINGS_BYTES, follow=True)
    except NotRegular as refused:
        if "the most" in refused.why:
            raise SettingsError(
                [f"{label}: is more than 1 MiB, the most a settings file may have"]
            ) from None
        raise SettingsError([f"{label}: is not a regular file: it must be a YAML file"]) from None
    except OSError as err:
        raise SettingsError(
            [f"{label}: cannot read ({err.strerror}): check the path and permissions"]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SettingsError(
            [f"{label}: byte {err.start} is not UTF-8: save the file as UTF-8"]
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" line {mark.line + 1}" if mark else ""
        problem = err.problem or "not valid YAML"
        if (
            "aliases" not in problem
            and "duplicate key" not in problem
            and "key must" not in problem
        ):
            problem = f"not valid YAML ({problem}): fix the syntax"
        raise SettingsError([f"{label}:{where}: {problem}"]) from None
    except yaml.YAMLError:
        raise SettingsError([f"{label}: not valid YAML: fix the syntax"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError([f"{label}: the top level must be a mapping of settings (key: value)"])
    return data


# -- layers -------------------------------------------------------------------------


def defaults() -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, spec in FIELDS.items():
        _set(tree, dotted, copy.deepcopy(spec.default))
    return tree


def settings_files(root: Path, environ: Mapping[str, str]) -> list[tuple[str, Path, bool]]:
    """(what, path, required) for each settings file, in precedence order."""
    problems = []
    given = environ.get("JITSI_STACK_SETTINGS", "")
    main = Path(given) if given else root / paths.SETTINGS_FILE
    if not main.is_absolute():
        main = root / main
    files = [("JITSI_STACK_SETTINGS" if given else "settings", main, bool(given))]
    profile = environ.get("JITSI_STACK_PROFILE", "")
    if profile:
        if not PROFILE_RE.match(profile):
            problems.append(
                f"JITSI_STACK_PROFILE: {show(profile)} is not a profile name: use letters, "
                "digits, '-' and '_' (e.g. production)"
            )
        else:
            files.append(
                ("JITSI_STACK_PROFILE", main.with_name(f"{main.stem}.{profile}{main.suffix}"), True)
            )
    files.append(("local", root / paths.LOCAL_SETTINGS, False))
    if problems:
        raise SettingsError(problems)
    return files


def file_layers(root: Path, environ: Mapping[str, str]) -> list[Layer]:
    layers = []
    problems: list[str] = []
    for what, path, required in settings_files(root, environ):
        label = _rel(path, root)
        if not os.path.lexists(path):
            if what == "JITSI_STACK_PROFILE":
                problems.append(
                    f"JITSI_STACK_PROFILE: profile file {path.name} does not exist: create it "
                    "or unset JITSI_STACK_PROFILE"
                )
            elif required:
                problems.append(
                    f"JITSI_STACK_SETTINGS: {path} does not exist: fix the path or unset it"
                )
            continue
        try:
            data = read_yaml(path, label)
        except SettingsError as err:
            problems += err.problems
            continue
        flat, section_problems = flatten(data, label)
        problems += section_problems
        layers.append(Layer(f"file:{label}", flat, path))
    if problems:
        raise SettingsError(problems)
    return layers


def flatten(data: Mapping[str, Any], label: str, prefix: str = "") -> tuple[dict, list[str]]:
    """Nested YAML -> {dotted: value}; a known section given a non-mapping is a problem."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            problems.append(f"{label}: {prefix}{show(key)}: a setting name must be text")
            continue
        dotted = f"{prefix}{key}"
        if dotted in SECTIONS:
            if not isinstance(value, dict):
                problems.append(
                    f"{label}: {dotted}: must be a section of settings (a mapping), not "
                    f"{_type_name(value)}: e.g. {dotted}: {{{_first_child(dotted)}: ...}}"
                )
                continue
            inner, more = flatten(value, label, dotted + ".")
            out.update(inner)
            problems += more
        else:
            out[dotted] = value
    return out, problems


def _first_child(section: str) -> str:
    """The first key inside a section, for the example in a message."""
    first = next(k for k in FIELDS if k.startswith(section + "."))
    return first[len(section) + 1 :].split(".")[0]


def _type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
    }.get(type(value), type(value).__name__)


def env_layers(environ: Mapping[str, str]) -> list[Layer]:
    """One layer per JITSI_STACK_* override (JITSI_STACK_PORTS__HTTP=9443, JITSI_STACK_ENV__X=1)."""
    layers = []
    problems: list[str] = []
    names = [ENV_PREFIX + k.upper().replace(".", "__") for k in FIELDS]
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in CONTROL_VARS:
            continue
        if "\x00" in raw or "\n" in raw or "\r" in raw:
            problems.append(f"environment: {name} contains a line break or NUL: use one line")
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest.startswith("ENV__"):
            layers.append(Layer(f"env:{name}", {"env": {rest[5:]: raw}}))
            continue
        dotted = rest.lower().replace("__", ".")
        if dotted not in FIELDS:
            problems.append(
                f"environment: unknown override {name}{suggest(name, names)}: fix or unset it"
            )
            continue
        if FIELDS[dotted].kind in ("str", "path", "tag", "name", "image", "url", "domain"):
            value: Any = raw
        else:
            try:
                value = yaml.load(raw, Loader=_StrictLoader) if raw.strip() else ""  # noqa: S506
            except yaml.YAMLError:
                value = raw
        layers.append(Layer(f"env:{name}", {dotted: value}))
    if problems:
        raise SettingsError(problems)
    return layers


# -- merge -------------------------------------------------------------------------


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """Fold the layers over the defaults; every unknown key is a problem."""
    tree = defaults()
    sources = dict.fromkeys(FIELDS, "default")
    problems: list[str] = []
    for layer in layers:
        for dotted, value in layer.values.items():
            if dotted not in FIELDS:
                problems.append(unknown_key(dotted, layer.origin))
                continue
            if dotted == "env":
                if not isinstance(value, dict):
                    problems.append(f"{_origin(layer.origin)}: env: must be a mapping NAME: value")
                    continue
                value = {**_get(tree, "env"), **value}  # passthrough variables merge
            _set(tree, dotted, value)
            sources[dotted] = layer.origin
    if problems:
        raise SettingsError(problems)
    derive(tree, sources)
    return tree, sources


def derive(tree: dict[str, Any], sources: dict[str, str]) -> None:
    """Fill the settings no layer set whose schema says `auto` (Field.auto) from the
    others, each with its reason as the source `inv config` shows."""
    for dotted, (value, reason) in _derived(tree).items():
        if sources.get(dotted) == "default":
            _set(tree, dotted, value)
            sources[dotted] = f"auto: {reason}"


def _derived(tree: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """{setting: (value, reason)}: turn.tls follows the site's own certificate, the one
    the bundled TURN server can serve (Let's Encrypt's stays inside the web container);
    an external TURN server serves its own. auth.guests is off where the token decides
    who is moderator: with jicofo's own authentication off (environment.token_roles) an
    anonymous guest could open rooms (rules._auth refuses an explicit true)."""
    derived: dict[str, tuple[Any, str]] = {}
    if _get(tree, "turn.server") == "external":
        derived["turn.tls"] = (True, "turn.server: external serves its own certificate")
    elif _get(tree, "https.certificate.cert"):
        derived["turn.tls"] = (True, "https.certificate is set")
    else:
        derived["turn.tls"] = (False, "no https.certificate")
    if (
        _get(tree, "auth.enabled")
        and _get(tree, "auth.type") == "jwt"
        and _get(tree, "auth.jwt.moderator_from_token")
    ):
        derived["auth.guests"] = (
            False,
            "auth.type jwt with moderator_from_token: only token holders join",
        )
    return derived


def unknown_key(dotted: str, origin: str) -> str:
    where = _origin(origin)
    upper = dotted.upper()
    if upper in REMOVED:
        return f"{where}: {dotted}: {REMOVED[upper]}"
    if upper in MANAGED:
        return f"{where}: {dotted} is an upstream variable, {managed_fix(upper)}"
    if upper in variables():
        return f"{where}: {dotted} is an upstream variable: put it under env: ({upper}: value)"
    return (
        f"{where}: unknown setting {dotted}{suggest(dotted, [*FIELDS, *SECTIONS])}: "
        "fix or remove it"
    )


def _origin(origin: str) -> str:
    return origin.split(":", 1)[1] if origin.startswith(("file:", "env:")) else origin


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[last] = value


def _get(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
