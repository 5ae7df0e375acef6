"""A running testbed stack whose own certificate expires while it runs (issue 23: an
expired certificate blocks only the tasks it makes worse).

The leaf is made to expire seconds after `inv start` installed it, so nginx serves an
expired certificate, as it would the morning after a missed renewal. Then the nightly
backup, removing a departed agent and stopping the stack must work (with a one-line
warning), `inv status` must show the certificate row red and exit non-zero, and only a
task that would install a new expired certificate refuses, changing nothing.
"""

from __future__ import annotations

import json
import tarfile
import time

import pytest

from tests.support.project import containers, inv, stand_in_settings, started_stack, tree_snapshot
from tests.unit.cli.test_bad_input_certs import _cert, _key_pem, _pem

pytestmark = pytest.mark.docker

PROJECT = "jscert"
HTTPS_PORT = 25443
SETTINGS = (
    stand_in_settings(PROJECT, 25080, 11510, 25081, 25088, https=HTTPS_PORT)
    + """
auth: {enabled: true, type: internal, guests: true}
"""
)
LIFETIME = 20  # seconds the leaf is valid after it is made: `inv start` renders at once
PASSWORD = "Agent-pass-4711"
WARNING = "warning: https.certificate.cert: the certificate expired on "


def _leaf(seconds: float) -> bytes:
    return _pem(
        _cert("ec", cn="localhost", hosts=("localhost",), ips=("127.0.0.1",), days=seconds / 86400)
    )


@pytest.fixture(scope="module")
def expired(tmp_path_factory, testbed_images):
    base = tmp_path_factory.mktemp("certexpiry") / "project"
    (base / "certs").mkdir(parents=True)
    (base / "certs" / "site.crt").write_bytes(_leaf(LIFETIME))
    (base / "certs" / "site.key").write_bytes(_key_pem("ec"))
    (base / "certs" / "site.key").chmod(0o600)
    made = time.monotonic()
    with started_stack(base, PROJECT, SETTINGS) as (root, _):
        added = inv(root, "users.add", "agent1", "--password-stdin", input_text=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        time.sleep(max(0.0, made + LIFETIME + 2 - time.monotonic()))
        yield root


def test_status_shows_the_served_certificate_red_and_fails(expired):
    proc = inv(expired, "status", "--json")
    assert proc.returncode == 1, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["ok"] is False
    assert all(s["ok"] for s in shown["services"])  # the stack itself is fine
    served = shown["certificates"][0]
    assert served["source"] == f"127.0.0.1:{HTTPS_PORT}"  # what nginx serves, read over TLS
    assert served["level"] == "fail" and served["days_left"] < 0
    assert len(shown["certificates"]) == 1  # the file is the one served: one row
    text = inv(expired, "status")
    assert text.returncode == 1
    assert WARNING in text.stderr
    row = next(line for line in text.stdout.splitlines() if line.startswith("127.0.0.1:"))
    assert "EXPIRED: renew it" in row and served["not_after"] in row


def test_a_task_that_would_install_a_new_expired_certificate_refuses(expired):
    served = (expired / "jitsi-meet/web/keys/cert.crt").read_bytes()
    kept = (expired / "certs" / "site.crt").read_bytes()
    (expired / "certs" / "site.crt").write_bytes(
        _pem(_cert("ec", cn="localhost", hosts=("localhost",), ips=("127.0.0.1",), days=-1))
    )
    try:
        before = tree_snapshot(expired)
        ids = containers(PROJECT)
        proc = inv(expired, "restart")
        assert proc.returncode == 2, proc.stderr
        assert (
            proc.stderr.strip()
            .splitlines()[-1]
            .endswith("renew it (not installed: the stack keeps jitsi-meet/web/keys/cert.crt)")
        )
        assert tree_snapshot(expired) == before
        assert containers(PROJECT) == ids  # nothing recreated
        assert (expired / "jitsi-meet/web/keys/cert.crt").read_bytes() == served
    finally:
        (expired / "certs" / "site.crt").write_bytes(kept)
    again = inv(expired, "render")  # the expired one already in place: nothing gets worse
    assert again.returncode == 0, again.stderr
    assert WARNING in again.stderr


def test_backup_users_remove_and_stop_run_with_a_warning(expired, tmp_path):
    dest = tmp_path / "nightly.tar.gz"
    backup = inv(expired, "backup", "--to", str(dest))
    assert backup.returncode == 0, backup.stderr
    assert WARNING in backup.stderr
    with tarfile.open(dest) as tar:
        names = set(tar.getnames())
    assert {"jitsi-stack.yml", "certs/site.crt", ".jitsi-stack/secrets.env"} <= names
    assert any(n.endswith("accounts/agent1.dat") for n in names)  # prosody's account

    gone = inv(expired, "users.remove", "agent1")
    assert gone.returncode == 0, gone.stderr
    assert WARNING in gone.stderr
    listed = json.loads(inv(expired, "users.list", "--json").stdout)
    assert listed["accounts"] == []

    stop = inv(expired, "stop")
    assert stop.returncode == 0, stop.stderr
    assert WARNING in stop.stderr
    states = json.loads(inv(expired, "status", "--json").stdout)["services"]
    assert {s["state"] for s in states} <= {"exited"}


def test_with_a_settings_typo_stop_and_status_still_work(expired):
    settings = expired / "jitsi-stack.yml"
    text = settings.read_text()
    settings.write_text(text + "timezon: UTC\n")
    try:
        status = inv(expired, "status", "--json")
        assert status.returncode == 1
        shown = json.loads(status.stdout)
        assert "unknown setting timezon" in shown["settings"]
        assert shown["project"] == PROJECT and shown["services"]
        stop = inv(expired, "stop")
        assert stop.returncode == 0, stop.stderr
        assert "the settings do not load, so `stop` works on what was rendered" in stop.stderr
        clean = inv(expired, "clean", "--yes")
        assert clean.returncode == 2  # not one of the four: it refuses, naming the typo
        assert "unknown setting timezon" in clean.stderr
    finally:
        settings.write_text(text)
