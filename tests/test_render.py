"""Rendering: golden files, the seed's defaults, secrets, determinism, hand edits."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jitsi_stack import model, render, secrets, settings
from jitsi_stack.errors import StackError

from .conftest import FIXED_SECRETS, inv, seed_secrets, tree_snapshot, write_settings

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
OUTPUTS = {
    "docker-compose.yml": render.COMPOSE_FILE,
    "env": render.ENV_FILE,
    "custom-config.js": render.CUSTOM_CONFIG,
}


def render_case(root: Path, case: str) -> settings.Settings:
    shutil.copy(GOLDEN / case / "jitsi-stack.yml", root / "jitsi-stack.yml")
    seed_secrets(root)
    s = settings.load(root, environ={})
    render.render(s)
    return s


@pytest.mark.parametrize("case", CASES)
def test_golden(root, case):
    render_case(root, case)
    for golden_name, rel in OUTPUTS.items():
        produced = (root / rel).read_text(encoding="utf-8")
        expected_file = GOLDEN / case / golden_name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected_file.write_text(produced, encoding="utf-8")
        assert produced == expected_file.read_text(encoding="utf-8"), f"{case}/{golden_name}"
        assert produced.endswith("\n") and not produced.endswith("\n\n")


def test_golden_cases_present():
    assert {"defaults", "production", "all-services", "hostile"} <= set(CASES)


def test_defaults_reproduce_the_seed(root):
    render_case(root, "defaults")
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose["services"]
    assert list(services) == ["jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"]
    assert {svc["container_name"] for svc in services.values()} == {
        "callcenter-jitsi-web",
        "callcenter-jitsi-prosody",
        "callcenter-jitsi-jicofo",
        "callcenter-jitsi-jvb",
    }
    assert compose["networks"]["callcenter-network"]["name"] == "callcenter-network"
    for svc in services.values():
        assert list(svc["networks"]) == ["callcenter-network"]
        assert svc["image"].startswith("ghcr.io/jitsi/")
        assert svc["image"].endswith(":stable-11146-2")
        assert svc["restart"] == "unless-stopped"
        assert svc["read_only"] is True
        assert svc["healthcheck"]["test"][0] == "CMD"
    assert services["jitsi-web"]["ports"] == ["8443:8000"]
    assert services["jitsi-jvb"]["ports"] == ["10000:10000/udp", "127.0.0.1:8080:8080"]
    assert services["jitsi-jicofo"]["ports"] == ["127.0.0.1:8888:8888"]
    for name in ("jitsi-web", "jitsi-jicofo", "jitsi-jvb"):
        assert services[name]["depends_on"]["jitsi-prosody"]["condition"] == "service_healthy"
    assert services["jitsi-prosody"]["networks"]["callcenter-network"]["aliases"] == [
        "xmpp.meet.jitsi"
    ]
    env = dict(
        line.split("=", 1)
        for line in (root / render.ENV_FILE).read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["PUBLIC_URL"] == "http://localhost:8443"
    assert env["XMPP_DOMAIN"] == "meet.jitsi"
    assert env["JVB_PORT"] == "10000"
    assert env["HTTP_PORT"] == "8443" and env["HTTPS_PORT"] == "8444"
    for name, value in {
        "ENABLE_AUTH": "0",
        "ENABLE_GUESTS": "1",
        "ENABLE_RECORDING": "0",
        "ENABLE_TRANSCRIPTIONS": "0",
        "ENABLE_WELCOME_PAGE": "1",
        "DISABLE_HTTPS": "1",
        "JICOFO_ENABLE_HEALTH_CHECKS": "1",
    }.items():
        assert env[name] == value, name


def test_http_public_url_gets_ws_not_wss(root):
    render_case(root, "defaults")
    js = (root / render.CUSTOM_CONFIG).read_text()
    assert "config.bosh = 'http://localhost:8443/' + subdir + 'http-bind';" in js
    assert "config.websocket = 'ws://localhost:8443/' + subdir + 'xmpp-websocket';" in js
    assert not [line for line in js.splitlines() if "wss://" in line and "config." in line]


def test_https_public_url_gets_wss(root):
    render_case(root, "production")
    js = (root / render.CUSTOM_CONFIG).read_text()
    assert "config.websocket = 'wss://meet.example.com/' + subdir + 'xmpp-websocket';" in js


def test_each_container_gets_only_its_variables(root):
    render_case(root, "all-services")
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    env_of = {
        name: {e.split("=")[0] for e in svc.get("environment", [])}
        for name, svc in compose["services"].items()
    }
    assert "JICOFO_AUTH_PASSWORD" not in env_of["jitsi-web"]
    assert "JVB_AUTH_PASSWORD" not in env_of["jitsi-web"]
    assert not {n for n in env_of["jitsi-web"] if "PASSWORD" in n}
    assert "JICOFO_AUTH_PASSWORD" in env_of["jitsi-jicofo"]
    assert "JVB_AUTH_PASSWORD" not in env_of["jitsi-jicofo"]
    assert "JVB_AUTH_PASSWORD" in env_of["jitsi-jvb"]
    assert "JICOFO_AUTH_PASSWORD" not in env_of["jitsi-jvb"]
    assert "JIGASI_SIP_PASSWORD" in env_of["jitsi-jigasi"]
    assert "JIGASI_SIP_PASSWORD" not in env_of["jitsi-prosody"]
    assert "JIBRI_RECORDER_PASSWORD" in env_of["jitsi-jibri"]
    assert "JIBRI_RECORDING_RESOLUTION" in env_of["jitsi-jibri"]
    assert "ENABLE_LIVESTREAMING" in env_of["jitsi-web"]
    assert compose["services"]["jitsi-jibri"]["shm_size"] == "2gb"
    assert compose["services"]["jitsi-jigasi"]["ports"] == ["20000-20050:20000-20050/udp"]


def test_secrets_generated_once_private_and_not_in_compose(root):
    s = settings.load(root, environ={})
    render.render(s)
    stored = secrets.read(root)
    assert set(stored) == set(secrets.SECRET_NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in stored.values())
    assert len(set(stored.values())) == 6
    assert (secrets.path(root).stat().st_mode & 0o777) == 0o600
    assert ((root / render.ENV_FILE).stat().st_mode & 0o777) == 0o600
    compose_text = (root / "docker-compose.yml").read_text()
    env_text = (root / render.ENV_FILE).read_text()
    for value in stored.values():
        assert value not in compose_text
        assert value in env_text
    # a second render keeps them
    render.render(settings.load(root, environ={}))
    assert secrets.read(root) == stored


def test_rendering_100_times_changes_no_byte_and_no_secret(root):
    write_settings(root, (GOLDEN / "all-services" / "jitsi-stack.yml").read_text())
    render.render(settings.load(root, environ={}))
    before = tree_snapshot(root)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    for _ in range(100):
        report = render.render(settings.load(root, environ={}))
        assert report.written == []
    assert tree_snapshot(root) == before
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == mtimes


def test_hand_edit_is_refused_with_masked_diff_then_forced_with_backup(root):
    inv(root, "render", check=True)
    env_file = root / render.ENV_FILE
    original = env_file.read_text()
    edited = original.replace("ENABLE_WELCOME_PAGE=1", "ENABLE_WELCOME_PAGE=0")
    env_file.write_text(edited)
    before = tree_snapshot(root)
    proc = inv(root, "render")
    assert proc.returncode == 1
    assert "hand edits in jitsi-meet/.env" in proc.stderr
    assert "inv render --force" in proc.stderr
    assert "-ENABLE_WELCOME_PAGE=0" in proc.stdout and "+ENABLE_WELCOME_PAGE=1" in proc.stdout
    for value in secrets.read(root).values():
        assert value not in proc.stdout + proc.stderr
    assert tree_snapshot(root) == before
    forced = inv(root, "render", "--force", check=True)
    assert "backed up" in forced.stderr
    assert env_file.read_text() == original
    backups = list((root / ".jitsi-stack" / "backups").rglob(".env"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert (backups[0].stat().st_mode & 0o777) == 0o600


def test_existing_hand_made_env_from_the_old_script_is_not_overwritten(root):
    (root / "jitsi-meet").mkdir()
    (root / render.ENV_FILE).write_text("PUBLIC_URL=http://localhost:8443\nJVB_AUTH_PASSWORD=x\n")
    proc = inv(root, "render")
    assert proc.returncode == 1
    assert "hand edits in jitsi-meet/.env" in proc.stderr
    assert (root / render.ENV_FILE).read_text().startswith("PUBLIC_URL=")
    assert not (root / "docker-compose.yml").exists()


def test_render_check(root):
    proc = inv(root, "render", "--check")
    assert proc.returncode == 1 and "out of date" in proc.stderr
    assert not (root / "docker-compose.yml").exists()
    inv(root, "render", check=True)
    assert inv(root, "render", "--check").returncode == 0
    write_settings(root, "features:\n  welcome_page: false\n")
    proc = inv(root, "render", "--check")
    assert proc.returncode == 1
    assert "-ENABLE_WELCOME_PAGE=1" in proc.stdout and "+ENABLE_WELCOME_PAGE=0" in proc.stdout
    assert "ENABLE_WELCOME_PAGE=1" in (root / render.ENV_FILE).read_text()


def test_tree_is_created_writable_by_uid_1000(root):
    inv(root, "render", check=True)
    for rel in model.TREE:
        path = root / "jitsi-meet" / rel
        assert path.is_dir(), rel
        if os.geteuid() == 0:
            assert (path.stat().st_uid, path.stat().st_gid) == (1000, 1000), rel


def test_frontend_value_written_only_when_set(root):
    inv(root, "render", check=True)
    assert not list(root.rglob("*.env.local"))
    front = root / "frontend"
    front.mkdir()
    (front / ".env.local").write_text("API_URL=http://backend:3000\nNEXT_PUBLIC_JITSI_DOMAIN=old\n")
    write_settings(root, "frontend:\n  env_file: frontend/.env.local\n")
    inv(root, "render", check=True)
    assert (front / ".env.local").read_text() == (
        "API_URL=http://backend:3000\nNEXT_PUBLIC_JITSI_DOMAIN=localhost:8443\n"
    )


def test_strict_templates_name_the_undefined(root, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES, templates)
    path = templates / "env.j2"
    path.write_text(path.read_text() + "{{ s.no_such_setting }}\n")
    s = settings.load(root, environ={})
    with pytest.raises(StackError, match="no_such_setting"):
        render.render(s, template_dir=templates)
    assert list(root.iterdir()) == []


def test_environment_overrides_and_sources(root):
    write_settings(root, "timezone: Europe/Paris\n")
    proc = inv(
        root,
        "config",
        "--json",
        env={
            "JITSI_STACK_JVB__ADVERTISE_IPS": "[192.0.2.1]",
            "JITSI_STACK_ENV__ENABLE_BREAKOUT_ROOMS": "false",
        },
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data["timezone"] == {"value": "Europe/Paris", "source": "file:jitsi-stack.yml"}
    assert data["public_url"]["source"] == "default"
    assert data["jvb.advertise_ips"] == {
        "value": '["192.0.2.1"]',
        "source": "env:JITSI_STACK_JVB__ADVERTISE_IPS",
    }
    assert json.loads(data["env"]["value"]) == {"ENABLE_BREAKOUT_ROOMS": "false"}


def test_config_masks_secrets(root):
    write_settings(
        root,
        "auth:\n  enabled: true\n  type: jwt\n  jwt:\n    app_id: a\n"
        "    app_secret: topsecret-value-1234\n"
        "env:\n  TURN_PASSWORD: turn-secret-5678\n",
    )
    proc = inv(root, "config", check=True)
    assert "topsecret-value-1234" not in proc.stdout
    assert "turn-secret-5678" not in proc.stdout
    assert "********" in proc.stdout


def test_production_profile_overlays(root):
    write_settings(root, "timezone: UTC\n")
    (root / "jitsi-stack.production.yml").write_text(
        (GOLDEN / "production" / "jitsi-stack.yml").read_text()
    )
    proc = inv(root, "config", "--json", env={"JITSI_STACK_PROFILE": "production"}, check=True)
    data = json.loads(proc.stdout)
    assert data["public_url"]["value"] == "https://meet.example.com"
    assert data["public_url"]["source"] == "file:jitsi-stack.production.yml"
    assert data["timezone"]["value"] == "Europe/Berlin"


@pytest.mark.docker
def test_hostile_values_reach_the_container_exactly(root):
    """Real Compose v2 parses the rendered files and gives each container the exact value."""
    s = render_case(root, "hostile")
    proc = subprocess.run(
        ["docker", "compose", "config", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(proc.stdout)
    environment = config["services"]["jitsi-jigasi"]["environment"]
    prosody = config["services"]["jitsi-prosody"]["environment"]

    # `config` writes a literal $ as $$ (its own escaping for re-use as YAML)
    def value(raw):
        return raw.replace("$$", "$")

    assert value(environment["JIGASI_SIP_PASSWORD"]) == s["sip.password"]
    assert value(prosody["JWT_APP_SECRET"]) == s["auth.jwt.app_secret"]
    assert value(environment["JIGASI_XMPP_PASSWORD"]) == FIXED_SECRETS["JIGASI_XMPP_PASSWORD"]
    assert "JWT_APP_SECRET" not in config["services"]["jitsi-web"].get("environment", {})
    compose_text = (root / "docker-compose.yml").read_text()
    assert s["sip.password"] not in compose_text


@pytest.mark.docker
def test_plain_docker_compose_config_works_after_render(root):
    inv(root, "render", check=True)
    proc = subprocess.run(
        ["docker", "compose", "config", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
