"""`inv backup` / `inv restore` on files: what goes in, what comes back (bytes, modes by the
tool's rules), every archive kind restores, and a generated table of hostile and broken
archives and target folders, each refused with one line before anything changes (the hash
tree of the target, modes and owners included, is the same before and after). The
running-stack round trip is in tests/docker/test_backup.py."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from jitsi_stack import docker
from jitsi_stack.ops import archive_rules, restore_target
from jitsi_stack.ops import backup as backup_mod
from jitsi_stack.ops.backup import MANIFEST, MANIFEST_MAX
from jitsi_stack.ops.stack import Stack
from tests.support.project import (
    FIXED_SECRETS,
    run_cli,
    seed_secrets,
    tree_snapshot,
    write_settings,
)

SETTINGS = (
    "project_name: jsunitbackup\ncontainer_prefix: jsunitbackup\n"
    "auth: {enabled: true, type: internal}\n"
    "compose: {extra_files: [platform.yml]}\nfrontend: {env_file: frontend/.env.local}\n"
)
ACCOUNT = "jitsi-meet/storage/prosody/data/meet%2ejitsi/accounts/agent007.dat"
SECRET_VALUES = [v for v in FIXED_SECRETS.values()] + ["s3cr3t-agent-hash", "T0PS3CRET"]


@pytest.fixture
def project(tmp_path) -> Path:
    base = tmp_path / "old"
    base.mkdir()
    write_settings(base, SETTINGS)
    (base / "platform.yml").write_text("services: {backend: {image: busybox}}\n")
    (base / "frontend").mkdir()
    (base / "frontend/.env.local").write_text("API=1\n")
    seed_secrets(base)
    assert run_cli(base, "render").returncode == 0
    account = base / ACCOUNT
    account.parent.mkdir(parents=True)
    account.write_text('return {\n\t["stored_key"] = "s3cr3t-agent-hash";\n};\n')
    account.chmod(0o640)
    recording = base / "jitsi-meet/storage/jibri/recordings/call.mp4"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"\0" * 1000)
    return base


def backup(base: Path, *args: str) -> Path:
    out = run_cli(base, "backup", "--json", *args)
    assert out.returncode == 0, out.stderr
    return Path(json.loads(out.stdout)["archive"])


def names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_archive_holds_what_a_new_machine_needs_and_is_private(project):
    archive = backup(project)
    assert archive.name.startswith("jitsi-stack-backup-")
    assert mode(archive) == 0o600
    members = names(archive)
    assert members[0] == MANIFEST
    for needed in (
        "jitsi-stack.yml", ".jitsi-stack/secrets.env", ".jitsi-stack/manifest.json", ACCOUNT,
        "platform.yml", "frontend/.env.local",  # named by compose.extra_files, frontend.env_file
        "docker-compose.yml", "jitsi-meet/.env",  # generated: the restore is up to date
    ):  # fmt: skip
        assert needed in members
    assert ".env" not in members  # the link: restore makes it again
    assert not [n for n in members if "jibri" in n]  # recordings only when asked
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
        entry = next(m for m in manifest["members"] if m["name"] == ACCOUNT)
        data = tar.extractfile(ACCOUNT).read()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["format"] == 2 and manifest["kind"] == "backup"
    assert manifest["project"] == "jsunitbackup" and manifest["image_tag"] == "stable-11146-2"
    with_recordings = backup(project, "--include-recordings")
    assert "jitsi-meet/storage/jibri/recordings/call.mp4" in names(with_recordings)


def test_restore_into_an_empty_folder_is_up_to_date_with_the_tools_modes(project, tmp_path):
    archive = backup(project)
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout and "run `inv start`" in out.stdout
    for rel in ("jitsi-stack.yml", ".jitsi-stack/secrets.env", ACCOUNT, "platform.yml",
                "frontend/.env.local", "docker-compose.yml", "jitsi-meet/.env"):  # fmt: skip
        assert (new / rel).read_bytes() == (project / rel).read_bytes(), rel
    assert os.readlink(new / ".env") == "jitsi-meet/.env"
    expected = {".jitsi-stack/secrets.env": 0o600, "jitsi-meet/.env": 0o600, "jitsi-stack.yml": 0o600,
                ACCOUNT: 0o600, "platform.yml": 0o644, "docker-compose.yml": 0o644, ".jitsi-stack": 0o700}  # fmt: skip
    assert {rel: mode(new / rel) for rel in expected} == expected
    assert (new / ACCOUNT).stat().st_uid == archive_rules.CONTAINER_UID  # the containers' user
    check = run_cli(new, "render", "--check")
    assert check.returncode == 0, check.stderr
    assert not list(new.glob(".jitsi-stack-restore-*"))  # no staging left


def test_restore_over_files_asks_saves_them_and_moves_a_local_layer_aside(project, tmp_path):
    archive = backup(project)
    new = tmp_path / "new"
    new.mkdir()
    write_settings(new, "public_url: http://localhost:9999\n")
    (new / "jitsi-stack.local.yml").write_text("jvb: {count: 3}\n")
    before = tree_snapshot(new)
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 1
    assert out.lines[-1].startswith(
        "error: inv restore changes containers and files and there is no terminal"
    )
    assert tree_snapshot(new) == before
    out = run_cli(new, "restore", str(archive), "--yes")
    assert out.returncode == 0, out.stderr
    assert "jitsi-stack.local.yml: moved aside" in out.stderr
    assert not (new / "jitsi-stack.local.yml").exists()  # it would stay in force otherwise
    saved = list((new / "backups").glob("jitsi-stack-before-restore-*.tar.gz"))
    assert len(saved) == 1 and mode(saved[0]) == 0o600
    with tarfile.open(saved[0]) as tar:
        assert tar.extractfile("jitsi-stack.yml").read() == b"public_url: http://localhost:9999\n"
        assert tar.extractfile("jitsi-stack.local.yml").read() == b"jvb: {count: 3}\n"
    assert (new / "jitsi-stack.yml").read_text() == SETTINGS
    assert run_cli(new, "render", "--check").returncode == 0
    # the safety copy is an archive like any other: it brings the old folder back
    again = run_cli(new, "restore", str(saved[0]), "--yes")
    assert again.returncode == 0, again.stderr
    assert (new / "jitsi-stack.local.yml").read_text() == "jvb: {count: 3}\n"
    assert (new / "jitsi-stack.yml").read_text() == "public_url: http://localhost:9999\n"


def test_layers_the_restore_cannot_hold_are_named(project, tmp_path):
    """A file named by the settings outside the project is left out, and said; a settings
    layer from the environment stays in force after a restore, and that is said too."""
    (project / "jitsi-stack.yml").write_text(
        SETTINGS.replace("frontend/.env.local", "../front.env")
    )
    (project.parent / "front.env").write_text("API=1\n")
    out = run_cli(project, "backup", "--json")
    assert out.returncode == 0, out.stderr
    assert "warning: ../front.env: named by the settings but outside the project" in out.stderr
    archive = Path(json.loads(out.stdout)["archive"])
    assert not [n for n in names(archive) if "front" in n]
    # a named file that is a link (a certificate in /etc/letsencrypt/...): left out, said
    (project.parent / "platform-real.yml").write_text("x-platform: {}\n")
    (project / "platform.yml").unlink()
    (project / "platform.yml").symlink_to(project.parent / "platform-real.yml")
    linked = run_cli(project, "backup", "--json")
    assert linked.returncode == 0, linked.stderr
    assert "warning: platform.yml: named by the settings but a symbolic link" in linked.stderr
    assert "platform.yml" not in names(Path(json.loads(linked.stdout)["archive"]))
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive), env={"JITSI_STACK_PUBLIC_URL": "http://x:1"})
    assert out.returncode == 0, out.stderr
    assert "JITSI_STACK_PUBLIC_URL is set: it overrides the restored settings" in out.stderr


@pytest.mark.parametrize("kind", ["backup", "before-update", "before-clean"])
def test_every_archive_kind_restores(project, tmp_path, kind):
    stack = Stack.load(project, docker.Runner(dry=True))
    files = [project / "jitsi-stack.yml"]
    result = backup_mod.write(stack, files, kind=kind, recordings=kind == "before-clean")
    assert result.path.name.startswith(backup_mod.KINDS[kind] + "-")
    assert result.path.parent == project / "backups" and mode(result.path) == 0o600
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(result.path))
    assert out.returncode == 0, out.stderr
    assert (new / ACCOUNT).read_bytes() == (project / ACCOUNT).read_bytes()
    assert run_cli(new, "render", "--check").returncode == 0


def test_the_archive_before_clean_leaves_links_out_and_names_them(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    (project / "jitsi-meet/storage/web").mkdir(parents=True, exist_ok=True)
    (project / "jitsi-meet/storage/web/planted").symlink_to(outside)
    stack = Stack.load(project, docker.Runner(dry=True))
    result = backup_mod.write(stack, [project / "jitsi-stack.yml"], kind="before-clean")
    assert result.passed == ("jitsi-meet/storage/web/planted",)
    assert not [n for n in names(result.path) if "planted" in n or "keep" in n]
    with pytest.raises(backup_mod.StackError, match="is a symbolic link"):
        backup_mod.write(stack, [project / "jitsi-stack.yml"], kind="backup")


def test_modes_and_owners_come_from_the_rules_never_from_the_archive(tmp_path):
    loose = {n: (d, 0o6777) for n, (d, _) in BASE_FILES.items()}  # setuid, setgid, o+w
    data = build(files=loose, uid=0)
    archive = tmp_path / "loose.tar.gz"
    archive.write_bytes(data)
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 0, out.stderr
    assert mode(new / ".jitsi-stack/secrets.env") == 0o600
    assert mode(new / "jitsi-stack.yml") == 0o600
    assert mode(new / "jitsi-meet/storage/prosody/data/a.dat") == 0o600
    assert mode(new / "jitsi-meet/storage/prosody") == 0o750
    for path in new.rglob("*"):
        assert not path.lstat().st_mode & (stat.S_ISUID | stat.S_ISGID | 0o002), path


def test_a_dry_run_checks_everything_and_writes_nothing(project, target):
    archive = backup(project)
    before = tree_snapshot(target)
    out = run_cli(target, "--dry", "restore", str(archive), "--yes")
    assert out.returncode == 0, out.stderr
    assert "dry run: would restore" in out.stderr
    assert tree_snapshot(target) == before


def test_a_swap_that_fails_half_way_puts_everything_back(project, tmp_path, monkeypatch):
    archive = backup(project)
    new = tmp_path / "new"
    new.mkdir()
    write_settings(new, "public_url: http://localhost:9999\n")
    (new / ".jitsi-stack").mkdir(mode=0o700)
    (new / ".jitsi-stack/secrets.env").write_text("OLD=1\n")
    before = {k: v for k, v in tree_snapshot(new).items() if not k.startswith(".jitsi-stack/lock")}
    real, calls = os.rename, []

    def flaky(src, dst, *a, **kw):
        calls.append(src)
        if len(calls) == 4:  # after two paths were swapped
            raise OSError(28, "No space left on device")
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(restore_target.os, "rename", flaky)
    out = run_cli(new, "restore", str(archive), "--yes")
    assert out.returncode == 1
    assert out.lines[-1].endswith("the folder is as it was"), out.lines
    after = {k: v for k, v in tree_snapshot(new).items() if not k.startswith(".jitsi-stack/lock")}
    assert after == before  # the safety archive is gone too


def test_backup_refuses_what_restore_would_not_take_back(project):
    """Every archive it writes restores: a settings file under another name is refused first."""
    (project / "site.yml").write_text(SETTINGS)
    before = tree_snapshot(project)
    out = run_cli(project, "backup", env={"JITSI_STACK_SETTINGS": "site.yml"})
    assert out.returncode == 1
    assert len(out.lines) == 1 and out.lines[0].startswith(
        "error: site.yml: `inv restore` would not take it back"
    ), out.lines
    assert tree_snapshot(project) == before


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root")
def test_a_disk_that_fills_while_staging_is_said_and_changes_nothing(tmp_path, monkeypatch):
    """The free-space check passed (the disk filled afterwards): one line, folder as it was."""
    import subprocess

    mnt = tmp_path / "fs"
    mnt.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        base = mnt / "project"
        base.mkdir()
        write_settings(base, "project_name: kept\n")
        big = {
            **BASE_FILES,
            "jitsi-meet/storage/prosody/data/b.dat": (os.urandom(400 << 10), 0o600),
        }
        archive = tmp_path / "big.tar.gz"
        archive.write_bytes(build(files=big))
        monkeypatch.setattr(
            restore_target.shutil,
            "disk_usage",
            lambda _: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40),
        )  # type: ignore[attr-defined]
        before = tree_snapshot(base)
        out = run_cli(base, "restore", str(archive), "--yes")
        assert out.returncode == 1
        assert out.lines == [
            f"error: {base}: cannot write the restored files (No space left on device): "
            "free space (or fix the permissions) and re-run; nothing was restored"
        ]
        after = {k: v for k, v in tree_snapshot(base).items() if not k.startswith(".jitsi-stack")}
        assert after == {k: v for k, v in before.items() if not k.startswith(".jitsi-stack")}
        assert not list(base.glob(".jitsi-stack-restore-*"))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_backup_refuses_links_and_never_overwrites(project):
    archive = backup(project)
    out = run_cli(project, "backup", "--to", str(archive))
    assert out.lines == [
        f"error: {archive}: exists: choose another name (a backup never overwrites)"
    ]
    link = project / "jitsi-meet/storage/prosody/data/evil"
    link.symlink_to("/etc")
    before = tree_snapshot(project)
    out = run_cli(project, "backup")
    assert out.returncode == 1
    assert out.lines == [
        "error: jitsi-meet/storage/prosody/data/evil: is a symbolic link: a backup holds only "
        "regular files and folders: replace the link with what it points to"
    ]
    assert tree_snapshot(project) == before


# -- the hostile table: archives --------------------------------------------------------------

SECRETS = "JICOFO_AUTH_PASSWORD=" + "ab" * 16 + "\n"
BASE_FILES: dict[str, tuple[bytes, int]] = {
    "jitsi-stack.yml": (b"project_name: jsunitbackup\nturn: {secret: T0PS3CRET}\n", 0o600),
    ".jitsi-stack/secrets.env": (SECRETS.encode(), 0o600),
    "jitsi-meet/storage/prosody/data/a.dat": (b"s3cr3t-agent-hash\n", 0o640),
}


def _dirs(files) -> list[str]:
    found = set()
    for name in files:
        parts = name.split("/")[:-1]
        found |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
    return sorted(found, key=lambda n: (n.count("/"), n))


def _info(
    name: str, data: bytes | None, kind=tarfile.REGTYPE, mode=0o600, uid=1000
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = kind, mode, uid, uid
    info.size = len(data) if data is not None and kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    return info


def _entry(name: str, data: bytes | None, mode=0o600, uid=1000) -> dict:
    if data is None:
        return {"name": name, "kind": "dir", "mode": oct(mode), "uid": uid, "gid": uid}
    return {"name": name, "kind": "file", "mode": oct(mode), "uid": uid, "gid": uid,
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip


@dataclass
class Parts:
    """A good archive, taken apart: the manifest (dict) and the tar members after it."""

    manifest: dict
    members: list[tuple[tarfile.TarInfo, bytes | None]]

    def entry(self, name: str) -> dict:
        return next(m for m in self.manifest["members"] if m["name"] == name)


def good_parts(files=None, uid=1000) -> Parts:
    files = files or BASE_FILES
    members, entries = [], []
    for d in _dirs(files):
        members.append((_info(d, None, tarfile.DIRTYPE, 0o755, uid), None))
        entries.append(_entry(d, None, 0o755, uid))
    for name, (data, m) in files.items():
        members.append((_info(name, data, mode=m, uid=uid), data))
        entries.append(_entry(name, data, m, uid))
    manifest = {"format": 2, "kind": "backup", "tool": "jitsi-stack", "version": "0.1.0",
                "project": "jsunitbackup", "image_tag": "stable-11146-2",
                "created": "2026-12-01T00:00:00Z", "recordings": False, "members": entries}  # fmt: skip
    return Parts(manifest, members)


def pack(parts: Parts, manifest_bytes: bytes | None = None, first=None) -> bytes:
    raw = io.BytesIO()
    data = manifest_bytes if manifest_bytes is not None else json.dumps(parts.manifest).encode()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        head = first if first is not None else (_info(MANIFEST, data), data)
        tar.addfile(head[0], io.BytesIO(head[1]) if head[1] is not None else None)
        for info, content in parts.members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return raw.getvalue()


def build(files=None, uid=1000, mutate: Callable[[Parts], object] | None = None) -> bytes:
    parts = good_parts(files, uid)
    if mutate:
        out = mutate(parts)
        if isinstance(out, bytes):
            return out
    return pack(parts)


GOOD = build()
CASES: dict[str, tuple[str, Callable[[], bytes] | bytes, str]] = {}  # id -> (category, data, text)


def case(category: str, name: str, data, text: str) -> None:
    key = f"{category}:{name}"
    assert key not in CASES, key
    CASES[key] = (category, data, text)


# gzip and container
case("gzip", "empty file", b"", "wrong magic")
case("gzip", "text", b"just some text\n", "wrong magic")
for magic, label in [
    (b"PK\x03\x04", "zip"),
    (b"BZh91AY", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]:
    case("gzip", f"{label} magic", magic + b"\0" * 600, "wrong magic")
case("gzip", "plain tar", gzip.decompress(GOOD), "wrong magic")
case("gzip", "gzip of text", gzip.compress(b"hello " * 100), "is damaged or truncated")
case("gzip", "gzip of random", gzip.compress(os.urandom(4096)), "is damaged or truncated")
case("gzip", "only the magic", b"\x1f\x8b", "is damaged or truncated")
for cut in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95):
    case(
        "gzip",
        f"truncated at {int(cut * 100)}%",
        GOOD[: int(len(GOOD) * cut)],
        "damaged or truncated",
    )
for tail in (1, 4, 8):
    case("gzip", f"last {tail} bytes cut", GOOD[:-tail], "damaged or truncated")
for where in (0.3, 0.5, 0.7, 0.85):
    flipped = bytearray(GOOD)
    flipped[int(len(GOOD) * where)] ^= 0x55
    case("gzip", f"byte flipped at {int(where * 100)}%", bytes(flipped), "")
for label, offset in (("crc", -8), ("isize", -4)):
    flipped = bytearray(GOOD)
    flipped[offset] ^= 0xFF
    case("gzip", f"trailer {label} flipped", bytes(flipped), "damaged or truncated")
case("gzip", "garbage appended", GOOD + b"garbage after the end", "damaged or truncated")
case(
    "gzip", "second gzip member of junk", GOOD + gzip.compress(b"junk" * 100), "data after the end"
)
case("gzip", "compression method byte", GOOD[:2] + b"\x07" + GOOD[3:], "damaged or truncated")

# foreign archives
case(
    "foreign",
    "tar of /etc/passwd",
    pack(Parts({}, []), first=(_info("etc/passwd", b"root:x:0:0\n"), b"root:x:0:0\n")),
    f"no {MANIFEST} first",
)
case(
    "foreign",
    "docker save style",
    pack(Parts({}, []), first=(_info("manifest.json", b"[]"), b"[]")),
    f"no {MANIFEST} first",
)
case("foreign", "empty tar", gzip.compress(b"\0" * 10240), f"no {MANIFEST} first")
case(
    "foreign",
    "manifest not first",
    build(
        mutate=lambda p: pack(
            Parts({}, [(_info(MANIFEST, b"{}"), b"{}")]),
            first=(_info("jitsi-stack.yml", b"x"), b"x"),
        )
    ),
    f"no {MANIFEST} first",
)
case(
    "foreign",
    "manifest is a folder",
    pack(Parts({}, []), first=(_info(MANIFEST, None, tarfile.DIRTYPE), None)),
    f"no {MANIFEST} first",
)
for label, kind in (
    ("symlink", tarfile.SYMTYPE),
    ("hard link", tarfile.LNKTYPE),
    ("fifo", tarfile.FIFOTYPE),
):
    info = _info(MANIFEST, None, kind)
    info.linkname = "/etc/passwd"
    case(
        "foreign",
        f"manifest is a {label}",
        pack(Parts({}, []), first=(info, None)),
        f"no {MANIFEST} first",
    )
case(
    "foreign",
    "foreign tool",
    build(mutate=lambda p: p.manifest.update(tool="other")),
    "foreign manifest",
)
case("foreign", "no tool", build(mutate=lambda p: p.manifest.pop("tool")), "foreign manifest")
case("foreign", "manifest not JSON", build(mutate=lambda p: pack(p, b"{not json")), "is not JSON")
case(
    "foreign",
    "manifest a JSON list",
    build(mutate=lambda p: pack(p, b"[1, 2]")),
    "foreign manifest",
)
case(
    "foreign",
    "manifest a JSON string",
    build(mutate=lambda p: pack(p, b'"jitsi-stack"')),
    "foreign manifest",
)
case(
    "foreign",
    "manifest nested 100000 deep",
    build(mutate=lambda p: pack(p, b"[" * 100000 + b"]" * 100000)),
    "is not JSON",
)
case(
    "foreign",
    "manifest binary",
    build(mutate=lambda p: pack(p, b"\xff\xfe\x00\x01")),
    "is not JSON",
)

# format versions
for value, text in ((0, "no valid backup format"), (-1, "no valid backup format"), (3, "is backup format 3, newer"),
                    (99, "is backup format 99, newer"), ("2", "no valid backup format"), (2.0, "no valid backup format"),
                    (True, "no valid backup format"), (None, "no valid backup format")):  # fmt: skip
    case("format", repr(value), build(mutate=lambda p, v=value: p.manifest.update(format=v)), text)
case(
    "format",
    "newer with hostile version text",
    build(mutate=lambda p: p.manifest.update(format=7, version="$(rm -rf /)\n")),
    "restore it with jitsi-stack ? or newer",
)

# every top-level field: missing, each wrong type; an extra one
WRONG = {"null": None, "bool": True, "int": 7, "float": 1.5, "str": "x", "list": [], "dict": {}}
RIGHT = {
    "kind": str,
    "version": str,
    "project": str,
    "image_tag": str,
    "created": str,
    "recordings": bool,
    "members": list,
}
for key, kind in RIGHT.items():
    case(
        "manifest-field",
        f"{key} missing",
        build(mutate=lambda p, k=key: p.manifest.pop(k)),
        f"has no '{key}'",
    )
    for label, value in WRONG.items():
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            continue
        if kind is str and isinstance(value, str):
            continue
        case(
            "manifest-field",
            f"{key} {label}",
            build(mutate=lambda p, k=key, v=value: p.manifest.update({k: v})),
            f"'{key}' is not {kind.__name__}",
        )
for extra in ("extra", "members2", "__proto__", "x" * 500):
    case(
        "manifest-field",
        f"extra field {extra[:10]}",
        build(mutate=lambda p, e=extra: p.manifest.update({e: 1})),
        "unknown field",
    )
for key, value in (("project", "\x1b[31mred"), ("project", "a b"), ("project", "x" * 65), ("image_tag", "tag\nnext"),
                   ("image_tag", "\x1b]0;title\x07"), ("created", "yesterday"), ("created", "2026-12-01T00:00:00Z\n"),
                   ("version", ""), ("version", "1.0 \x1b[2J")):  # fmt: skip
    case(
        "manifest-field",
        f"{key} {value[:12]!r}",
        build(mutate=lambda p, k=key, v=value: p.manifest.update({k: v})),
        f"'{key}' is malformed",
    )
for value in ("weird", "", "BACKUP", "before-update "):
    case(
        "manifest-field",
        f"kind {value!r}",
        build(mutate=lambda p, v=value: p.manifest.update(kind=v)),
        "'kind' is not one of",
    )
case(
    "manifest-field",
    "format 1 with a kind",
    build(mutate=lambda p: p.manifest.update(format=1)),
    "unknown field 'kind'",
)

# every member field: missing, each wrong type; extra; malformed values
NAME = ".jitsi-stack/secrets.env"
MEMBER = {"name": str, "kind": str, "size": int, "mode": str, "uid": int, "gid": int, "sha256": str}
for key, kind in MEMBER.items():
    if key not in ("name", "kind"):
        case(
            "member-field",
            f"{key} missing",
            build(mutate=lambda p, k=key: p.entry(NAME).pop(k)),
            f"has no '{key}'",
        )
    for label, value in WRONG.items():
        if kind is str and isinstance(value, str):
            continue
        if kind is int and label == "int":
            continue
        text = {"name": "unsafe or invalid path", "kind": "neither a file nor a folder"}.get(
            key, f"'{key}' in its manifest is not"
        )
        case(
            "member-field",
            f"{key} {label}",
            build(mutate=lambda p, k=key, v=value: p.entry(NAME).update({k: v})),
            text,
        )
case(
    "member-field",
    "name missing",
    build(mutate=lambda p: p.entry(NAME).pop("name")),
    "unsafe or invalid path",
)
case(
    "member-field",
    "kind missing",
    build(mutate=lambda p: p.entry(NAME).pop("kind")),
    "neither a file nor a folder",
)
case(
    "member-field",
    "extra key",
    build(mutate=lambda p: p.entry(NAME).update(owner="root")),
    "unknown field 'owner'",
)
case(
    "member-field",
    "dir with a size",
    build(mutate=lambda p: p.entry(".jitsi-stack").update(size=0)),
    "unknown field 'size'",
)
case(
    "member-field",
    "dir with a checksum",
    build(mutate=lambda p: p.entry(".jitsi-stack").update(sha256="0" * 64)),
    "unknown field 'sha256'",
)
for label, change in {
    "mode 0644 without 0o": {"mode": "0644"}, "mode 0o999": {"mode": "0o999"}, "mode rwx": {"mode": "rwxr-xr-x"},
    "mode empty": {"mode": ""}, "mode huge": {"mode": "0o77777777"}, "uid -1": {"uid": -1}, "gid -1": {"gid": -1},
    "size -1": {"size": -1}, "sha256 upper": {"sha256": "A" * 64}, "sha256 short": {"sha256": "a" * 63},
    "sha256 not hex": {"sha256": "g" * 64}, "kind link": {"kind": "link"}, "kind symlink": {"kind": "symlink"},
    "kind empty": {"kind": ""}, "kind device": {"kind": "device"},
}.items():  # fmt: skip
    text = "neither a file nor a folder" if "kind" in change else "malformed"
    case("member-field", label, build(mutate=lambda p, c=change: p.entry(NAME).update(c)), text)
for label, value in (("string", "x"), ("list", []), ("null", None), ("number", 1)):
    case(
        "member-field",
        f"member is a {label}",
        build(mutate=lambda p, v=value: p.manifest["members"].append(v)),
        "a member is not an object",
    )

# tar member kinds other than file and folder: under a listed name and an unlisted one
KINDS = {"symlink": tarfile.SYMTYPE, "hard link": tarfile.LNKTYPE, "char device": tarfile.CHRTYPE,
         "block device": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE, "contiguous": tarfile.CONTTYPE,
         "unknown type Z": b"Z"}  # fmt: skip


def _kind(p: Parts, kind, name: str, listed: bool) -> None:
    info = _info(name, None, kind)
    info.linkname = "/etc/shadow"
    if kind == tarfile.CONTTYPE:
        info.size = 3
        p.members.append((info, b"abc"))
    else:
        p.members.append((info, None))
    if listed:
        p.manifest["members"].append(_entry(name, b""))


for label, kind in KINDS.items():
    for listed in (True, False):
        name = "jitsi-stack.local.yml"
        expect = "is a link, device or special file" if listed or kind != b"Z" else "special file"
        case(
            "member-kind",
            f"{label} {'listed' if listed else 'unlisted'}",
            build(mutate=lambda p, k=kind, li=listed, n=name: _kind(p, k, n, li)),
            expect,
        )

    # replacing a listed file by that kind
    def swap(p: Parts, k=kind) -> None:
        i = next(i for i, (info, _) in enumerate(p.members) if info.name == NAME)
        info = _info(NAME, None, k)
        info.linkname = "/etc/shadow"
        p.members[i] = (info, b"abc" if k == tarfile.CONTTYPE else None)
        if k == tarfile.CONTTYPE:
            info.size = 3

    case(
        "member-kind",
        f"{label} instead of secrets.env",
        build(mutate=swap),
        "is a link, device or special file",
    )
case(
    "member-kind",
    "folder where the manifest has a file",
    build(
        mutate=lambda p: p.members.__setitem__(
            next(i for i, (info, _) in enumerate(p.members) if info.name == NAME),
            (_info(NAME, None, tarfile.DIRTYPE), None),
        )
    ),
    "another kind than the manifest says",
)
case(
    "member-kind",
    "file where the manifest has a folder",
    build(
        mutate=lambda p: p.members.__setitem__(
            next(i for i, (info, _) in enumerate(p.members) if info.name == ".jitsi-stack"),
            (_info(".jitsi-stack", b"x"), b"x"),
        )
    ),
    "another kind than the manifest says",
)


# paths: tricks (consistent in manifest and tar) and paths `inv backup` never writes
def _add(p: Parts, name: str, data: bytes = b"x\n", settings: str | None = None) -> None:
    p.members.append((_info(name, data), data))
    p.manifest["members"].append(_entry(name, data))
    if settings is not None:
        body = f"project_name: x\n{settings}\n".encode()
        i = next(i for i, (info, _) in enumerate(p.members) if info.name == "jitsi-stack.yml")
        p.members[i] = (_info("jitsi-stack.yml", body), body)
        p.entry("jitsi-stack.yml").update(size=len(body), sha256=hashlib.sha256(body).hexdigest())


UNSAFE = ["/etc/cron.d/evil", "../evil", "a/../../evil", "jitsi-meet/../../evil", "./jitsi-stack.yml",
          "jitsi-meet//storage/x", "jitsi-meet/storage/x/", "a\\..\\evil", "new\nline", "tab\there", "del\x7f",
          "x" * 2000, ".", "..", "jitsi-meet/./storage/x"]  # fmt: skip
for name in UNSAFE:
    case("path-unsafe", repr(name[:30]), build(mutate=lambda p, n=name: _add(p, n)), "unsafe")
case(
    "path-unsafe",
    "tar name unsafe, manifest fine",
    build(mutate=lambda p: p.members.append((_info("../../evil", b"x"), b"x"))),
    "unsafe path",
)
case(
    "path-unsafe",
    "second manifest member",
    build(mutate=lambda p: p.members.append((_info(MANIFEST, b"{}"), b"{}"))),
    "unsafe path",
)
NEVER = ["etc/passwd", ".ssh/authorized_keys", ".git/hooks/pre-commit", "backups/old.tar.gz", ".jitsi-stack/lock",
         ".jitsi-stack/other.env", "jitsi-meet/web/config.js", "jitsi-meet/prosody/prosody.cfg.lua", "docker-compose.override.yml",
         "platform.yml", "certs/site.key", "frontend/.env.local", "jitsi-stack.yml.bak", "jitsi-stack.d/x.yml",
         "jitsi-meet/storage.txt", "tasks.py", ".bashrc", "jitsi-stack.prod.yml/x"]  # fmt: skip
for name in NEVER:
    case(
        "path-never",
        name,
        build(mutate=lambda p, n=name: _add(p, n)),
        "is no path `inv backup` writes",
    )
for label, setting, name in [
    ("extra file under .jitsi-stack", "compose: {extra_files: [.jitsi-stack/lock]}", ".jitsi-stack/lock"),
    ("extra file under backups", "compose: {extra_files: [backups/x.yml]}", "backups/x.yml"),
    ("certificate under backups", "https: {certificate: {cert: backups/site.crt, key: k.key}}", "backups/site.crt"),
    ("frontend under .jitsi-stack", "frontend: {env_file: .jitsi-stack/secrets2.env}", ".jitsi-stack/secrets2.env"),
    ("certificate key under storage", "https: {certificate: {cert: a.crt, key: jitsi-meet/storage/../k}}", "jitsi-meet/k"),
    ("settings name absolute", "compose: {extra_files: [/etc/cron.d/x]}", "etc/cron.d/x"),
    ("settings name with ..", "compose: {extra_files: [../x.yml]}", "x.yml"),
    ("named by another key", "web: {custom_config_js: evil.js}", "evil.js"),
]:  # fmt: skip
    case(
        "path-never",
        label,
        build(mutate=lambda p, s=setting, n=name: _add(p, n, settings=s)),
        "is no path `inv backup` writes",
    )
case(
    "path-never",
    "a folder nothing needs",
    build(
        mutate=lambda p: (
            p.members.append((_info("var", None, tarfile.DIRTYPE), None)),
            p.manifest["members"].append(_entry("var", None)),
        )
    ),
    "is no path `inv backup` writes",
)
case(
    "path-never",
    "settings as a folder",
    build(
        files={
            ".jitsi-stack/secrets.env": BASE_FILES[".jitsi-stack/secrets.env"],
            "jitsi-stack.yml/x": (b"x", 0o600),
        }
    ),
    "is no path `inv backup` writes",
)
for label, text in (
    ("unclosed", b"compose: {extra_files: [\n"),
    ("binary", b"\xff\xfe\x00"),
    ("a list", b"- a\n- b\n"),
    ("a tag", b"!!python/object:os.system x\n"),
):
    case(
        "settings",
        label,
        build(files={**BASE_FILES, "jitsi-stack.yml": (text, 0o600)}),
        "its settings: jitsi-stack.yml: is not",
    )


# sizes
def _resize(p: Parts, name: str, **change) -> None:
    p.entry(name).update(change)


case(
    "size",
    "manifest says fewer bytes",
    build(mutate=lambda p: _resize(p, NAME, size=3)),
    "the manifest says 3",
)
case(
    "size",
    "manifest says more bytes",
    build(mutate=lambda p: _resize(p, NAME, size=1000)),
    "the manifest says 1000",
)
case(
    "size",
    "declares 2 GiB",
    build(mutate=lambda p: _resize(p, NAME, size=2 << 30)),
    "more than 100 times its own size",
)
case(
    "size",
    "declares 2**62",
    build(mutate=lambda p: _resize(p, NAME, size=2**62)),
    "more than 100 times its own size",
)
case(
    "size",
    "settings larger than 8 MiB",
    build(files={**BASE_FILES, "jitsi-stack.yml": (b"#" * (9 << 20), 0o600)}),
    "is larger than 8 MiB",
)
case(
    "size",
    "secrets larger than 8 MiB",
    build(files={**BASE_FILES, NAME: (b"#" * (9 << 20), 0o600)}),
    "more than a jitsi-stack's state may have",
)
case(
    "size",
    "manifest larger than its bound",
    build(mutate=lambda p: pack(p, json.dumps(p.manifest).encode() + b" " * (MANIFEST_MAX + 1))),
    "larger than 16 MiB",
)


def _bomb(p: Parts) -> bytes:
    """A storage file of 200 MiB of zeros, declared honestly: 200 KiB of gzip."""
    size = 200 << 20
    name = "jitsi-meet/storage/prosody/data/bomb.dat"
    digest = hashlib.sha256()
    zero = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        digest.update(zero)
    p.manifest["members"].append({"name": name, "kind": "file", "mode": "0o600", "uid": 0, "gid": 0,
                                  "size": size, "sha256": digest.hexdigest()})  # fmt: skip
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=9) as tar:
        data = json.dumps(p.manifest).encode()
        tar.addfile(_info(MANIFEST, data), io.BytesIO(data))
        for info, content in p.members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
        info = _info(name, None)
        info.size = size

        class Zeros(io.RawIOBase):
            left = size

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = b"\0" * n
                self.left -= n
                return n

        tar.addfile(info, Zeros())
    return raw.getvalue()


case(
    "size",
    "gzip bomb 200 MiB in 200 KiB",
    lambda: build(mutate=_bomb),
    "more than 100 times its own size",
)


def _header_lies(p: Parts) -> bytes:
    """The tar header says 4 GiB for a member of 40 bytes (its data runs into the next header)."""
    plain = bytearray(gzip.decompress(pack(p)))
    with tarfile.open(fileobj=io.BytesIO(bytes(plain))) as tar:
        offset = tar.getmember(NAME).offset
    header = plain[offset : offset + 512]
    header[124:136] = b"%011o\0" % (4 << 30)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    plain[offset : offset + 512] = header
    return gzip.compress(bytes(plain))


case("size", "tar header size lies", lambda: build(mutate=_header_lies), "the manifest says")


# tar extension headers: pax records and GNU long names that rename or resize a member
def _pax(p: Parts, headers: dict) -> None:
    i = next(i for i, (info, _) in enumerate(p.members) if info.name == NAME)
    p.members[i][0].pax_headers = headers


for label, headers, text in (
    ("path ../evil", {"path": "../evil"}, "unsafe path"),
    ("path absolute", {"path": "/etc/cron.d/evil"}, "unsafe path"),
    ("path with a control character", {"path": "a\x1bb"}, "unsafe path"),
    ("path of another member", {"path": "jitsi-stack.yml"}, "is stored twice"),
    ("path of a listed folder", {"path": ".jitsi-stack"}, "is stored twice"),
    ("size larger", {"size": "999999"}, ""),
    ("size negative", {"size": "-5"}, ""),
    ("header of 10 MiB", {"comment": "x" * (10 << 20)}, "unpacks to more than its manifest declares"),
):  # fmt: skip
    case("tar-header", f"pax {label}", build(mutate=lambda p, h=headers: _pax(p, h)), text)


def _gnu(p: Parts, name: str) -> bytes:
    raw = io.BytesIO()
    data = json.dumps(p.manifest).encode()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(_info(MANIFEST, data), io.BytesIO(data))
        for info, content in p.members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
        tar.addfile(_info(name, b"x"), io.BytesIO(b"x"))
    return raw.getvalue()


for label, name in (
    ("../", "../" + "a" * 120),
    ("absolute", "/" + "b" * 120),
    ("long but unlisted", "c" * 200),
):
    text = "is stored but not in the manifest" if label.startswith("long") else "unsafe path"
    case("tar-header", f"GNU long name {label}", build(mutate=lambda p, n=name: _gnu(p, n)), text)

# duplicates and completeness
case(
    "duplicate",
    "file stored twice",
    build(mutate=lambda p: p.members.append(p.members[-1])),
    "is stored twice",
)
case(
    "duplicate",
    "folder stored twice",
    build(mutate=lambda p: p.members.append(p.members[0])),
    "is stored twice",
)
case(
    "duplicate",
    "listed twice",
    build(mutate=lambda p: p.manifest["members"].append(dict(p.manifest["members"][-1]))),
    "is listed twice",
)
case(
    "duplicate",
    "listed as file and folder",
    build(mutate=lambda p: p.manifest["members"].append(_entry(NAME, None))),
    "is listed twice",
)
case("duplicate", "missing member", build(mutate=lambda p: p.members.pop()), "is incomplete")
case(
    "duplicate",
    "stored but not listed",
    build(mutate=lambda p: p.members.append((_info("jitsi-stack.local.yml", b"x"), b"x"))),
    "is stored but not in the manifest",
)
case(
    "duplicate",
    "listed under another name",
    build(mutate=lambda p: p.entry(NAME).update(name=".jitsi-stack/state.json")),
    "stored but not in the manifest",
)
for name in BASE_FILES:

    def flip(p: Parts, n=name) -> None:
        i = next(i for i, (info, _) in enumerate(p.members) if info.name == n)
        info, data = p.members[i]
        p.members[i] = (info, bytes([data[0] ^ 1]) + data[1:])

    case("content", f"one byte of {name} changed", build(mutate=flip), f"{name}: checksum mismatch")

# nothing to restore
case(
    "empty",
    "no members",
    build(mutate=lambda p: (p.members.clear(), p.manifest["members"].clear())),
    "holds no file to restore",
)
case("empty", "folders only", build(mutate=lambda p: (p.members.__setitem__(slice(None), [m for m in p.members if m[1] is None]),
                                                     p.manifest.__setitem__("members", [e for e in p.manifest["members"] if e["kind"] == "dir"]))), "holds no file to restore")  # fmt: skip


@pytest.fixture
def target(tmp_path) -> Path:
    """A project folder the restore must leave byte-identical when it refuses."""
    base = tmp_path / "target"
    base.mkdir()
    write_settings(base, "project_name: kept\n")
    seed_secrets(base)
    (base / "jitsi-meet/storage/prosody/data").mkdir(parents=True)
    (base / "jitsi-meet/storage/prosody/data/a.dat").write_text("kept-agent\n")
    return base


def _check_refused(out, where: str, text: str, before, base: Path) -> None:
    assert out.returncode in (1, 2), (out.returncode, out.stdout, out.stderr)
    assert len(out.lines) == 1, out.lines
    line = out.lines[0]
    assert line.startswith(f"error: {where}: "), line
    assert text in line, line
    assert line.endswith("nothing was restored"), line
    assert ": " in line.split(f"{where}: ", 1)[1]  # what is wrong, then the fix
    assert tree_snapshot(base) == before
    for secret in SECRET_VALUES:
        assert secret not in out.stdout + out.stderr


@pytest.mark.parametrize("key", list(CASES))
def test_a_hostile_or_broken_archive_is_refused_and_changes_nothing(target, tmp_path, key):
    _, data, text = CASES[key]
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(data() if callable(data) else data)
    before = tree_snapshot(target)
    out = run_cli(target, "restore", str(archive), "--yes")
    _check_refused(out, str(archive), text, before, target)


SPECIAL = {
    "a folder": lambda p: p.mkdir(),
    "a fifo": lambda p: os.mkfifo(p),
    "a link to /dev/zero": lambda p: p.symlink_to("/dev/zero"),
    "a link to a folder": lambda p: p.symlink_to("/etc"),
}


@pytest.mark.parametrize("label", list(SPECIAL))
def test_an_archive_that_is_no_regular_file_is_refused_without_reading(target, tmp_path, label):
    archive = tmp_path / "odd.tar.gz"
    SPECIAL[label](archive)
    before = tree_snapshot(target)
    out = run_cli(target, "restore", str(archive), "--yes")
    _check_refused(out, str(archive), "is not a regular file", before, target)


def test_a_format_1_archive_of_an_earlier_version_still_restores(target, tmp_path):
    def older(p: Parts) -> None:
        p.manifest.pop("kind")
        p.manifest["format"] = 1

    archive = tmp_path / "format1.tar.gz"
    archive.write_bytes(build(mutate=older))
    out = run_cli(target, "restore", str(archive), "--yes")
    assert out.returncode == 0, out.stderr
    assert (target / NAME).read_bytes() == BASE_FILES[NAME][0]


def test_a_missing_archive_is_a_usage_error(tmp_path):
    out = run_cli(tmp_path, "restore", str(tmp_path / "nope.tar.gz"))
    assert (out.returncode, out.lines) == (
        2,
        [f"error: {tmp_path / 'nope.tar.gz'}: no such file: give the backup archive (.tar.gz)"],
    )


def test_the_base_archive_of_the_table_restores(target, tmp_path):
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(GOOD)
    out = run_cli(target, "restore", str(archive), "--yes")
    assert out.returncode == 0, out.stderr
    assert (target / NAME).read_bytes() == BASE_FILES[NAME][0]


# -- the hostile table: target folders --------------------------------------------------------


def _link(rel: str, to: str = "/tmp"):
    def setup(base: Path) -> None:
        path = base / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(to)

    return setup


def _file(rel: str):
    def setup(base: Path) -> None:
        path = base / rel
        if path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("in the way\n")

    return setup


def _dir(rel: str):
    def setup(base: Path) -> None:
        path = base / rel
        if path.exists():
            path.unlink()
        path.mkdir(parents=True)

    return setup


def _fifo(rel: str):
    def setup(base: Path) -> None:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).unlink(missing_ok=True)
        os.mkfifo(base / rel)

    return setup


TARGETS = {  # label -> (setup, path named in the error, text)
    "jitsi-meet a link": (_link("jitsi-meet"), "jitsi-meet", "is a symbolic link"),
    "storage a link": (_link("jitsi-meet/storage"), "jitsi-meet/storage", "is a symbolic link"),
    "state folder a link": (_link(".jitsi-stack"), ".jitsi-stack", "is a symbolic link"),
    "prosody folder a link": (
        _link("jitsi-meet/storage/prosody"),
        "jitsi-meet/storage/prosody",
        "is a symbolic link",
    ),
    "secrets a link": (
        _link(".jitsi-stack/secrets.env", "/etc/passwd"),
        ".jitsi-stack/secrets.env",
        "is a symbolic link",
    ),
    "settings a link": (
        _link("jitsi-stack.yml", "/etc/hostname"),
        "jitsi-stack.yml",
        "is a symbolic link",
    ),
    "settings a dangling link": (
        _link("jitsi-stack.yml", "/nonexistent"),
        "jitsi-stack.yml",
        "is a symbolic link",
    ),
    "jitsi-meet a file": (_file("jitsi-meet"), "jitsi-meet", "is not a folder"),
    "storage a file": (_file("jitsi-meet/storage"), "jitsi-meet/storage", "is not a folder"),
    "state folder a file": (_file(".jitsi-stack"), ".jitsi-stack", "is not a folder"),
    "prosody folder a file": (
        _file("jitsi-meet/storage/prosody"),
        "jitsi-meet/storage/prosody",
        "has something else",
    ),
    "secrets a folder": (
        _dir(".jitsi-stack/secrets.env"),
        ".jitsi-stack/secrets.env",
        "has something else",
    ),
    "settings a folder": (_dir("jitsi-stack.yml"), "jitsi-stack.yml", "has something else"),
    "secrets a fifo": (
        _fifo(".jitsi-stack/secrets.env"),
        ".jitsi-stack/secrets.env",
        "has something else",
    ),
    "a link inside prosody's folder": (
        _link("jitsi-meet/storage/prosody/data/evil"),
        "jitsi-meet/storage/prosody",
        "holds a link or a special file",
    ),
    "a fifo inside prosody's folder": (
        _fifo("jitsi-meet/storage/prosody/data/pipe"),
        "jitsi-meet/storage/prosody",
        "holds a link or a special file",
    ),
    "local layer a link": (
        _link("jitsi-stack.local.yml", "/etc/hostname"),
        "jitsi-stack.local.yml",
        "is a settings layer but not a regular file",
    ),
    "local layer a folder": (
        _dir("jitsi-stack.local.yml"),
        "jitsi-stack.local.yml",
        "is a settings layer but not a regular file",
    ),
    "profile layer a fifo": (
        _fifo("jitsi-stack.prod.yml"),
        "jitsi-stack.prod.yml",
        "is a settings layer but not a regular file",
    ),
    "backups a link": (_link("backups"), "backups", "is not a real folder"),
    "backups a file": (_file("backups"), "backups", "is not a real folder"),
}


@pytest.mark.parametrize("label", list(TARGETS))
def test_a_target_folder_it_cannot_restore_into_is_left_as_it_was(target, tmp_path, label):
    setup, where, text = TARGETS[label]
    setup(target)
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(GOOD)
    before = tree_snapshot(target)
    out = run_cli(target, "restore", str(archive), "--yes")
    _check_refused(out, where, text, before, target)


ROOT_ENV = {
    ".env a file": (_file(".env"), ".env", "keeps a link to jitsi-meet/.env"),
    ".env a link elsewhere": (
        _link(".env", "/etc/passwd"),
        ".env",
        "keeps a link to jitsi-meet/.env",
    ),
}


@pytest.mark.parametrize("label", list(ROOT_ENV))
def test_a_root_env_that_is_not_the_tools_link_is_left_as_it_was(project, target, tmp_path, label):
    setup, where, text = ROOT_ENV[label]
    setup(target)
    archive = backup(project)
    before = tree_snapshot(target)
    out = run_cli(target, "restore", str(archive), "--yes")
    _check_refused(out, where, text, before, target)


def test_too_little_free_space_is_refused_first(target, tmp_path, monkeypatch):
    archive = tmp_path / "good.tar.gz"
    archive.write_bytes(GOOD)
    monkeypatch.setattr(
        restore_target.shutil,
        "disk_usage",
        lambda _: shutil._ntuple_diskusage(1 << 30, 1 << 30, 1000),
    )  # type: ignore[attr-defined]
    before = tree_snapshot(target)
    out = run_cli(target, "restore", str(archive), "--yes")
    _check_refused(out, str(archive), "MiB are free", before, target)


def test_case_counts_per_category():
    """The table's size, per category (the closing note quotes these)."""
    counts: dict[str, int] = {}
    for category, _, _ in CASES.values():
        counts[category] = counts.get(category, 0) + 1
    counts["not-a-file"] = len(SPECIAL)
    counts["target"] = len(TARGETS) + len(ROOT_ENV) + 1
    print(json.dumps(counts, sort_keys=True), sum(counts.values()))
    assert sum(counts.values()) >= 250
    assert copy.deepcopy(counts) == counts
