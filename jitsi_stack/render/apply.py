"""Write a render Plan into the project: hand edits, backups, the tree, the frontend line.

`apply(d, ...)` is the whole of `inv render`: secrets are read (and the missing
ones generated), the plan rendered in memory, every generated file compared with
what jitsi-stack last wrote (the manifest), and only when nothing is in the way
written, each file atomically. Before the first write the manifest records the
new hashes as pending, so a render interrupted half way is recognised by the
next run as its own work, never as a hand edit.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import render
from ..deployment import ACCOUNT_OF, Deployment
from ..errors import SettingsError, StackError
from ..store import devca, files, paths
from ..store import secrets as secret_store

UID = 1000  # the images run as this user
FRONTEND_VAR = "NEXT_PUBLIC_JITSI_DOMAIN"


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # --check: files that differ
    diff: str = ""
    new_secrets: list[str] = field(default_factory=list)
    dry: bool = False
    inputs: str = ""  # inputs_key of what is now on disk


# -- a no-op render: nothing to draw -------------------------------------------------


def dev_bundle(d: Deployment) -> devca.Bundle | None:
    """The development CA's certificate web serves (frontend.dev_https), reused while good,
    made or renewed in memory (written by apply, never with --dry)."""
    if d.frontend is None or not d.frontend.dev_https or d.certificate is not None:
        return None
    return devca.prepare(d.root, d.frontend.cert_hosts)


def inputs_key(d: Deployment, values: dict[str, str], dev: devca.Bundle | None = None) -> str:
    """A hash of everything a render depends on: the Deployment, the secrets, the templates
    and the tool's version. Equal keys mean equal output."""
    from importlib import resources

    from .. import __version__

    templates = resources.files("jitsi_stack").joinpath("templates")
    parts = [
        __version__,
        json.dumps(_plain(d), sort_keys=True, default=str),
        json.dumps(values, sort_keys=True),
    ]
    if d.certificate is not None:  # its files are copied: their bytes are inputs too
        from ..settings.certs import Refused, read_bounded

        for path in (d.certificate.cert, d.certificate.key):
            try:
                parts.append(files.sha256(read_bounded(path, "https.certificate")))
            except Refused:
                parts.append("-")  # render says why, in one line
    if dev is not None:
        parts.append(files.sha256(dev.server_cert))
    pending = [("", templates)]  # every template shipped, by its path: a new one counts too
    while pending:
        prefix, folder = pending.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                pending.append((f"{prefix}{entry.name}/", entry))
            elif entry.name.endswith(".j2"):
                parts.append(f"{prefix}{entry.name}\n{entry.read_text('utf-8')}")
    return files.sha256("\x00".join(parts))


def _plain(value):
    """A dataclass tree as JSON-able data (every field, repr=False ones included)."""
    from collections.abc import Mapping
    from dataclasses import fields, is_dataclass

    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


def _unchanged(root: Path, manifest: files.Manifest, key: str) -> bool:
    """The last complete render had these inputs and every file is as it wrote it."""
    if not manifest.inputs or manifest.inputs != key or manifest.pending:
        return False
    for rel in manifest.outputs or [rel for rel, _, _ in render.OUTPUTS]:
        data = None if files.is_link(root, rel) else files.read_bytes(root, rel)
        if data is None or files.sha256(data) != manifest.files.get(rel):
            return False
    return root_env_ok(root)


# -- comparing -----------------------------------------------------------------------


@dataclass
class FileState:
    output: render.Output
    current: str | None  # None when missing
    ours: bool  # what is on disk is what jitsi-stack wrote (or was writing)
    link: bool = False  # a symbolic link sits where the file belongs

    @property
    def changed(self) -> bool:
        return self.link or self.current != self.output.text

    @property
    def hand_edited(self) -> bool:
        return self.link or (self.current is not None and self.changed and not self.ours)


def _states(root: Path, outputs, manifest: files.Manifest) -> list[FileState]:
    states = []
    for out in outputs:
        if files.is_link(root, out.path):
            states.append(FileState(out, None, False, link=True))
            continue
        data = files.read_bytes(root, out.path)
        current = None if data is None else data.decode("utf-8", "replace")
        digest = None if data is None else files.sha256(data)
        ours = digest is not None and manifest.ours(out.path, digest)
        states.append(FileState(out, current, ours))
    return states


