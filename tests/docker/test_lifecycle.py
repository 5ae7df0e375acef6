"""The lifecycle tasks against a real Docker engine and Compose v2, on the stand-in images.

One stack is started for the module and driven through its life in file order:
start from nothing, a no-op start, logs, a settings change, a killed bridge, a
wrong internal password, then clean. Update/rollback and a taken port use their
own projects.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from jitsi_stack.store import paths, secrets
from tests.support.project import (
    containers,
    force_down,
    inv,
    networks,
    stand_in_settings,
    status_json,
    wait_for,
    write_settings,
)

pytestmark = pytest.mark.docker

PROJECT = "jstest"
SETTINGS = stand_in_settings(PROJECT, 18443, 10110, 18080, 18888)
JITSI = ["jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"]


def own_settings(project: str, slot: int) -> str:
    """SETTINGS for another project, on ports of its own (slot 1..9), so a test never
    depends on whether the module's stack is still running."""
    shift = 100 * slot
    text = SETTINGS.replace(PROJECT, project)
    for port in (18443, 10110, 18080, 18888):
        text = text.replace(str(port), str(port + shift))
    return text


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    base = tmp_path_factory.mktemp("lifecycle") / "project"
    base.mkdir()
    write_settings(base, SETTINGS)
    force_down(PROJECT)
    yield base
    inv(base, "clean", "--all", "--yes")
    force_down(PROJECT)


def test_start_from_nothing_brings_every_service_to_healthy(stack):
    proc = inv(stack, "start")
    assert proc.returncode == 0, proc.stderr
    assert "Jitsi Meet is up: http://localhost:18443" in proc.stdout
    assert "jitsi-jvb" in proc.stderr and "healthy" in proc.stderr  # progress lines
    code, data = status_json(stack)
    assert code == 0, data
    assert data["ok"] is True
    rows = {row["service"]: row for row in data["services"]}
    assert set(JITSI) <= set(rows)
    for name in JITSI:
        assert rows[name]["state"] == "running"
        assert rows[name]["health"] == "healthy"
        assert rows[name]["tag"] == "good"
        assert rows[name]["image"] == f"jitsi-stack-testbed/{name.split('-')[1]}"
    assert "18443->8000/tcp" in rows["jitsi-web"]["ports"]
    assert "10110->10110/udp" in rows["jitsi-jvb"]["ports"]
    assert "127.0.0.1:18080->8080/tcp" in rows["jitsi-jvb"]["ports"]
    table = inv(stack, "status")
    assert table.returncode == 0
    assert "jitsi-prosody" in table.stdout and "all 4 services running and healthy" in table.stdout
    # plain docker compose in the project root works with no flags
    plain = subprocess.run(
        ["docker", "compose", "ps", "--format", "json"],
        cwd=stack,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0 and "jitsi-jvb" in plain.stdout


def test_second_start_recreates_nothing(stack):
    before = containers(PROJECT)
    started = time.monotonic()
    proc = inv(stack, "start")
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert containers(PROJECT) == before
    assert "rendered" not in proc.stderr
    assert took < 30, took
    assert inv(stack, "status").returncode == 0
    echoed = inv(stack, "--echo", "start")
    assert echoed.returncode == 0, echoed.stderr
    assert "nothing to change" in echoed.stderr
    assert "up -d" not in echoed.stderr  # Compose is not even asked


def test_a_stopped_container_is_started_again_by_start(stack):
    subprocess.run(["docker", "stop", f"{PROJECT}-jvb"], capture_output=True, check=True)
    proc = inv(stack, "--echo", "start")
    assert proc.returncode == 0, proc.stderr
    assert "up -d --remove-orphans" in proc.stderr  # something to do: Compose decides
    assert status_json(stack)[0] == 0


def test_logs_by_short_name_and_jitsi(stack):
    proc = inv(stack, "logs", "jvb", "--tail", "5")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert 0 < len(lines) <= 5
    assert all(ln.startswith(f"{PROJECT}-jvb") for ln in lines), lines
    everything = inv(stack, "logs", "jitsi", "--tail", "3")
    prefixes = {ln.split()[0] for ln in everything.stdout.splitlines() if ln.strip()}
    assert prefixes == {f"{PROJECT}-{n}" for n in ("web", "prosody", "jicofo", "jvb")}
    for value in secrets.read(stack).values():
        assert value not in everything.stdout


def test_changed_setting_recreates_only_the_containers_that_read_it(stack):
    before = containers(PROJECT)
    write_settings(stack, SETTINGS + "features: {welcome_page: false}\n")
    proc = inv(stack, "start")
    assert proc.returncode == 0, proc.stderr
    after = containers(PROJECT)
    assert after["jitsi-web"] != before["jitsi-web"]  # ENABLE_WELCOME_PAGE is read by web only
    for name in ("jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"):
        assert after[name] == before[name], name
    write_settings(
        stack, SETTINGS + "jvb: {advertise_ips: ['192.0.2.10']}\nfeatures: {welcome_page: false}\n"
    )
    assert inv(stack, "start").returncode == 0
    again = containers(PROJECT)
    assert again["jitsi-jvb"] != after["jitsi-jvb"]  # JVB_ADVERTISE_IPS: jvb only
    for name in ("jitsi-web", "jitsi-prosody", "jitsi-jicofo"):
        assert again[name] == after[name], name


def test_killed_bridge_fails_status_and_comes_back(stack):
    jvb = containers(PROJECT)["jitsi-jvb"]
    # A crash, not `docker kill` (which Docker counts as a manual stop: no restart).
    pid = int(
        subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Pid}}", jvb],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: status_json(stack)[0] != 0, 10, step=0.2)
    code, data = status_json(stack)
    assert code != 0
    assert data["ok"] is False
    assert "jitsi-jvb" in data["verdict"]
    # the restart policy brings it back, healthy
    assert wait_for(lambda: status_json(stack)[0] == 0, 90), status_json(stack)[1]
    assert containers(PROJECT)["jitsi-jvb"] == jvb  # restarted, not recreated


