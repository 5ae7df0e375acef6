"""`inv backup` / `inv restore` on files: what goes in, what comes back (bytes, modes),
and every damaged, foreign, newer or hostile archive refused with one line before
anything is written. The running-stack round trip is in tests/docker/test_backup.py."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from jitsi_stack.backup import MANIFEST
from tests.helpers import run_cli, seed_secrets, tree_snapshot, write_settings

SETTINGS = "project_name: jsunitbackup\ncontainer_prefix: jsunitbackup\nauth: {enabled: true, type: internal}\n"
ACCOUNT = "jitsi-meet/storage/prosody/data/meet%2ejitsi/accounts/agent007.dat"


@pytest.fixture
def project(tmp_path) -> Path:
    base = tmp_path / "old"
    base.mkdir()
    write_settings(base, SETTINGS)
    seed_secrets(base)
    assert run_cli(base, "render").returncode == 0
    account = base / ACCOUNT
    account.parent.mkdir(parents=True)
    account.write_text('return {\n\t["stored_key"] = "abc";\n};\n')
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


def test_the_archive_holds_what_a_new_machine_needs_and_is_private(project):
    archive = backup(project)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    members = names(archive)
    assert members[0] == MANIFEST
    for needed in ("jitsi-stack.yml", ".jitsi-stack/secrets.env", ACCOUNT):
        assert needed in members
    assert not [n for n in members if "jibri" in n]  # recordings only when asked
    assert "docker-compose.yml" not in members  # generated: render makes it again
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
        entry = next(m for m in manifest["members"] if m["name"] == ACCOUNT)
        data = tar.extractfile(ACCOUNT).read()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["mode"] == "0o640"
    assert manifest["format"] == 1 and manifest["project"] == "jsunitbackup"
    assert manifest["image_tag"] == "stable-11146-2"
    with_recordings = backup(project, "--include-recordings")
    assert "jitsi-meet/storage/jibri/recordings/call.mp4" in names(with_recordings)


def test_restore_brings_back_every_byte_and_mode_into_an_empty_folder(project, tmp_path):
    archive = backup(project)
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout and "run `inv start`" in out.stdout
    for rel in ("jitsi-stack.yml", ".jitsi-stack/secrets.env", ACCOUNT):
        assert (new / rel).read_bytes() == (project / rel).read_bytes()
        assert stat.S_IMODE((new / rel).stat().st_mode) == stat.S_IMODE(
            (project / rel).stat().st_mode
        )
    assert stat.S_IMODE((new / ".jitsi-stack/secrets.env").stat().st_mode) == 0o600
    # the restored project renders the same files as the old one
    assert run_cli(new, "render").returncode == 0
    assert (new / "jitsi-meet/.env").read_text() == (project / "jitsi-meet/.env").read_text()


def test_restore_over_files_asks_and_saves_them_first(project, tmp_path):
    archive = backup(project)
    new = tmp_path / "new"
    new.mkdir()
    write_settings(new, "public_url: http://localhost:9999\n")
    before = tree_snapshot(new)
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 1
    assert out.lines[-1].startswith(
        "error: inv restore changes containers and files and there is no terminal"
    )
    assert tree_snapshot(new) == before
    out = run_cli(new, "restore", str(archive), "--yes")
    assert out.returncode == 0, out.stderr
    saved = list((new / "backups").glob("*.tar.gz"))
    assert len(saved) == 1
    with tarfile.open(saved[0]) as tar:
        assert tar.extractfile("jitsi-stack.yml").read() == b"public_url: http://localhost:9999\n"
    assert (new / "jitsi-stack.yml").read_text() == SETTINGS


def _tar(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _file(name: str, data: bytes, **attrs) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def _manifest(members: list[dict], **over) -> tuple[tarfile.TarInfo, bytes]:
    data = {"format": 1, "tool": "jitsi-stack", "version": "0.1.0", "members": members} | over
    return _file(MANIFEST, json.dumps(data).encode())


def _entry(name: str, data: bytes) -> dict:
    return {"name": name, "kind": "file", "size": len(data), "mode": "0o600", "uid": 0,
            "gid": 0, "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip


GOOD = b"project_name: x\n"


def _link(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


BAD_ARCHIVES = {
    "not gzip": (
        b"just some text",
        "is not a gzip-compressed tar archive (damaged or another file)",
    ),
    "truncated": ("truncate", "is damaged"),
    "foreign tar": (
        _tar([_file("etc/passwd", b"root:x:0:0")]),
        f"is not a jitsi-stack backup (no {MANIFEST} first)",
    ),
    "foreign manifest": (
        _tar([_file(MANIFEST, b'{"tool": "other"}')]),
        "is not a jitsi-stack backup (foreign manifest)",
    ),
    "newer format": (
        _tar([_manifest([], format=2, version="9.0")]),
        "is backup format 2, newer than this jitsi-stack reads (1): restore it with jitsi-stack 9.0 or newer",
    ),
    "checksum": (
        _tar(
            [
                _manifest([_entry("jitsi-stack.yml", GOOD)]),
                _file("jitsi-stack.yml", b"project_name: y\n"),
            ]
        ),
        "jitsi-stack.yml: checksum mismatch (damaged or changed)",
    ),
    "size": (
        _tar([_manifest([_entry("jitsi-stack.yml", GOOD)]), _file("jitsi-stack.yml", GOOD + b"#")]),
        "jitsi-stack.yml: has 17 bytes, the manifest says 16",
    ),
    "extra member": (
        _tar([_manifest([]), _file("jitsi-stack.yml", GOOD)]),
        "jitsi-stack.yml: is stored but not in the manifest (tampered?)",
    ),
    "missing member": (
        _tar([_manifest([_entry("jitsi-stack.yml", GOOD)])]),
        "is incomplete: jitsi-stack.yml is in the manifest but not stored",
    ),
    "dot-dot": (
        _tar([_manifest([]), _file("../evil", GOOD)]),
        "holds an unsafe path '../evil' (absolute or with ..)",
    ),
    "absolute": (
        _tar([_manifest([]), _file("/etc/cron.d/evil", GOOD)]),
        "holds an unsafe path '/etc/cron.d/evil' (absolute or with ..)",
    ),
    "manifest lists ..": (
        _tar([_manifest([_entry("a/../../evil", GOOD)])]),
        "lists an unsafe path 'a/../../evil'",
    ),
    "symlink": (
        _tar(
            [_manifest([_entry("jitsi-stack.yml", GOOD)]), _link("jitsi-stack.yml", "/etc/passwd")]
        ),
        "jitsi-stack.yml: is a link or device: a backup holds only files and folders",
    ),
    "twice": (
        _tar(
            [
                _manifest([_entry("jitsi-stack.yml", GOOD)]),
                _file("jitsi-stack.yml", GOOD),
                _file("jitsi-stack.yml", GOOD),
            ]
        ),
        "jitsi-stack.yml: is stored twice",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archives_are_one_line_and_restore_nothing(project, tmp_path, case):
    data, message = BAD_ARCHIVES[case]
    archive = tmp_path / "bad.tar.gz"
    if data == "truncate":
        good = backup(project).read_bytes()
        archive.write_bytes(good[: len(good) // 2])
    else:
        archive.write_bytes(data)
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 1, out.stderr
    assert len(out.lines) == 1, out.lines
    assert out.lines[0].startswith(f"error: {archive}: {message}"), out.lines
    assert out.lines[0].endswith("nothing was restored")
    assert os.listdir(new) == []
    assert not (tmp_path / "evil").exists()


def test_a_missing_archive_is_a_usage_error(tmp_path):
    out = run_cli(tmp_path, "restore", str(tmp_path / "nope.tar.gz"))
    assert (out.returncode, out.lines) == (
        2,
        [f"error: {tmp_path / 'nope.tar.gz'}: no such file: give the backup archive (.tar.gz)"],
    )


def test_a_link_in_the_storage_stops_the_backup(project):
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


def test_backup_never_overwrites(project):
    archive = backup(project)
    out = run_cli(project, "backup", "--to", str(archive))
    assert out.returncode == 1
    assert out.lines == [
        f"error: {archive}: exists: choose another name (a backup never overwrites)"
    ]


def test_gzip_of_a_real_backup_with_one_flipped_byte_is_refused(project, tmp_path):
    data = bytearray(gzip.decompress(backup(project).read_bytes()))
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
        offset = tar.getmember(ACCOUNT).offset_data
    data[offset + 3] ^= 0xFF  # one byte of an agent's account file
    archive = tmp_path / "flipped.tar.gz"
    archive.write_bytes(gzip.compress(bytes(data)))
    new = tmp_path / "new"
    new.mkdir()
    out = run_cli(new, "restore", str(archive))
    assert out.returncode == 1
    assert out.lines == [
        f"error: {archive}: {ACCOUNT}: checksum mismatch (damaged or changed): nothing was restored"
    ]
    assert os.listdir(new) == []