def refuse_lapsed(d: Deployment) -> None:
    """Refuse to install an expired or not yet valid certificate: when the copy the web
    container reads (and serves to every browser) would change to one. The copy already in
    place stays: restarting with the certificate the stack already serves makes nothing
    worse, so render, start, restart, update and rotate-secrets run then, with a warning.
    Called by apply before it writes, and by rotate-secrets and update before they change
    anything (they render at their end)."""
    if d.certificate is None:
        return
    from ..settings.certs import Refused, lapsed_pem, read_bounded

    try:
        new = read_bounded(d.certificate.cert, "https.certificate.cert")
    except Refused:
        return  # the rules said why; render refuses it in one line
    installed = files.read_bytes(d.root, d.certificate.web_cert)
    if new == installed:
        return
    problem = lapsed_pem(new)
    if problem:
        kept = f": the stack keeps {d.certificate.web_cert}" if installed is not None else ""
        dev = files.read_bytes(d.root, devca.SERVER_CERT)
        if installed is not None and dev and installed.startswith(dev):
            kept = f": the stack keeps the development certificate in {d.certificate.web_cert}"
        raise SettingsError([f"{problem} (not installed{kept})"])


def _diff(st: FileState, hidden) -> str:
    """The diff of one generated file; a private key's content is never shown."""
    if st.output.secret_file:
        return f"--- {st.output.path}: a private key that differs from the settings (not shown)\n"
    return diff(st.output.path, st.current, st.output.text, hidden)


def diff(path: str, current: str | None, new: str, hidden) -> str:
    old = secret_store.mask(current or "", hidden).splitlines(keepends=True)
    lines = difflib.unified_diff(
        old,
        secret_store.mask(new, hidden).splitlines(keepends=True),
        fromfile=f"{path} (on disk)",
        tofile=f"{path} (from settings)",
    )
    return "".join(lines)


def root_env_ok(root: Path) -> bool:
    link = root / paths.ROOT_ENV
    return link.is_symlink() and os.readlink(link) == paths.ENV_FILE


# -- the frontend's env file: its lines, every other byte kept ------------------------

_NAME = re.compile(rb"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=")


def frontend_text(current: bytes | None, value: str | dict[str, str]) -> bytes:
    """The frontend file with its managed lines set (a str: NEXT_PUBLIC_JITSI_DOMAIN alone);
    the first line of each name takes the value, later ones of that name go, a missing one
    is added at the end; every other byte is kept."""
    wanted = {FRONTEND_VAR: value} if isinstance(value, str) else value
    data = current or b""
    for name, text in wanted.items():
        line = f"{name}={text}".encode()
        lines = data.splitlines(keepends=True)
        mine = [
            i
            for i, ln in enumerate(lines)
            if (m := _NAME.match(ln)) and m.group(1) == name.encode()
        ]
        if mine:
            first = lines[mine[0]]
            ending = first[len(first.rstrip(b"\r\n")) :]
            lines[mine[0]] = line + ending
            data = b"".join(ln for i, ln in enumerate(lines) if i not in mine[1:])
            continue
        eol = b"\r\n" if b"\r\n" in data else b"\n"
        if data and not data.endswith((b"\n", b"\r")):
            data += eol
        data += line + eol
    return data


def _frontend(d: Deployment) -> tuple[Path, bytes | None, bytes] | None:
    path = d.frontend_file
    if path is None:
        return None
    if path.is_symlink():
        raise StackError(
            f"frontend.env_file: {path} is a symbolic link: name the real file in jitsi-stack.yml"
        )
    if path.exists() and not path.is_file():
        raise StackError(f"frontend.env_file: {path} is not a regular file: name a file")
    try:
        current = (
            files.read_regular(
                path,
                label=f"frontend.env_file: {path}",
                what="a frontend env file",
                fix="name the frontend's .env file",
            )
            if path.exists()
            else None
        )
    except OSError as exc:
        raise files.os_error(path, exc, "read") from exc
    if d.frontend is None:
        return path, current, frontend_text(current, d.urls.hostport)
    return (
        path,
        current,
        frontend_text(current, d.frontend.env_lines(d.urls.hostport, d.urls.public)),
    )


