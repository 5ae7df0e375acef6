"""The one place that renders: templates/ + settings + secrets -> generated files.

Everything is rendered in memory first (strict: an undefined name is an
error naming it); only when every file rendered and no hand edit is in the
way is anything written, each file atomically. Output is deterministic.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import files, model
from . import secrets as secret_store
from .errors import StackError
from .settings import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
COMPOSE_FILE = "docker-compose.yml"
ENV_FILE = f"{model.CONFIG_DIR}/.env"
CUSTOM_CONFIG = f"{model.CONFIG_DIR}/web/custom-config.js"
ROOT_ENV = ".env"  # symlink to jitsi-meet/.env so plain `docker compose` finds the values
FRONTEND_VAR = "NEXT_PUBLIC_JITSI_DOMAIN"
BACKUPS = Path(".jitsi-stack") / "backups"
UID = 1000  # the images run as this user


# -- filters -------------------------------------------------------------


def yaml_str(value) -> str:
    """A JSON string is a valid YAML double-quoted scalar."""
    return json.dumps(str(value), ensure_ascii=False)


def compose_escape(value) -> str:
    """A literal $ in compose YAML is written $$."""
    return str(value).replace("$", "$$")


def env_quote(value) -> str:
    """Quote a value for jitsi-meet/.env as Compose's dotenv parser reads it."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise StackError("a value for jitsi-meet/.env contains a line break: use one line")
    if text and all(c.isalnum() or c in "._-/:,@+=%" for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def js_str(value) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def tojson_compact(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def environment(template_dir: Path = TEMPLATES) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, dotenv and JS, never HTML
    )
    env.filters.update(
        yaml_str=yaml_str,
        compose_escape=compose_escape,
        env_quote=env_quote,
        js_str=js_str,
        tojson_compact=tojson_compact,
    )
    return env


# -- planning ------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    path: str  # relative to the project root
    text: str
    mode: int


@dataclass
class Plan:
    outputs: list[Output]
    env: dict[str, str]
    hidden: set[str]  # values to mask in anything printed
    new_secrets: list[str] = field(default_factory=list)


def _one_trailing_newline(text: str) -> str:
    return text.rstrip("\n") + "\n"


def _render(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return _one_trailing_newline(env.get_template(name).render(**context))
    except jinja2.UndefinedError as err:
        raise StackError(f"templates/{name}: undefined name: {err.message}") from err
    except jinja2.TemplateSyntaxError as err:
        raise StackError(f"templates/{name}:{err.lineno}: {err.message}") from err


def plan(settings: Settings, secrets: dict[str, str], template_dir: Path = TEMPLATES) -> Plan:
    env_values = model.upstream_env(settings, secrets)
    jinja = environment(template_dir)
    context = {
        "s": settings.values,
        "env": env_values,
        "services": model.compose_services(settings, env_values),
        "urls": model.custom_config_js(settings),
    }
    outputs = [
        Output(COMPOSE_FILE, _render(jinja, "docker-compose.yml.j2", context), 0o644),
        Output(ENV_FILE, _render(jinja, "env.j2", context), 0o600),
        Output(CUSTOM_CONFIG, _render(jinja, "custom-config.js.j2", context), 0o644),
    ]
    hidden = model.secret_values(settings, env_values)
    for text in (outputs[0].text, outputs[2].text):
        if any(value in text for value in hidden):
            raise StackError("a secret would be written outside jitsi-meet/.env: report this bug")
    return Plan(outputs=outputs, env=env_values, hidden=hidden)


# -- comparing and writing ------------------------------------------------


@dataclass
class FileState:
    output: Output
    current: str | None  # None when missing
    ours: bool  # current content is what jitsi-stack last wrote

    @property
    def changed(self) -> bool:
        return self.current != self.output.text

    @property
    def hand_edited(self) -> bool:
        return self.current is not None and self.changed and not self.ours


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # --check: files that differ
    diff: str = ""
    new_secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return path.read_bytes().decode("utf-8", "replace")


def _states(root: Path, outputs: list[Output]) -> list[FileState]:
    manifest = files.read_manifest(root)
    states = []
    for out in outputs:
        current = _read(root / out.path)
        ours = current is not None and manifest.get(out.path) == files.sha256(current)
        states.append(FileState(out, current, ours))
    return states


def diff(path: str, current: str | None, new: str, hidden: set[str]) -> str:
    old = secret_store.mask(current or "", hidden).splitlines(keepends=True)
    lines = difflib.unified_diff(
        old,
        secret_store.mask(new, hidden).splitlines(keepends=True),
        fromfile=f"{path} (on disk)",
        tofile=f"{path} (from settings)",
    )
    return "".join(lines)


def frontend_update(settings: Settings) -> tuple[Path, str | None, str] | None:
    """(path, current text, new text) of the frontend env file, or None when unset."""
    target = settings["frontend.env_file"]
    if not target:
        return None
    path = Path(target) if Path(target).is_absolute() else settings.root / target
    current = _read(path)
    line = f"{FRONTEND_VAR}={settings.public_hostport}"
    lines = (current or "").splitlines()
    pattern = re.compile(rf"^\s*(export\s+)?{FRONTEND_VAR}\s*=")
    mine = [i for i, ln in enumerate(lines) if pattern.match(ln)]
    if mine:  # replace in place, keep the operator's order, drop duplicates
        lines[mine[0]] = line
        lines = [ln for i, ln in enumerate(lines) if i not in mine[1:]]
    else:
        lines.append(line)
    new = "\n".join(lines) + "\n"
    return path, current, new


def root_env_ok(root: Path) -> bool:
    link = root / ROOT_ENV
    return link.is_symlink() and os.readlink(link) == ENV_FILE


def render(
    settings: Settings, *, check: bool = False, force: bool = False, template_dir: Path = TEMPLATES
) -> Report:
    """Render every generated file. check: compare only. force: overwrite hand edits."""
    root = settings.root
    stored, missing = secret_store.ensure(root, write=False)
    the_plan = plan(settings, stored, template_dir)
    states = _states(root, the_plan.outputs)
    report = Report(new_secrets=missing, warnings=list(settings.warnings))
    front = frontend_update(settings)
    link_ok = root_env_ok(root)

    if check:
        for st in states:
            if st.changed:
                report.stale.append(st.output.path)
                report.diff += diff(st.output.path, st.current, st.output.text, the_plan.hidden)
        if front and front[1] != front[2]:
            report.stale.append(str(front[0]))
            report.diff += diff(str(front[0]), front[1], front[2], set())
        if not link_ok:
            report.stale.append(ROOT_ENV)
        if missing:
            report.stale.append(str(secret_store.SECRETS_FILE))
        return report

    if missing:  # also with --force: that flag is for hand edits, not for accounts
        from .rotation import account_files

        existing = account_files(root, missing)
        if existing:
            users = ", ".join(sorted({p.stem for p in existing}))
            raise StackError(
                f"internal passwords for {users} are missing from {secret_store.SECRETS_FILE} "
                "but prosody already has those accounts: restore the file from a backup, or run "
                "`inv rotate-secrets` to set new passwords everywhere"
            )
    conflicts = [st for st in states if st.hand_edited]
    link = root / ROOT_ENV
    foreign_env = (link.exists() or link.is_symlink()) and not link_ok
    if (conflicts or foreign_env) and not force:
        detail = "".join(
            diff(st.output.path, st.current, st.output.text, the_plan.hidden) for st in conflicts
        )
        names = [st.output.path for st in conflicts] + ([ROOT_ENV] if foreign_env else [])
        raise StackError(
            f"hand edits in {', '.join(names)}: move the change into jitsi-stack.yml "
            "(a setting, env: for upstream variables, web.custom_config_js for config.js), "
            "or run `inv render --force` to overwrite (a backup is kept)",
            detail=detail,
        )

    # Everything rendered and nothing is in the way: write.
    if missing:
        secret_store.save(root, stored)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    to_backup = [st.output.path for st in conflicts] + ([ROOT_ENV] if foreign_env else [])
    for rel in to_backup:
        report.backups.append(_backup(root, rel, stamp))
    prepare_tree(root)
    recorded = files.read_manifest(root)
    hashes = dict(recorded)
    for st in states:
        out = st.output
        if st.changed:
            files.write_atomic(root / out.path, out.text, out.mode)
            report.written.append(out.path)
        else:
            os.chmod(root / out.path, out.mode)
            report.unchanged.append(out.path)
        hashes[out.path] = files.sha256(out.text)
    if not link_ok:
        _link_root_env(root)
        report.written.append(ROOT_ENV)
    if front and front[1] != front[2]:
        mode = front[0].stat().st_mode & 0o777 if front[0].exists() else 0o644
        files.write_atomic(front[0], front[2], mode)
        report.written.append(str(front[0]))
    if hashes != recorded:
        files.write_manifest(root, hashes)
    return report


def _backup(root: Path, rel: str, stamp: str) -> str:
    source = root / rel
    target = root / BACKUPS / stamp / rel
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if source.is_symlink():
        target.write_text(f"symlink -> {os.readlink(source)}\n", encoding="utf-8")
        source.unlink()
    else:
        files.write_atomic(target, source.read_text(encoding="utf-8", errors="replace"), 0o600)
    return str(target.relative_to(root))


def _link_root_env(root: Path) -> None:
    link = root / ROOT_ENV
    tmp = root / ".env.jitsi-stack.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(ENV_FILE)
    os.replace(tmp, link)


def prepare_tree(root: Path) -> None:
    """Create the stable-11146 config/storage tree, writable by the containers' uid 1000."""
    base = root / model.CONFIG_DIR
    base.mkdir(mode=0o755, exist_ok=True)
    for rel in model.TREE:
        path = base / rel
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        _give_to_container_user(path)
    for parent in ("storage", "tmp", "prosody"):
        _give_to_container_user(base / parent)


def _give_to_container_user(path: Path) -> None:
    st = path.lstat()
    if os.geteuid() == 0:
        if (st.st_uid, st.st_gid) != (UID, UID):
            os.chown(path, UID, UID, follow_symlinks=False)
    elif os.geteuid() != UID and st.st_uid == os.geteuid() and (st.st_mode & 0o777) != 0o777:
        # Not root and not uid 1000: upstream's recipe is to make the dirs world-writable.
        os.chmod(path, 0o777)  # noqa: S103 - upstream recipe for non-root hosts
