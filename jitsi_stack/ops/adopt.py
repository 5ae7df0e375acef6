"""`inv adopt PATH/TO/.env`: take over a running docker-jitsi-meet deployment.

Three steps, the first two read-only:

1. `plan()` reads the .env as Compose reads it (ops/compose_env.py) and maps every line:
   a setting through the schema's own fact (`Field.upstream`, the upstream variable each
   setting feeds), the six internal passwords and the JWT/TURN secrets to
   .jitsi-stack/secrets.env, an upstream variable without a setting to `env:`, a removed
   or derived one to its replacement; nothing is dropped without a row saying why. The
   result is checked by the same rules as every render (settings/rules), and each problem
   is reported against its .env line.
2. `check()` refuses, one line each and before anything is written, what would lose data
   or clash: a settings file already there (without --force), old containers still
   running, a CONFIG folder that is a link, on another filesystem, or where the new tree
   already is.
3. `apply()` moves CONFIG to ./jitsi-meet with one rename (atomic: same filesystem), then
   writes secrets.env (0600) and jitsi-stack.yml atomically (store/files.py), and puts the
   old deployment's own files that the first render would call hand edits
   (custom-config.js, a `.env`/`docker-compose.yml` in the project) under
   .jitsi-stack/backups/adopt-<time>/.

Layouts compared: docker-jitsi-meet 738058b4 (stable-11146-2) docker-compose.yml mounts
${CONFIG}/web, storage/web, storage/transcripts, tmp/web-load-test (web, lines 14-17),
prosody/config, prosody/prosody-plugins-custom, storage/prosody (prosody, 214-216),
jicofo (369), jvb (471); jibri.yml ${CONFIG}/jibri and storage/jibri (10-11); jigasi.yml
jigasi (13); transcriber.yml transcriber and storage/transcripts (10-11).
templates/docker-compose.yml.j2 mounts the same sub-paths under ./jitsi-meet, so the whole
CONFIG tree moves as one and prosody's accounts, Let's Encrypt's account and certificates
(web/), recordings and transcripts are read where they were.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..deployment.dotenv import tpl_bool
from ..errors import SettingsError, StackError, UsageError
from ..settings import layers
from ..settings import rules as settings_rules
from ..settings.schema import FIELDS
from ..settings.upstream import DERIVED, LUA_STRING_VARS, RELEASE, REMOVED, variables
from ..store import files, paths
from ..store import secrets as store
from . import compose_env

# The schema's own fact, reversed: upstream variable -> setting (no second table).
BY_VARIABLE: dict[str, str] = {f.upstream: key for key, f in FIELDS.items() if f.upstream}
# Settings whose upstream variable says the opposite (DISABLE_HTTPS = not https.enabled).
NEGATED = {"https.enabled"}
HIDDEN = store.MASK
# What a secret may hold to be carried: the form .jitsi-stack/secrets.env keeps
# (store/secrets.py LINE), which is what gen-passwords.sh writes (openssl rand -hex 16).
STORABLE = store.LINE


@dataclass(frozen=True)
class Row:
    variable: str
    line: int  # 0: not in the file (a default of docker-jitsi-meet that differs from ours)
    value: str  # as shown: secrets are ********
    target: str  # a setting, env.NAME, .jitsi-stack/secrets.env, ./jitsi-meet, "-"
    why: str


@dataclass
class Plan:
    env_file: Path
    label: str  # how messages name the file: .env
    rows: list[Row] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # dotted -> value
    origin: dict[str, str] = field(default_factory=dict)  # dotted -> ".env:LINE NAME"
    secrets: dict[str, str] = field(default_factory=dict)
    config: Path | None = None  # the old CONFIG folder
    config_line: int = 0
    project: str = ""  # the old Compose project name
    warnings: list[str] = field(default_factory=list)
    loaded: layers.Settings | None = None  # the adopted settings, checked by the rules

    def as_json(self) -> str:
        return json.dumps(
            {
                "env_file": str(self.env_file),
                "config": str(self.config) if self.config else None,
                "rows": [
                    {
                        "variable": r.variable,
                        "line": r.line or None,
                        "value": r.value,
                        "target": r.target,
                        "why": r.why,
                    }
                    for r in self.rows
                ],
                "warnings": self.warnings,
            },
            indent=2,
            ensure_ascii=False,
        )


# -- 1. the plan -------------------------------------------------------------------


def read_env_file(path: Path) -> tuple[compose_env.Dotenv, str]:
    label = path.name
    try:
        raw = files.read_bounded(path, limit=compose_env.MAX_BYTES + 1, follow=True)
    except files.NotRegular as refused:
        if "the most" in refused.why:
            raise UsageError(
                f"{label}: is more than the 1 MiB a .env file may have here: give "
                "docker-jitsi-meet's .env"
            ) from None
        raise UsageError(f"{label}: {refused.why}: give docker-jitsi-meet's .env file") from None
    except FileNotFoundError:
        raise UsageError(
            f"{path}: does not exist: give the path of docker-jitsi-meet's .env"
        ) from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror}): check the path") from None
    return compose_env.read(raw, label), label


def plan(env_file: Path, root: Path, config: str = "") -> Plan:
    """Every line of env_file mapped; UsageError/SettingsError (one line per problem)."""
    dotenv, label = read_env_file(env_file)
    p = Plan(env_file=env_file, label=label, warnings=list(dotenv.warnings))
    last = dotenv.last()
    values = {name: e.value for name, e in last.items()}
    problems: list[str] = []
    upstream = variables()

    def where(name: str) -> str:
        return f"{label}:{last[name].line}" if name in last else label

    def put(key: str, value: Any, name: str, why: str) -> None:
        p.settings[key] = value
        line = last[name].line if name in last else 0
        p.origin[key] = f"{label}:{line} {name}" if line else f"-{why}"
        shown = HIDDEN if _secret(key, name) and value not in ("", None) else _show(value)
        p.rows.append(Row(name, line, shown, key, why))

    for entry in dotenv.entries:
        name, value = entry.name, entry.value
        if last[name] is not entry:
            # Compose takes the last line; a file that says two things is refused, so the
            # operator picks (the reader's warning says the same)
            problems.append(
                f"{label}:{last[name].line}: {name} is set again (first on line {entry.line}): "
                "Compose uses the last one; delete the line you do not mean"
            )
            continue
        shown = _mask(name, value)
        if name in store.SECRET_NAMES:
            _internal(p, entry, problems, label)
        elif name == "CONFIG":
            p.config_line = entry.line
            p.rows.append(
                Row(name, entry.line, value, paths.CONFIG_DIR, "the data folder: moved as one")
            )
        elif name == "COMPOSE_PROJECT_NAME":
            p.project = value
            p.rows.append(
                Row(name, entry.line, value, "-", "the old project: its containers must be stopped")
            )
        elif name in BY_VARIABLE:
            key = BY_VARIABLE[name]
            if value == "":
                p.rows.append(Row(name, entry.line, "", "-", f"empty: {key} keeps its default"))
                continue
            converted = _convert(key, name, value, where(name), problems)
            if converted is None:
                continue
            # the JWT secret goes where jitsi-stack keeps the one it generates; the TURN
            # secret of an external server (all docker-jitsi-meet knows) is a setting the
            # rules require (settings/rules/media.py turn)
            if name == "JWT_APP_SECRET" and STORABLE.match(f"{name}={value}"):
                p.secrets[name] = value
                p.rows.append(Row(name, entry.line, HIDDEN, paths.SECRETS, f"the secret of {key}"))
                continue
            put(key, converted, name, "its setting")
        elif name in REMOVED:
            if name == "DOCKER_HOST_ADDRESS" and not values.get("JVB_ADVERTISE_IPS") and value:
                # upstream's own migration: jvb/rootfs/etc/s6-overlay/scripts/config:14-18
                # (738058b4) takes DOCKER_HOST_ADDRESS when JVB_ADVERTISE_IPS is empty
                put("jvb.advertise_ips", _split(value), name, "replaces it (as upstream's jvb)")
            else:
                p.rows.append(Row(name, entry.line, shown, "-", f"not carried: {REMOVED[name]}"))
        elif name in DERIVED:
            _derived(p, entry, values, put, problems, where)
        elif name in upstream:
            if value == "":
                p.rows.append(Row(name, entry.line, "", "-", "empty: upstream's default applies"))
                continue
            p.settings.setdefault("env", {})[name] = value
            p.origin[f"env.{name}"] = f"{label}:{entry.line} {name}"
            p.rows.append(Row(name, entry.line, shown, f"env.{name}", "passed through"))
        else:
            p.rows.append(
                Row(
                    name,
                    entry.line,
                    shown,
                    "-",
                    f"not carried: no docker-jitsi-meet service reads it at {RELEASE}",
                )
            )
    _implied(p, values, put)
    _upstream_defaults(p, values, put)
    _config(p, values, env_file, config, problems)
    custom_config(p)
    if not problems:
        problems = _rule_problems(p, root)
    if problems:
        raise SettingsError([_no_secret(problem, values) for problem in problems])
    return p


def destination(name: str) -> tuple[str, str]:
    """Where plan() puts a variable that has a value, and why, decided in plan()'s order:
    the table of docs/adopt-variables.md (tools/gen_adopt_doc.py)."""
    if name in store.SECRET_NAMES:
        return (
            paths.SECRETS,
            "kept exactly (prosody's account uses it); refused unless 32-128 letters and digits",
        )
    if name == "CONFIG":
        return paths.CONFIG_DIR, "the data folder, moved with one rename (or refused)"
    if name == "COMPOSE_PROJECT_NAME":
        return "-", "names the old containers, which must be stopped first"
    if name in BY_VARIABLE:
        key = BY_VARIABLE[name]
        if name == "JWT_APP_SECRET":
            return (
                f"{paths.SECRETS} or {key}",
                "secrets.env when it holds 32-128 letters and digits",
            )
        why = "its setting" + (" (negated)" if key in NEGATED else "")
        implied = {
            "ENABLE_RECORDING": "; also services.jibri",
            "ENABLE_TRANSCRIPTIONS": "; also services.transcriber",
            "JIGASI_SIP_URI": "; also services.jigasi",
            "AUTH_TYPE": "; jwt also sets auth.jwt.moderator_from_token: false",
        }
        return key, why + implied.get(name, "")
    if name in REMOVED:
        if name == "DOCKER_HOST_ADDRESS":
            return "jvb.advertise_ips", "when JVB_ADVERTISE_IPS is empty, as upstream's jvb does"
        return "-", f"not carried: {REMOVED[name]}"
    if name in DERIVED:
        target = DERIVED[name]
        if name in ("TURN_HOST", "TURNS_HOST", "STUN_HOST"):
            return "turn.host", "with turn.enabled and turn.server: external"
        if target in FIELDS and FIELDS[target].kind == "bool":
            return target, f"true when set: jitsi-stack derives {name} from it"
        return "-", f"derived by jitsi-stack {target}"
    if name in variables():
        return f"env.{name}", "passed through"
    return "-", f"not carried: no docker-jitsi-meet service reads it at {RELEASE}"


def _internal(p: Plan, entry: compose_env.Entry, problems: list[str], label: str) -> None:
    name, value = entry.name, entry.value
    if value == "":
        p.rows.append(
            Row(name, entry.line, "", paths.SECRETS, "empty: generated at the first render")
        )
        return
    if STORABLE.match(f"{name}={value}"):
        p.secrets[name] = value
        p.rows.append(
            Row(name, entry.line, HIDDEN, paths.SECRETS, "kept: prosody's account uses it")
        )
        return
    problems.append(
        f"{label}:{entry.line}: {name}: is not 32-128 letters and digits (what "
        f"gen-passwords.sh writes), the form {paths.SECRETS} keeps: delete the line, adopt, "
        "then run `inv rotate-secrets --yes` (prosody's internal accounts are made anew)"
    )


def _derived(p, entry, values, put, problems, where) -> None:
    """A name jitsi-stack derives: carried into the setting it derives from, when there
    is one (services.etherpad, turn.host), else listed with where it comes from now."""
    name, value = entry.name, entry.value
    target = DERIVED[name]
    if name in ("TURN_HOST", "TURNS_HOST", "STUN_HOST"):
        if not value:
            p.rows.append(Row(name, entry.line, "", "-", "empty: no TURN server"))
            return
        first = next((n for n in ("TURN_HOST", "TURNS_HOST", "STUN_HOST") if values.get(n)), name)
        if first != name:
            if values[first] != value:
                problems.append(
                    f"{where(name)}: {name}: differs from {first}: jitsi-stack gives clients one "
                    "TURN name (turn.host): make them equal"
                )
            else:
                p.rows.append(Row(name, entry.line, value, "turn.host", f"same as {first}"))
            return
        # docker-jitsi-meet has no TURN server of its own: one named here is external
        put("turn.enabled", True, name, "a TURN server is named")
        put("turn.server", "external", name, "docker-jitsi-meet runs no TURN server")
        put("turn.host", value, name, "its setting")
        return
    if target in FIELDS and FIELDS[target].kind == "bool":
        if value:
            put(target, True, name, f"set: jitsi-stack derives {name} from it")
        else:
            p.rows.append(Row(name, entry.line, "", "-", f"empty: {target} stays off"))
        return
    p.rows.append(
        Row(name, entry.line, _mask(name, value), "-", f"derived by jitsi-stack {target}")
    )


def _implied(p: Plan, values: dict[str, str], put) -> None:
    """Services upstream runs from its extra compose files, implied by the features: prosody
    creates the recorder's and transcriber's accounts only with these flags on (the rules
    of settings/rules `_features`)."""
    if p.settings.get("features.recording"):
        put("services.jibri", True, "ENABLE_RECORDING", "recording runs jibri (jibri.yml)")
    if p.settings.get("features.transcriptions"):
        put(
            "services.transcriber",
            True,
            "ENABLE_TRANSCRIPTIONS",
            "transcriptions run the transcriber (transcriber.yml)",
        )
    if p.settings.get("auth.type") == "jwt":
        # docker-jitsi-meet's JWT: jicofo's own authentication makes every token holder a
        # moderator; auth.jwt.moderator_from_token: false is that behaviour (schema)
        put(
            "auth.jwt.moderator_from_token",
            False,
            "AUTH_TYPE",
            "upstream's JWT: every token holder is moderator",
        )
        p.warnings.append(
            "auth.jwt.moderator_from_token: false keeps docker-jitsi-meet's roles: every "
            "token holder, customers too, is moderator; set it to true so the token's "
            "moderator claim decides (docs/tokens.md)"
        )
    if values.get("JIGASI_SIP_URI"):
        put("services.jigasi", True, "JIGASI_SIP_URI", "a SIP account runs jigasi (jigasi.yml)")


def _upstream_defaults(p: Plan, values: dict[str, str], put) -> None:
    """A variable the file leaves out gets docker-jitsi-meet's default, not ours, where the
    two differ (data/upstream_vars.json's defaults): HTTPS on unless DISABLE_HTTPS, no
    guests with authentication unless ENABLE_GUESTS, TURN on port 443 over TCP. Only plain
    defaults (one `value`), only in the sections in use."""
    for key, spec in FIELDS.items():
        name = spec.upstream
        if not name or name in values or key in p.settings:
            continue
        if spec.kind not in ("bool", "port", "int", "list"):
            continue
        section = key.split(".")[0]
        if section in ("auth", "turn", "metrics") and not p.settings.get(f"{section}.enabled"):
            continue
        default = variables()[name].default
        if not (default.startswith("`") and default.endswith("`") and default.count("`") == 2):
            continue
        token = default.strip("`")
        problems: list[str] = []
        theirs = _convert(key, name, token, name, problems)
        if problems or theirs is None or theirs == spec.default:
            continue
        put(key, theirs, name, f"not in the file: docker-jitsi-meet's default {name}={token}")


def _convert(key: str, name: str, value: str, where: str, problems: list[str]) -> Any:
    spec = FIELDS[key]
    if spec.kind == "bool":
        on = tpl_bool(value, False)
        return not on if key in NEGATED else on
    if spec.kind in ("port", "int", "optional_port"):
        if not value.isdigit():
            problems.append(f"{where}: {name}: {value!r} is not a number: e.g. {spec.default}")
            return None
        return int(value)
    if spec.kind in ("list", "ip_list"):
        return _split(value)
    return value


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _config(p: Plan, values: dict[str, str], env_file: Path, given: str, problems) -> None:
    """The old CONFIG folder, as Compose resolves a bind source: `~` is the home folder, a
    relative path is relative to the project folder (the .env's)."""
    raw = given or values.get("CONFIG", "")
    if not raw:
        problems.append(
            f"{p.label}: CONFIG is not set: give the data folder with --config DIR "
            "(upstream's env.example uses ~/.jitsi-meet-cfg)"
        )
        return
    if raw.startswith("~"):  # compose-go paths/home.go:27-37 ExpandUser: home joined with the rest
        raw_path = os.path.join(os.path.expanduser("~"), raw[1:].lstrip("/"))
    else:
        raw_path = raw
    path = Path(raw_path)
    if not path.is_absolute():
        path = (Path.cwd() if given else env_file.parent) / path
    label = "--config" if given else f"{p.label}:{p.config_line}: CONFIG"
    if os.path.islink(path):
        problems.append(
            f"{label}: {raw} is a link to {os.readlink(path)}: give the folder itself with "
            f"--config {os.path.realpath(path)}"
        )
        return
    try:
        st = os.lstat(path)
    except OSError:
        problems.append(f"{label}: {raw} does not exist: give the data folder with --config DIR")
        return
    if not stat.S_ISDIR(st.st_mode):
        problems.append(f"{label}: {raw} is not a folder: give the data folder with --config DIR")
        return
    p.config = Path(os.path.abspath(path))


def _rule_problems(p: Plan, root: Path) -> list[str]:
    """The rules every render runs, on the adopted settings; each problem on its line."""
    try:
        # what the next load will see: the adopted file, then jitsi-stack.local.yml and
        # JITSI_STACK_* as always (settings/layers.py), so the names checked are the ones
        # that will run
        stack = [layers.Layer("file:adopt", _flat(p.settings))]
        local = Path(root) / paths.LOCAL_SETTINGS
        if local.exists():
            flat, problems = layers.flatten(
                layers.read_yaml(local, paths.LOCAL_SETTINGS), paths.LOCAL_SETTINGS
            )
            if problems:
                return problems
            stack.append(layers.Layer(f"file:{paths.LOCAL_SETTINGS}", flat, local))
        stack += layers.env_layers(os.environ)
        tree, sources = layers.merge(stack)
    except SettingsError as err:
        return err.problems
    s = layers.Settings(Path(root), tree, sources)
    errors, warnings = settings_rules.check(s)
    p.warnings += warnings
    p.loaded = s
    out = []
    for problem in errors:
        key = problem.split(":", 1)[0]
        origin = p.origin.get(key)
        if origin is None:  # set by jitsi-stack.local.yml or JITSI_STACK_*: named already
            out.append(problem)
            continue
        where = p.label if origin.startswith("-") else origin.split(" ")[0]
        out.append(f"{where}: {problem}")
    return out


def _flat(settings: dict[str, Any]) -> dict[str, Any]:
    return dict(settings)


# -- 2. the checks before anything is written ----------------------------------------


def check(p: Plan, root: Path, *, force: bool, running: list[str]) -> None:
    """Refuse (one line, nothing changed) what would clash or lose data."""
    settings_file = root / paths.SETTINGS_FILE
    if os.path.lexists(settings_file) and not force:
        raise UsageError(
            f"{paths.SETTINGS_FILE}: already exists: adopt writes a new one; move it away, or "
            "run with --force to replace it"
        )
    if running:
        shown = ", ".join(sorted(running)[:8]) + (" ..." if len(running) > 8 else "")
        raise UsageError(
            f"{p.label}: the old deployment is running ({shown}): stop it first "
            f"(`docker compose down` in {p.env_file.parent}); its names and ports clash "
            "with the new stack's"
        )
    if store.read(root) and any(
        store.read(root).get(n) not in (None, v) for n, v in p.secrets.items()
    ):
        raise UsageError(
            f"{paths.SECRETS}: already holds other passwords: adopt would replace them; move "
            "the file away if it is left from a test, else this project is not a new one"
        )
    dest = root / paths.CONFIG_DIR
    if p.config is None:
        return
    link = _link_out(p.config)
    if link:
        raise UsageError(
            f"CONFIG: {link} is a link out of the folder (to {os.readlink(link)}): the new "
            "stack writes its tree without following links; put the folder itself there"
        )
    if os.path.lexists(dest) and _same(dest, p.config):
        return
    if os.path.islink(dest):
        raise UsageError(f"{paths.CONFIG_DIR}: is a link: remove it (the tree is never a link)")
    if os.path.lexists(dest) and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(
            f"{paths.CONFIG_DIR}: already exists in {root}: adopt moves {p.config} there; move "
            f"{paths.CONFIG_DIR} away first"
        )
    if os.stat(p.config).st_dev != os.stat(root).st_dev:
        raise UsageError(
            f"CONFIG: {p.config} is on another filesystem than {root}: a move there is not "
            f"atomic; move it yourself (mv {p.config} {dest}), then adopt with --config {dest}"
        )
    if _inside(root, p.config):
        raise UsageError(
            f"CONFIG: {p.config} is the project folder or above it: give its own data folder"
        )


def _link_out(config: Path, depth: int = 3) -> str:
    """A link in the first levels of CONFIG (where the services' folders are: web/,
    storage/prosody, ...) that leads out of it; the render walks that tree with
    O_NOFOLLOW (store/files.py) and would refuse it at the first start."""
    top = os.path.realpath(config)
    level = [str(config)]
    for _ in range(depth):
        below = []
        for folder in level:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not (target == top or target.startswith(top + "/")):
                        return entry.path
                elif entry.is_dir(follow_symlinks=False):
                    below.append(entry.path)
        level = below
    return ""


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(root: Path, config: Path) -> bool:
    root_real, config_real = os.path.realpath(root), os.path.realpath(config)
    return root_real == config_real or root_real.startswith(config_real.rstrip("/") + "/")


def holders(p: Plan, containers: list[dict], names: set[str]) -> list[str]:
    """Running containers of the old deployment: a bind mount inside CONFIG, its Compose
    project (the .env's folder), or a name the new stack will take."""
    config = str(p.config) + "/" if p.config else None
    folder = str(p.env_file.parent.resolve())
    project = p.project or _project_name(p.env_file.parent.resolve().name)
    found = []
    for row in containers:
        labels = row.get("Labels") or {}
        name = str((row.get("Names") or ["?"])[0]).lstrip("/")
        mounts = [str(m.get("Source") or "") + "/" for m in row.get("Mounts") or ()]
        if (
            (config and any(m.startswith(config) for m in mounts))
            or (
                labels.get("com.docker.compose.project") == project
                and labels.get("com.docker.compose.project.working_dir", folder) == folder
            )
            or name in names
        ):
            found.append(name)
    return found


def new_containers(p: Plan) -> set[str]:
    """The container names the new stack takes (the Deployment's, one place)."""
    from ..deployment import build

    if p.loaded is None:
        return set()
    return {svc.container for svc in build(p.loaded).services}


def _project_name(folder: str) -> str:
    """Compose's default project name: the folder's name, lowercase, [a-z0-9_-] only."""
    out = "".join(c for c in folder.lower() if c.isalnum() or c in "_-")
    return out.lstrip("_-")


# -- 3. writing ------------------------------------------------------------------------


def yaml_text(p: Plan, when: str) -> str:
    """jitsi-stack.yml: every value with a comment naming its source line."""
    lines = [
        f"# Adopted by `inv adopt` from {p.env_file} on {when}.",
        "# Each value names the .env line it came from; docs/settings.md explains the keys.",
    ]
    tree: dict[str, Any] = {}
    for key, value in p.settings.items():
        layers._set(tree, key, value)
    _emit(tree, "", 0, p, lines)
    text = "\n".join(lines) + "\n"
    loaded = yaml.safe_load(text)
    flat, _ = layers.flatten(loaded, paths.SETTINGS_FILE)
    if flat != p.settings:  # the file must say exactly what the plan says
        raise StackError(f"{paths.SETTINGS_FILE}: would not read back as planned: report this bug")
    return text


def _emit(tree: dict[str, Any], prefix: str, depth: int, p: Plan, lines: list[str]) -> None:
    pad = "  " * depth
    for key in sorted(tree, key=lambda k: _order(prefix + k)):
        value = tree[key]
        dotted = prefix + key
        if isinstance(value, dict) and dotted != "env" and dotted in _sections():
            lines.append(f"{pad}{key}:")
            _emit(value, dotted + ".", depth + 1, p, lines)
        elif dotted == "env":
            lines.append(f"{pad}env:")
            for name in sorted(value):
                comment = _comment(p.origin.get(f"env.{name}", ""))
                lines.append(f"{pad}  {name}: {_scalar(value[name])}{comment}")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}{_comment(p.origin.get(dotted, ''))}")


def _sections() -> set[str]:
    from ..settings.schema import SECTIONS

    return SECTIONS


def _order(dotted: str) -> int:
    keys = list(FIELDS)
    for i, key in enumerate(keys):
        if key == dotted or key.startswith(dotted + "."):
            return i
    return len(keys)


def _comment(origin: str) -> str:
    if origin.startswith("-"):  # a default of docker-jitsi-meet the file left out
        return f"  # {origin[1:]}"
    return f"  # adopted from {origin}" if origin else ""


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    return text.removesuffix("\n...\n").strip()


def apply(p: Plan, root: Path, *, force: bool) -> list[str]:
    """Move the data, write secrets.env and jitsi-stack.yml; what was done, one line each."""
    done: list[str] = []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = yaml_text(p, stamp)
    dest = root / paths.CONFIG_DIR
    moved = False
    if p.config is not None and not (os.path.lexists(dest) and _same(dest, p.config)):
        if os.path.isdir(dest) and not os.path.islink(dest):
            os.rmdir(dest)  # empty: checked
        os.rename(p.config, dest)
        moved = True
        done.append(f"moved {p.config} to {paths.CONFIG_DIR} (one rename)")
    aside: list[tuple[Path, Path]] = []
    try:
        backup = f"{paths.REPLACED_COPIES}/adopt-{stamp}"
        olds = (paths.CUSTOM_CONFIG, paths.ROOT_ENV, paths.COMPOSE_FILE, paths.ENV_FILE)
        for rel in (*olds, *((paths.SETTINGS_FILE,) if force else ())):
            target = _aside(root, rel, backup)
            if target is not None:
                aside.append((root / rel, target))
                why = "--force" if rel == paths.SETTINGS_FILE else "the first render writes it"
                done.append(f"kept the old {rel} as {backup}/{rel} ({why})")
        if p.secrets:
            current = store.read(root)
            store.save(root, {**current, **p.secrets})
            done.append(f"wrote {paths.SECRETS} (0600): {', '.join(sorted(p.secrets))}")
        secret_in_file = any(FIELDS[k].secret for k in p.settings if k in FIELDS) or any(
            store.is_secret_name(n) for n in p.settings.get("env", {})
        )
        files.write_atomic(root, paths.SETTINGS_FILE, text, mode=0o600 if secret_in_file else 0o644)
        done.append(
            f"wrote {paths.SETTINGS_FILE}"
            + (" (0600: it holds a secret secrets.env cannot)" if secret_in_file else "")
        )
    except BaseException:  # put back what moved, newest first
        for path, target in reversed(aside):
            os.rename(target, path)
        if moved:
            os.rename(dest, p.config)  # type: ignore[arg-type]
        raise
    return done


def _aside(root: Path, rel: str, backup: str) -> Path | None:
    """Move an old file the first render would take for a hand edit into the backup;
    where it went, or None."""
    path = root / rel
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    if files.read_manifest(root).ours(rel, files.sha256(path.read_bytes())):
        return None
    target = root / backup / rel
    with files.open_dir(root, str(Path(backup) / Path(rel).parent), mode=0o700):
        pass
    os.rename(path, target)
    return target


# -- shown ------------------------------------------------------------------------------


def _secret(key: str, name: str) -> bool:
    return (key in FIELDS and FIELDS[key].secret) or store.is_secret_name(name)


def _mask(name: str, value: str) -> str:
    return HIDDEN if value and store.is_secret_name(name) else value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def _no_secret(problem: str, values: dict[str, str]) -> str:
    """Never a secret in a message: a secret value of the file is replaced by ********."""
    secret_values = [v for n, v in values.items() if v and len(v) >= 4 and store.is_secret_name(n)]
    return store.mask(problem, secret_values)


def custom_config(p: Plan) -> None:
    """Old CONFIG/web/custom-config.js lines go into web.custom_config_js."""
    if p.config is None:
        return
    path = p.config / "web" / "custom-config.js"
    if not os.path.isfile(path) or os.path.islink(path):
        return
    text = path.read_text("utf-8", "replace").strip()
    if text:
        p.settings["web.custom_config_js"] = text
        p.origin["web.custom_config_js"] = "CONFIG/web/custom-config.js"
        p.rows.append(
            Row(
                "custom-config.js",
                0,
                f"{len(text.splitlines())} lines",
                "web.custom_config_js",
                "your config.js additions",
            )
        )


LUA = LUA_STRING_VARS  # re-exported for the docs generator
