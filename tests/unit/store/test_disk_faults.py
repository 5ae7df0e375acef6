"""A full disk and a read-only file system give one line naming the file, and leave the
files as they were (every write goes to a temporary file renamed into place). Needs root
to mount a small tmpfs; skipped elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jitsi_stack.store import paths
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root to mount a tmpfs"
)


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_is_one_line_and_leaves_the_files_whole(small_fs):
    root = small_fs / "project"
    root.mkdir()
    write_settings(root, "timezone: UTC\n")
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    write_settings(
        root,
        "timezone: UTC\ncustom: x\n".replace("custom: x\n", "")
        + "web: {custom_config_js: '"
        + "x" * 200
        + "'}\n",
    )
    _fill(small_fs)
    before = {k: v for k, v in tree_snapshot(root).items() if k != "jitsi-stack.yml"}
    proc = run_cli(root, "render")
    assert proc.returncode == 1
    assert len(proc.lines) == 1
    assert "the disk is full: free some space and re-run" in proc.lines[0]
    after = {k: v for k, v in tree_snapshot(root).items() if k != "jitsi-stack.yml"}
    assert {k: v for k, v in after.items() if k != paths.MANIFEST} == {
        k: v for k, v in before.items() if k != paths.MANIFEST
    }
    (small_fs / "filler").unlink()
    assert run_cli(root, "render").returncode == 0  # and the next render finishes the job


def test_a_read_only_file_system_is_one_line(small_fs):
    root = small_fs / "project"
    root.mkdir()
    write_settings(root, "timezone: UTC\n")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    proc = run_cli(root, "render")
    assert proc.returncode == 1
    assert len(proc.lines) == 1
    assert "read-only" in proc.lines[0]
