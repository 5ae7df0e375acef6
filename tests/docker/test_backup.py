"""Back up a running call-center stack, lose the machine, restore into a new folder: the
restored project is up to date (`inv render --check` exits 0) and starts healthy with no
hand step (the platform's compose file and the frontend file came with it), the agents made
before the backup log in with their passwords, the internal services authenticate. Then
every archive kind that lands in backups/ (inv backup, clean --all, update, restore's
safety copy) restores with `inv restore`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from jitsi_stack.smoke.xmpp import BoshClient, Deadline, SaslError
from tests.support.project import force_down, inv, stand_in_settings, started_stack, tree_snapshot

pytestmark = pytest.mark.docker

PROJECT = "jsarchbk"
PORT = 24043
ACCOUNT = "jitsi-meet/storage/prosody/data/meet%2ejitsi/accounts/agent042.dat"
SETTINGS = stand_in_settings(
    PROJECT, PORT, 24010, 24080, 24088, frontend_env_file="frontend/.env.local"
) + (
    "auth: {enabled: true, type: internal, guests: true}\ncompose: {extra_files: [platform.yml]}\n"
)
TAG = "jsarch2"  # a second tag of the testbed images, only this module's
SERVICES = ("web", "prosody", "jicofo", "jvb")


def login(name: str, password: str) -> str:
    client = BoshClient(f"http://localhost:{PORT}/http-bind", "meet.jitsi", Deadline(15))
    try:
        client.connect()
        client.login_plain(name, password)
        return client.bind()
    finally:
        client.terminate()


def platform_files(base: Path) -> None:
    """What a call-center platform adds: its compose file and its frontend's env file."""
    (base / "platform.yml").write_text("x-platform: {backend: callcenter}\n")
    (base / "frontend").mkdir(exist_ok=True)
    (base / "frontend/.env.local").write_text("API_URL=http://backend\n")


def outside_storage(base: Path) -> dict:
    """The hash tree of the project but jitsi-meet/, where running containers write."""
    return {k: v for k, v in tree_snapshot(base).items() if not k.startswith("jitsi-meet")}


