"""Links planted in the managed tree are never written through: render, start's render,
rotate's backup, clean's archive and the frontend line leave everything outside alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jitsi_stack.store import paths
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious\n")
    write_settings(root, "timezone: UTC\n")
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    return root, outside


@pytest.mark.parametrize(
    "rel", [paths.COMPOSE_FILE, paths.ENV_FILE, paths.CUSTOM_CONFIG, paths.MANIFEST]
)
def test_a_generated_file_replaced_by_a_link_is_refused_then_replaced_not_followed(project, rel):
    root, outside = project
    (root / rel).unlink()
    (root / rel).symlink_to(outside / "victim")
    before = tree_snapshot(outside)
    proc = run_cli(root, "render")
    if rel == paths.MANIFEST:  # the manifest is ours alone: a link there is refused outright
        assert proc.returncode == 1 and "is a symbolic link" in proc.stderr
    else:
        assert proc.returncode == 1 and f"hand edits in {rel}" in proc.stderr
        forced = run_cli(root, "render", "--force")
        assert forced.returncode == 0, forced.stderr
        assert not (root / rel).is_symlink() and (root / rel).is_file()
        backups = list((root / paths.REPLACED_COPIES).rglob(Path(rel).name))
        assert backups and backups[0].read_text() == f"symlink -> {outside / 'victim'}\n"
    assert tree_snapshot(outside) == before


@pytest.mark.parametrize(
    "rel",
    [
        paths.CONFIG_DIR,
        f"{paths.CONFIG_DIR}/web",
        f"{paths.CONFIG_DIR}/storage/prosody",
        paths.STATE_DIR,
    ],
)
def test_a_managed_directory_replaced_by_a_link_is_refused(project, rel):
    root, outside = project
    import shutil

    shutil.rmtree(root / rel)
    (root / rel).symlink_to(outside, target_is_directory=True)
    before = tree_snapshot(outside)
    inside = tree_snapshot(root)
    for argv in (("render",), ("render", "--force"), ("rotate-secrets", "--yes")):
        proc = run_cli(root, *argv)
        assert proc.returncode != 0, argv
        assert "Traceback" not in proc.stderr
        assert f"{rel}: is a symbolic link" in proc.stderr or argv[0] == "rotate-secrets"
    assert tree_snapshot(outside) == before
    assert tree_snapshot(root) == inside  # not even the passwords were rotated


def test_the_root_env_link_pointing_elsewhere_is_refused(project):
    root, outside = project
    (root / ".env").unlink()
    (root / ".env").symlink_to(outside / "victim")
    before = tree_snapshot(outside)
    proc = run_cli(root, "render")
    assert proc.returncode == 1 and "hand edits in .env" in proc.stderr
    assert run_cli(root, "render", "--force").returncode == 0
    assert os.readlink(root / ".env") == paths.ENV_FILE
    assert tree_snapshot(outside) == before


def test_clean_all_refuses_a_linked_backups_directory(project):
    root, outside = project
    (root / "backups").symlink_to(outside, target_is_directory=True)
    before = tree_snapshot(outside)
    proc = run_cli(root, "clean", "--all", "--yes")
    assert proc.returncode == 1
    assert proc.lines == [
        "error: backups: is a symbolic link: jitsi-stack writes backup archives only into a "
        "real directory: replace the link with a directory"
    ]
    assert tree_snapshot(outside) == before
    assert (root / paths.SECRETS).exists()


def test_frontend_file_is_written_in_place_keeping_owner_mode_and_bytes(project, tmp_path):
    root, _ = project
    front = tmp_path / "frontend"
    front.mkdir()
    target = front / ".env.local"
    target.write_bytes(b"A=1\r\nB=\xff\r\n")
    os.chmod(target, 0o604)
    if os.geteuid() == 0:
        os.chown(target, 1234, 5678)
    write_settings(root, "frontend: {env_file: ../frontend/.env.local}\n")
    assert run_cli(root, "render").returncode == 0
    assert target.read_bytes() == (  # the https endpoint (development CA, issue 22)
        b"A=1\r\nB=\xff\r\nNEXT_PUBLIC_JITSI_DOMAIN=localhost:8444\r\n"
        b"NEXT_PUBLIC_JITSI_URL=https://localhost:8444\r\n"
    )
    st = target.stat()
    assert st.st_mode & 0o777 == 0o604
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert sorted(p.name for p in front.iterdir()) == [".env.local"]  # no temporary left