def test_wrong_internal_password_fails_start_and_names_the_bridge(stack):
    """A bridge that cannot log in is healthy (jvb's health never asks XMPP, jitsi-videobridge
    JvbHealthChecker.kt, as the stand-in does): start fails on jicofo's count or jicofo's
    health, and either way names the bridge and prints its log lines."""
    good = secrets.read(stack)
    wrong = dict(good, JVB_AUTH_PASSWORD="f" * 32)
    secrets.save(stack, wrong)
    try:
        proc = inv(stack, "start", env={"JITSI_STACK_HEALTH__TIMEOUT": "25"})
        assert proc.returncode == 1
        error_line = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        assert len(error_line) == 1 and "jitsi-jvb" in error_line[0], proc.stderr
        assert "jicofo" in error_line[0], proc.stderr
        assert "last log lines of jitsi-jvb" in proc.stdout
        assert "not-authorized" in proc.stdout
        assert "f" * 32 not in proc.stdout + proc.stderr
        # the bridge runs healthy; only jicofo's count shows it, and status says so
        status = inv(stack, "status")
        assert status.returncode == 1
        assert "jicofo counts 0 of 1 running bridge(s) operational (jitsi-jvb)" in status.stderr
    finally:
        secrets.save(stack, good)
    proc = inv(stack, "start")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rotate_secrets_updates_prosody_accounts_too(stack):
    before = secrets.read(stack)
    proc = inv(stack, "rotate-secrets", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = secrets.read(stack)
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())
    assert status_json(stack)[0] == 0  # jicofo and jvb log in with the new passwords
    for value in list(before.values()) + list(after.values()):
        assert value not in proc.stdout + proc.stderr


def test_lost_secrets_file_is_not_silently_regenerated(stack):
    stored = secrets.read(stack)
    (stack / paths.SECRETS).unlink()
    try:
        proc = inv(stack, "render")
        assert proc.returncode == 1
        assert "prosody already has those accounts" in proc.stderr
        assert not (stack / paths.SECRETS).exists()
    finally:
        secrets.save(stack, stored)


def test_stop_and_restart(stack):
    assert inv(stack, "stop", "jvb").returncode == 0
    code, data = status_json(stack)
    rows = {r["service"]: r for r in data["services"]}
    assert code == 1 and rows["jitsi-jvb"]["state"] == "exited"
    assert rows["jitsi-web"]["state"] == "running"
    before = containers(PROJECT)
    proc = inv(stack, "restart", "jvb")
    assert proc.returncode == 0, proc.stderr
    assert containers(PROJECT)["jitsi-jvb"] != before["jitsi-jvb"]  # recreated
    assert status_json(stack)[0] == 0


def test_clean_without_terminal_refuses(stack):
    proc = inv(stack, "clean")
    assert proc.returncode == 1
    assert "--yes" in proc.stderr
    assert len(containers(PROJECT)) == 4


