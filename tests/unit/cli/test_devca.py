"""`inv dev-ca.trust --print` and `inv dev-ca.status` (cli/devca.py; issue 22)."""

from __future__ import annotations

import json

from jitsi_stack.store import devca
from tests.support.project import run_cli, seed_secrets


def test_without_a_ca_both_say_how_to_make_one(root):
    for argv in (("dev-ca.trust", "--print"), ("dev-ca.status",)):
        proc = run_cli(root, *argv)
        assert proc.returncode == 1
        assert proc.lines == [
            f"error: {devca.DIR}: no development CA yet: run `inv render` (or `inv start`) "
            "first; it is made when frontend.dev_https serves https"
        ]
        assert not (root / devca.DIR).exists()


def test_print_shows_the_commands_and_runs_nothing(root):
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    proc = run_cli(root, "dev-ca.trust", "--print", env={"HOME": str(root / "home")})
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    ca = str(root / devca.CA_CERT)
    assert any(line.endswith(f"install -m 0644 {ca} {devca.SYSTEM_ANCHOR}") for line in lines)
    assert any(line.endswith("update-ca-certificates") for line in lines)
    nss = [line for line in lines if line.startswith(f"certutil -d sql:{root}/home/.pki/nssdb ")]
    assert len(nss) == 1 and nss[0].endswith(f"-n 'jitsi-stack development CA' -i {ca}"), lines
    assert not (root / "home").exists()  # printed, not run


def test_status_shows_the_days_left(root):
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    proc = run_cli(root, "dev-ca.status", "--json")
    assert proc.returncode == 0
    shown = json.loads(proc.stdout)
    assert shown["days_left"] in (devca.SERVER_DAYS - 1, devca.SERVER_DAYS)
    assert shown["renewed_with_days_left"] == devca.RENEW_DAYS
    assert shown["trusted_by_system"] is False