@pytest.fixture(scope="module")
def old(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("old-machine") / "project"
    folder.mkdir()
    platform_files(folder)
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def restored_ok(archive: Path, folder: Path, *extra: str) -> None:
    folder.mkdir(exist_ok=True)
    out = inv(folder, "restore", str(archive), *extra)
    assert out.returncode == 0, out.stdout + out.stderr
    check = inv(folder, "render", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert (folder / ACCOUNT).is_file()  # the agent made before the backup


def test_backup_restore_onto_a_new_folder_starts_and_agents_log_in(old, tmp_path):
    add = inv(old, "users.add", "agent042", "--password-stdin", input_text="Old-pass-042\n")
    assert add.returncode == 0, add.stderr
    made = inv(old, "backup", "--json", "--to", str(tmp_path / "meet.tar.gz"))
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["prosody_paused_seconds"] > 0  # prosody was running: paused while read
    assert inv(old, "status").returncode == 0  # and running again afterwards
    assert login("agent042", "Old-pass-042")

    # the machine is lost; clean --all leaves its own archive
    assert inv(old, "clean", "--all", "--yes").returncode == 0
    force_down(PROJECT)
    before_clean = list((old / "backups").glob("jitsi-stack-before-clean-*.tar.gz"))
    assert len(before_clean) == 1

    new = tmp_path / "new-machine"
    restored_ok(Path(result["archive"]), new)  # render --check exits 0: nothing by hand
    assert (new / "platform.yml").read_text() == (old / "platform.yml").read_text()
    started = inv(new, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        assert login("agent042", "Old-pass-042").startswith("agent042@meet.jitsi/")
        with pytest.raises(SaslError):
            login("agent042", "wrong-password")
        smoke = inv(new, "smoke", "--json", "--only", "jicofo-health,auth")
        results = {r["name"]: r for r in json.loads(smoke.stdout)}
        # jvb logged in with its restored password (jicofo counts it) ...
        assert "1 of 1 bridge operational" in results["jicofo-health"]["detail"]
        # ... and jicofo with its own: a logged-in agent gets a room from the focus
        assert results["auth"]["status"] == "pass", results["auth"]
        logs = inv(new, "logs", "--tail", "300").stdout
        assert "not-authorized" not in logs

        # inv update writes its archive first (a second tag of the same images)
        for svc in SERVICES:
            repo = f"jitsi-stack-testbed/{svc}"
            subprocess.run(["docker", "tag", f"{repo}:good", f"{repo}:{TAG}"], check=True)
        updated = inv(new, "update", "--tag", TAG)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        before_update = list((new / "backups").glob("jitsi-stack-before-update-*.tar.gz"))
        assert len(before_update) == 1
        assert login("agent042", "Old-pass-042")

        # not over a running project (prosody would write over what comes back) ...
        before = outside_storage(new)
        busy = inv(new, "restore", result["archive"], "--yes")
        assert busy.returncode == 1
        assert "of this project is running" in busy.stderr and "`inv stop`" in busy.stderr
        assert outside_storage(new) == before
        # ... but over the stopped one, keeping a safety copy of what it replaced
        assert inv(new, "stop").returncode == 0
        again = inv(new, "restore", result["archive"], "--yes")
        assert again.returncode == 0, again.stdout + again.stderr
        safety = list((new / "backups").glob("jitsi-stack-before-restore-*.tar.gz"))
        assert len(safety) == 1

        # every kind of archive found in backups/ restores into a fresh folder
        kinds = {"before-clean": before_clean[0], "before-update": before_update[0],
                 "before-restore": safety[0]}  # fmt: skip
        for kind, archive in kinds.items():
            assert (archive.stat().st_mode & 0o777) == 0o600
            restored_ok(archive, tmp_path / f"from-{kind}")
        # and the update's tag came back with the safety copy (it held the chosen tag)
        assert TAG in (tmp_path / "from-before-restore/.jitsi-stack/state.json").read_text()
    finally:
        inv(new, "clean", "--all", "--yes")
        force_down(PROJECT)
        for svc in SERVICES:
            subprocess.run(["docker", "rmi", f"jitsi-stack-testbed/{svc}:{TAG}"], check=False,
                           capture_output=True)  # fmt: skip


def test_update_keeps_the_last_five_of_its_archives_only(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    platform_files(base)
    (base / "jitsi-stack.yml").write_text(SETTINGS)
    force_down(PROJECT)
    assert inv(base, "start").returncode == 0
    try:
        folder = base / "backups"
        folder.mkdir(exist_ok=True)
        for i in range(6):  # older archives of earlier updates
            (folder / f"jitsi-stack-before-update-20260101-00000{i}.tar.gz").write_bytes(b"x")
        (folder / "jitsi-stack-backup-20260101-000000.tar.gz").write_bytes(b"mine")
        for svc in SERVICES:
            repo = f"jitsi-stack-testbed/{svc}"
            subprocess.run(["docker", "tag", f"{repo}:good", f"{repo}:{TAG}"], check=True)
        proc = inv(base, "update", "--tag", TAG)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "backup: backups/jitsi-stack-before-update-" in proc.stderr
        kept = sorted(p.name for p in folder.glob("jitsi-stack-before-update-*.tar.gz"))
        assert len(kept) == 5
        assert "20260101" not in kept[-1]
        assert (folder / "jitsi-stack-backup-20260101-000000.tar.gz").read_bytes() == b"mine"
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(PROJECT)
        for svc in SERVICES:
            subprocess.run(["docker", "rmi", f"jitsi-stack-testbed/{svc}:{TAG}"], check=False,
                           capture_output=True)  # fmt: skip
