"""Back up a running call-center stack, lose the machine, restore into a new folder: the
same agents log in with their old passwords and the internal services authenticate (no
"not-authorized"); `inv update` takes its own backup first and keeps the last few."""

from __future__ import annotations

import json
import subprocess

import pytest

from jitsi_stack.smoke.xmpp import BoshClient, Deadline, SaslError
from tests.helpers import force_down, inv, stand_in_settings, started_stack, write_settings

pytestmark = pytest.mark.docker

PROJECT = "jsbk"
PORT = 19943
SETTINGS = stand_in_settings(PROJECT, PORT, 19910, 19980, 19988) + (
    "auth: {enabled: true, type: internal, guests: true}\n"
)


def login(name: str, password: str) -> str:
    client = BoshClient(f"http://localhost:{PORT}/http-bind", "meet.jitsi", Deadline(15))
    try:
        client.connect()
        client.login_plain(name, password)
        return client.bind()
    finally:
        client.terminate()


@pytest.fixture(scope="module")
def old(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("old-machine") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def test_backup_restore_onto_a_new_folder_keeps_agents_and_service_accounts(old, tmp_path):
    add = inv(old, "users.add", "agent042", "--password-stdin", input_text="Old-pass-042\n")
    assert add.returncode == 0, add.stderr
    made = inv(old, "backup", "--json", "--to", str(tmp_path / "meet.tar.gz"))
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["prosody_paused_seconds"] > 0  # prosody was running: paused while read
    assert inv(old, "status").returncode == 0  # and running again afterwards
    assert login("agent042", "Old-pass-042")

    # the machine is lost
    assert inv(old, "clean", "--all", "--yes").returncode == 0
    force_down(PROJECT)

    new = tmp_path / "new-machine"
    new.mkdir()
    restored = inv(new, "restore", result["archive"])
    assert restored.returncode == 0, restored.stderr
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
        assert "room opened" in results["auth"]["detail"]
        logs = inv(new, "logs", "--tail", "300").stdout
        assert "not-authorized" not in logs
    finally:
        inv(new, "clean", "--all", "--yes")
        force_down(PROJECT)


def test_update_backs_up_first_and_keeps_the_last_five(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    write_settings(base, SETTINGS)
    force_down(PROJECT)
    assert inv(base, "start").returncode == 0
    try:
        folder = base / "backups"
        folder.mkdir()
        for i in range(6):  # older archives of earlier updates
            (folder / f"jitsi-stack-backup-20260101-00000{i}-before-update.tar.gz").write_bytes(
                b"x"
            )
        (folder / "jitsi-stack-backup-20260101-000000.tar.gz").write_bytes(b"mine")
        for svc in ("web", "prosody", "jicofo", "jvb"):  # a second tag, present locally
            repo = f"jitsi-stack-testbed/{svc}"
            subprocess.run(["docker", "tag", f"{repo}:good", f"{repo}:good2"], check=True)
        proc = inv(base, "update", "--tag", "good2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "backup: backups/jitsi-stack-backup-" in proc.stderr
        kept = sorted(p.name for p in folder.glob("*-before-update.tar.gz"))
        assert len(kept) == 5
        assert kept[-1].startswith("jitsi-stack-backup-2026") and "20260101" not in kept[-1]
        assert (folder / "jitsi-stack-backup-20260101-000000.tar.gz").read_bytes() == b"mine"
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(PROJECT)
        for svc in ("web", "prosody", "jicofo", "jvb"):
            subprocess.run(["docker", "rmi", f"jitsi-stack-testbed/{svc}:good2"], check=False,
                           capture_output=True)  # fmt: skip