def test_clean_keeps_secrets_and_state(stack):
    stored = secrets.read(stack)
    accounts = list((stack / "jitsi-meet" / "storage" / "prosody").rglob("*.dat"))
    assert accounts, "prosody stored no accounts"
    proc = inv(stack, "clean", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert containers(PROJECT) == {}
    assert networks(f"{PROJECT}-network") == []
    for rel in (paths.COMPOSE_FILE, paths.ENV_FILE, paths.CUSTOM_CONFIG, paths.ROOT_ENV):
        assert not (stack / rel).exists() and not (stack / rel).is_symlink(), rel
    assert secrets.read(stack) == stored
    assert all(p.exists() for p in accounts)


def test_clean_all_backs_up_first_and_never_follows_links_out(stack, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    assert inv(stack, "start").returncode == 0
    link = stack / "jitsi-meet" / "storage" / "web" / "planted"
    link.symlink_to(outside, target_is_directory=True)
    proc = inv(stack, "clean", "--all", "--yes")
    assert proc.returncode == 0, proc.stderr
    archives = list((stack / "backups").glob("jitsi-stack-before-clean-*.tar.gz"))
    assert len(archives) == 1
    assert (archives[0].stat().st_mode & 0o777) == 0o600
    listing = subprocess.run(
        ["tar", "tzf", str(archives[0])], capture_output=True, text=True, check=True
    ).stdout
    assert ".jitsi-stack/secrets.env" in listing
    assert "keep.txt" not in listing
    assert not (stack / "jitsi-meet").exists()
    assert not (stack / ".jitsi-stack").exists()
    assert (stack / "jitsi-stack.yml").exists()
    assert (outside / "keep.txt").read_text() == "precious"
    assert containers(PROJECT) == {}


# -- separate projects --------------------------------------------------------


def test_taken_host_port_gives_one_line_and_starts_nothing(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    project = "jsport"
    write_settings(base, own_settings(project, 1))
    force_down(project)
    holder = socket.socket()
    holder.bind(("0.0.0.0", 18543))  # noqa: S104 - occupy the port as another program would
    holder.listen()
    try:
        proc = inv(base, "start")
    finally:
        holder.close()
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1
    assert "18543/tcp" in errors[0] and "ports.http" in errors[0]
    assert containers(project) == {}


@pytest.fixture
def registry(tmp_path, testbed_images):
    from tests.testbed.registry import push_testbed, start_registry

    reg = start_registry(
        tmp_path / "registry", port=int(os.environ.get("TESTBED_REGISTRY_PORT", "5000"))
    )
    try:
        push_testbed(reg.url)
        # Only the registry holds these names now: `inv start` and `update` must pull.
        refs = [
            f"{reg.url}/jitsi/{svc}:{tag}"
            for svc in ("web", "prosody", "jicofo", "jvb")
            for tag in ("good", "broken")
        ]
        subprocess.run(["docker", "image", "rm", *refs], capture_output=True, check=False)
        yield reg
    finally:
        reg.stop()


def test_update_to_a_broken_tag_rolls_back_by_itself(tmp_path, registry):
    base = tmp_path / "project"
    base.mkdir()
    project = "jsupdate"
    settings = (
        own_settings(project, 3)
        .replace("repository: jitsi-stack-testbed", f"repository: {registry.url}/jitsi")
        .replace("timeout: 120", "timeout: 45")
    )
    write_settings(base, settings)
    force_down(project)
    try:
        proc = inv(base, "start")  # pulls from the local registry
        assert proc.returncode == 0, proc.stderr
        assert "pulling" in proc.stderr
        proc = inv(base, "update", "--tag", "broken")
        assert proc.returncode == 1
        assert "rolled back to good" in proc.stderr
        code, data = status_json(base)
        assert code == 0, data
        assert {r["tag"] for r in data["services"]} == {"good"}
        state = json.loads((base / ".jitsi-stack" / "state.json").read_text())
        assert state["previous"]["tag"] == "good"
        assert state["previous"]["images"]["jitsi-jvb"].startswith("sha256:")
        assert state["last_failed"]["tag"] == "broken"
        config = json.loads(inv(base, "config", "--json").stdout)["settings"]
        assert config["images.tag"]["value"] == "good"
        # a rollback on demand, after a successful update to the same tag
        assert inv(base, "update", "--rollback").returncode == 0
        assert status_json(base)[0] == 0
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(project)


def test_missing_image_gives_one_line_naming_the_setting(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    project = "jspull"
    settings = own_settings(project, 4).replace(
        "repository: jitsi-stack-testbed", "repository: 127.0.0.1:5999/nowhere"
    )
    write_settings(base, settings)
    proc = inv(base, "start")
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "cannot pull image 127.0.0.1:5999/nowhere/" in errors[0]
    assert "images.repository" in errors[0]
    assert containers(project) == {}


def test_platform_services_from_extra_compose_files_run_with_the_stack(tmp_path, testbed_images):
    base = tmp_path / "project"
    base.mkdir()
    project = "jsplat"
    (base / "platform.yml").write_text(f"""
services:
  backend:
    image: jitsi-stack-testbed/prosody:good
    entrypoint: ["sleep", "infinity"]
    healthcheck: {{test: ["CMD", "true"], interval: 2s}}
    networks: [{project}-network]
""")
    write_settings(base, own_settings(project, 5) + "compose: {extra_files: [platform.yml]}\n")
    force_down(project)
    try:
        proc = inv(base, "start")
        assert proc.returncode == 0, proc.stderr
        code, data = status_json(base)
        assert code == 0, data
        assert {r["service"] for r in data["services"]} == {*JITSI, "backend"}
        assert inv(base, "stop", "backend").returncode == 0
        code, data = status_json(base)
        assert code == 1 and "backend" in data["verdict"]
        assert inv(base, "start", "backend").returncode == 0
        assert status_json(base)[0] == 0
    finally:
        assert inv(base, "clean", "--yes").returncode == 0
        assert containers(project) == {}
        force_down(project)