def _write_frontend(path: Path, data: bytes, current: bytes | None) -> None:
    """Atomic replace keeping the file's mode and owner."""
    st = path.stat() if current is not None else None
    tmp = path.with_name(f".{path.name}.jitsi-stack.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fchmod(fd, stat.S_IMODE(st.st_mode) if st else 0o644)
            if st and os.geteuid() == 0:
                os.fchown(fd, st.st_uid, st.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise files.os_error(path, exc) from exc


# -- render ---------------------------------------------------------------------------


def apply(d: Deployment, *, check: bool = False, force: bool = False, dry: bool = False) -> Report:
    """Render every generated file. check: compare only. force: overwrite hand edits.
    dry: say what would be written and write nothing (no secret is generated either)."""
    if d.advertise_pending and not dry:
        raise SettingsError(
            [
                "jvb.advertise_ips: auto is not detected yet: run `inv addresses` (inv start "
                "and inv render detect it by themselves)"
            ]
        )
    root = d.root
    stored = secret_store.read(root)
    values, missing = secret_store.complete(stored, d.generated_secrets)
    manifest = files.read_manifest(root)
    front = _frontend(d)
    dev = dev_bundle(d)
    key = inputs_key(d, values, dev)
    fresh = not (dev and dev.writes)
    if (
        not missing
        and fresh
        and not (front and front[1] != front[2])
        and _unchanged(root, manifest, key)
    ):
        if not (check or dry):
            prepare_tree(root, tuple(manifest.tree))
        return Report(dry=dry, inputs=key)
    the_plan = render.plan(d, values, dev)
    states = _states(root, the_plan.outputs, manifest)
    report = Report(new_secrets=missing, dry=dry, inputs=key)
    link_ok = root_env_ok(root)

    if check:
        for st in states:
            if st.changed:
                report.stale.append(st.output.path)
                report.diff += _diff(st, the_plan.hidden)
        if front and front[1] != front[2]:
            report.stale.append(str(front[0]))
            report.diff += diff(
                str(front[0]),
                (front[1] or b"").decode("utf-8", "replace"),
                front[2].decode("utf-8", "replace"),
                (),
            )
        if not link_ok:
            report.stale.append(paths.ROOT_ENV)
        if missing:
            report.stale.append(paths.SECRETS)
        return report

    refuse_lapsed(d)
    if missing:  # also with --force: that flag is for hand edits, not for accounts
        existing = account_files(d, missing)
        if existing:
            users = ", ".join(sorted({p.stem for p in existing}))
            raise StackError(
                f"internal passwords for {users} are missing from {paths.SECRETS} "
                "but prosody already has those accounts: restore the file from a backup, or run "
                "`inv rotate-secrets` to set new passwords everywhere"
            )
    conflicts = [st for st in states if st.hand_edited]
    link = root / paths.ROOT_ENV
    foreign_env = (link.exists() or link.is_symlink()) and not link_ok
    if (conflicts or foreign_env) and not force:
        detail = "".join(_diff(st, the_plan.hidden) for st in conflicts)
        names = [st.output.path for st in conflicts] + ([paths.ROOT_ENV] if foreign_env else [])
        raise StackError(
            f"hand edits in {', '.join(names)}: move the change into jitsi-stack.yml "
            "(a setting, env: for upstream variables, web.custom_config_js for config.js), "
            "or run `inv render --force` to overwrite (a backup is kept)",
            detail=detail,
        )

    _check_coturn_owner(the_plan.outputs)
    todo = [st for st in states if st.changed]
    report.written = [st.output.path for st in todo]
    if not link_ok:
        report.written.append(paths.ROOT_ENV)
    if front and front[1] != front[2]:
        report.written.append(str(front[0]))
    if dev:
        report.written += [rel for rel, _data, _mode in dev.writes]
    if dry:
        return report

    # Everything rendered and nothing is in the way: write.
    if missing:
        secret_store.save(root, values)
    if dev:
        devca.save(root, dev)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    for st in conflicts:
        report.backups.append(_backup(root, st.output.path, stamp))
    if foreign_env:
        report.backups.append(_backup(root, paths.ROOT_ENV, stamp))
    new = {out.path: files.sha256(out.text) for out in the_plan.outputs}
    if todo:
        pending = {p: new[p] for p in (st.output.path for st in todo)}
        files.write_manifest(root, files.Manifest(manifest.files, pending))
    prepare_tree(root, the_plan.tree)
    for st in states:
        out = st.output
        if st.changed:
            files.write_atomic(root, out.path, out.text, out.mode, out.owner)
        else:
            os.chmod(root / out.path, out.mode, follow_symlinks=False)
    if not link_ok:
        _link_root_env(root)
    if front and front[1] != front[2]:
        _write_frontend(front[0], front[2], front[1])
    done = files.Manifest(
        {**manifest.files, **new}, {}, key, list(the_plan.tree), [o.path for o in the_plan.outputs]
    )
    if done != manifest:
        files.write_manifest(root, done)
    return report


def _check_coturn_owner(outputs) -> None:
    """coturn's config holds the TURN secret, 0600 for its user (render._coturn_conf): only
    root can give it that owner; written by anyone else, coturn could not read it and would
    refuse every TURN login. Refused before anything is written."""
    euid = os.geteuid()
    for out in outputs:
        if out.path == render.COTURN_CONF and out.owner is not None and euid not in (0, out.owner):
            raise StackError(
                f"turn.enabled: the bundled TURN server reads its secret from {out.path}, which "
                f"must belong to its user (uid {out.owner}) and no one else: run inv as root "
                "(e.g. sudo inv start), or use turn.server: external"
            )


def prosody_host_dir(host: str) -> str:
    """How prosody names a host's data directory (util/datamanager.lua: every non-alphanumeric
    byte as %xx): auth.meet.jitsi -> auth%2emeet%2ejitsi."""
    return "".join(c if c.isascii() and c.isalnum() else f"%{ord(c):02x}" for c in host)


def account_files(d: Deployment, secret_names) -> list[Path]:
    """Prosody's stored accounts of the internal users behind the given secrets. Only on
    the auth domain: a human account with the same name on another domain is not ours."""
    users = {ACCOUNT_OF[name] for name in secret_names if name in ACCOUNT_OF}
    host = prosody_host_dir(d.domains.auth)
    data = d.root / paths.PROSODY_DATA
    if not users or not data.is_dir():
        return []
    return sorted(
        p for p in data.rglob(f"{host}/accounts/*.dat") if p.stem in users and not p.is_symlink()
    )


def _backup(root: Path, rel: str, stamp: str) -> str:
    target = f"{paths.REPLACED_COPIES}/{stamp}/{rel}"
    if files.is_link(root, rel):
        files.write_atomic(root, target, f"symlink -> {os.readlink(root / rel)}\n", 0o600)
        (root / rel).unlink()
    else:
        data = files.read_bytes(root, rel) or b""
        files.write_atomic(root, target, data, 0o600)
    return target


def _link_root_env(root: Path) -> None:
    tmp = root / ".env.jitsi-stack.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(paths.ENV_FILE)
        os.replace(tmp, root / paths.ROOT_ENV)
    except OSError as exc:
        raise files.os_error(paths.ROOT_ENV, exc) from exc


def check_tree(d: Deployment) -> None:
    """Refuse, before anything changes, a managed directory that is a link or not a
    directory (StackError naming it); missing ones are fine (they are created later)."""
    stored = secret_store.read(d.root)
    the_plan = render.plan(d, secret_store.complete(stored, d.generated_secrets)[0])
    for rel in (paths.STATE_DIR, paths.CONFIG_DIR, *the_plan.tree):
        try:
            with files.open_dir(d.root, rel, create=False):
                pass
        except FileNotFoundError:
            continue


def prepare_tree(root: Path, tree: tuple[str, ...]) -> None:
    """Create the directories the containers mount, writable by the containers' uid 1000.
    Every step goes through directory descriptors: a planted link is refused."""
    owned: set[str] = set()
    for rel in tree:
        parts = rel.split("/")
        for depth in range(2, len(parts) + 1):  # below jitsi-meet/, not jitsi-meet itself
            owned.add("/".join(parts[:depth]))
    for rel in sorted(owned):
        parent, name = os.path.split(rel)
        with files.open_dir(root, rel):
            pass  # created (0755) without following links
        with files.open_dir(root, parent, create=False) as dfd:
            _give_to_container_user(dfd, name)


def _give_to_container_user(dfd: int, name: str) -> None:
    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    if os.geteuid() == 0:
        if (st.st_uid, st.st_gid) != (UID, UID):
            os.chown(name, UID, UID, dir_fd=dfd, follow_symlinks=False)
    elif os.geteuid() != UID and st.st_uid == os.geteuid() and (st.st_mode & 0o777) != 0o777:
        # Not root and not uid 1000: upstream's recipe is to make the dirs world-writable.
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
        try:
            os.fchmod(fd, 0o777)  # upstream recipe for non-root hosts
        finally:
            os.close(fd)
