"""Rendering and writing: secrets, determinism, hand edits, the tree, the frontend line."""

from __future__ import annotations

import json
import os
import re

import pytest

from jitsi_stack import render
from jitsi_stack.deployment import build
from jitsi_stack.errors import StackError
from jitsi_stack.render import apply
from jitsi_stack.settings import project
from jitsi_stack.store import paths, secrets
from tests.golden.test_golden import GOLDEN, render_case
from tests.support.project import run_cli, tree_snapshot, write_settings


def deployment(root):
    return build(project.load(root, environ={}))


def test_http_public_url_gets_ws_not_wss(root):
    write_settings(root, "frontend: {dev_https: false}\n")  # plain http only
    apply.apply(deployment(root))
    js = (root / paths.CUSTOM_CONFIG).read_text()
    assert "config.bosh = 'http://localhost:8443/' + subdir + 'http-bind';" in js
    assert "config.websocket = 'ws://localhost:8443/' + subdir + 'xmpp-websocket';" in js
    assert not [line for line in js.splitlines() if "wss://" in line and "config." in line]


def test_http_and_dev_https_follow_the_pages_origin(root):
    """Served on plain http and on https (development CA): neither page may call the other's
    scheme (mixed content), so the signalling URLs take the page's own origin."""
    render_case(root, "defaults")
    js = (root / paths.CUSTOM_CONFIG).read_text()
    assert (
        "config.bosh = location.protocol + '//' + location.host + '/' + subdir + 'http-bind';" in js
    )
    assert "(location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host" in js
    assert "localhost:8443/'" not in js


def test_https_public_url_gets_wss(root):
    render_case(root, "production")
    js = (root / paths.CUSTOM_CONFIG).read_text()
    assert "config.websocket = 'wss://meet.example.com/' + subdir + 'xmpp-websocket';" in js


def test_subdomains_off_renders_no_subdir(root):
    """Upstream declares `subdir` only with ENABLE_SUBDOMAINS (system-config.js:21-33)."""
    write_settings(root, "env:\n  ENABLE_SUBDOMAINS: false\n")
    apply.apply(deployment(root))
    js = (root / paths.CUSTOM_CONFIG).read_text()
    assert "subdir" not in js.replace("declares no `subdir`", "")
    assert "config.bosh = location.protocol + '//' + location.host + '/http-bind';" in js


def test_websocket_off_deletes_it(root):
    write_settings(root, "env:\n  ENABLE_XMPP_WEBSOCKET: false\n")
    d = deployment(root)
    assert d.urls.websocket == ""
    apply.apply(d)
    assert "delete config.websocket;" in (root / paths.CUSTOM_CONFIG).read_text()


def test_secrets_generated_once_private_and_not_in_compose(root):
    apply.apply(deployment(root))
    stored = secrets.read(root)
    assert set(stored) == set(secrets.SECRET_NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in stored.values())
    assert len(set(stored.values())) == 6
    assert ((root / paths.SECRETS).stat().st_mode & 0o777) == 0o600
    assert ((root / paths.ENV_FILE).stat().st_mode & 0o777) == 0o600
    compose_text = (root / paths.COMPOSE_FILE).read_text()
    env_text = (root / paths.ENV_FILE).read_text()
    for value in stored.values():
        assert value not in compose_text
        assert value in env_text
    apply.apply(deployment(root))
    assert secrets.read(root) == stored


def test_rendering_100_times_changes_no_byte_and_no_secret(root):
    write_settings(root, (GOLDEN / "all-services" / "jitsi-stack.yml").read_text())
    apply.apply(deployment(root))
    before = tree_snapshot(root)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    for _ in range(100):
        assert apply.apply(deployment(root)).written == []
    assert tree_snapshot(root) == before
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == mtimes


def test_hand_edit_is_refused_with_masked_diff_then_forced_with_backup(root):
    assert run_cli(root, "render").returncode == 0
    env_file = root / paths.ENV_FILE
    original = env_file.read_text()
    edited = original.replace("ENABLE_WELCOME_PAGE=1", "ENABLE_WELCOME_PAGE=0")
    env_file.write_text(edited)
    before = tree_snapshot(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 1
    assert "hand edits in jitsi-meet/.env" in proc.stderr
    assert "inv render --force" in proc.stderr
    assert "-ENABLE_WELCOME_PAGE=0" in proc.stdout and "+ENABLE_WELCOME_PAGE=1" in proc.stdout
    for value in secrets.read(root).values():
        assert value not in proc.stdout + proc.stderr
    assert tree_snapshot(root) == before
    forced = run_cli(root, "render", "--force")
    assert forced.returncode == 0 and "backed up" in forced.stderr
    assert env_file.read_text() == original
    backups = list((root / paths.REPLACED_COPIES).rglob(".env"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert (backups[0].stat().st_mode & 0o777) == 0o600


def test_existing_hand_made_env_from_the_old_script_is_not_overwritten(root):
    (root / "jitsi-meet").mkdir()
    (root / paths.ENV_FILE).write_text("PUBLIC_URL=http://localhost:8443\nJVB_AUTH_PASSWORD=x\n")
    proc = run_cli(root, "render")
    assert proc.returncode == 1
    assert "hand edits in jitsi-meet/.env" in proc.stderr
    assert (root / paths.ENV_FILE).read_text().startswith("PUBLIC_URL=")
    assert not (root / paths.COMPOSE_FILE).exists()


def test_render_check(root):
    proc = run_cli(root, "render", "--check")
    assert proc.returncode == 1 and "out of date" in proc.stderr
    assert not (root / paths.COMPOSE_FILE).exists()
    assert run_cli(root, "render").returncode == 0
    assert run_cli(root, "render", "--check").returncode == 0
    write_settings(root, "features:\n  welcome_page: false\n")
    proc = run_cli(root, "render", "--check")
    assert proc.returncode == 1
    assert "-ENABLE_WELCOME_PAGE=1" in proc.stdout and "+ENABLE_WELCOME_PAGE=0" in proc.stdout
    assert "ENABLE_WELCOME_PAGE=1" in (root / paths.ENV_FILE).read_text()


def test_tree_is_every_mounted_directory_writable_by_uid_1000(root):
    write_settings(root, (GOLDEN / "all-services" / "jitsi-stack.yml").read_text())
    d = deployment(root)
    the_plan = render.plan(d, secrets.complete({})[0])
    assert "jitsi-meet/storage/prosody" in the_plan.tree
    assert "jitsi-meet/storage/jibri" in the_plan.tree
    apply.apply(d)
    for rel in the_plan.tree:
        path = root / rel
        assert path.is_dir(), rel
        if os.geteuid() == 0:
            assert (path.stat().st_uid, path.stat().st_gid) == (1000, 1000), rel


def test_frontend_value_written_only_when_set_and_other_bytes_kept(root):
    apply.apply(deployment(root))
    assert not list(root.rglob("*.env.local"))
    front = root / "frontend"
    front.mkdir()
    target = front / ".env.local"
    target.write_bytes(b"API_URL=http://backend:3000\r\nNEXT_PUBLIC_JITSI_DOMAIN=old\r\nX=\xe9\r\n")
    target.chmod(0o640)
    write_settings(root, "frontend:\n  env_file: frontend/.env.local\n")
    apply.apply(deployment(root))
    # the SDK's domain is the https endpoint (development CA, ports.https), then its URL
    assert target.read_bytes() == (
        b"API_URL=http://backend:3000\r\nNEXT_PUBLIC_JITSI_DOMAIN=localhost:8444\r\nX=\xe9\r\n"
        b"NEXT_PUBLIC_JITSI_URL=https://localhost:8444\r\n"
    )
    assert target.stat().st_mode & 0o777 == 0o640


def test_frontend_line_is_appended_with_the_files_line_ending():
    assert (
        apply.frontend_text(b"A=1\r\nB=2", "h:1")
        == b"A=1\r\nB=2\r\nNEXT_PUBLIC_JITSI_DOMAIN=h:1\r\n"
    )
    assert apply.frontend_text(None, "h") == b"NEXT_PUBLIC_JITSI_DOMAIN=h\n"
    assert apply.frontend_text(
        b"export NEXT_PUBLIC_JITSI_DOMAIN=x\nNEXT_PUBLIC_JITSI_DOMAIN=y\n", "h"
    ) == (b"NEXT_PUBLIC_JITSI_DOMAIN=h\n")


def test_strict_templates_name_the_undefined(root, monkeypatch):
    import jinja2

    env = render.environment()
    broken = jinja2.Environment(  # noqa: S701 - not HTML
        loader=jinja2.DictLoader({"docker-compose.yml.j2": "{{ d.no_such_fact }}"}),
        undefined=jinja2.StrictUndefined,
    )
    monkeypatch.setattr(render, "environment", lambda: broken)
    with pytest.raises(StackError, match="no_such_fact"):
        render.plan(deployment(root), secrets.complete({})[0])
    assert env is not broken


def test_a_secret_outside_env_is_refused(root):
    write_settings(
        root, "web:\n  custom_config_js: \"var x = '00000000000000000000000000000001';\"\n"
    )
    fixed = {n: f"{i:032d}" for i, n in enumerate(secrets.SECRET_NAMES, 1)}
    with pytest.raises(
        StackError, match="secret would be written to jitsi-meet/web/custom-config.js"
    ):
        render.plan(deployment(root), fixed)


def test_environment_overrides_and_sources(root):
    write_settings(root, "timezone: Europe/Paris\n")
    proc = run_cli(
        root,
        "config",
        "--json",
        env={
            "JITSI_STACK_JVB__ADVERTISE_IPS": "[192.0.2.1]",
            "JITSI_STACK_ENV__ENABLE_BREAKOUT_ROOMS": "false",
            "JITSI_STACK_HEALTH__TIMEOUT": "30",
        },
    )
    data = json.loads(proc.stdout)["settings"]
    assert data["timezone"] == {
        "value": "Europe/Paris",
        "source": "file:jitsi-stack.yml",
        "upstream": "TZ",
    }
    assert data["public_url"]["source"] == "default"
    assert data["jvb.advertise_ips"]["value"] == ["192.0.2.1"]  # typed, not a string
    assert data["jvb.advertise_ips"]["source"] == "env:JITSI_STACK_JVB__ADVERTISE_IPS"
    assert data["health.timeout"]["value"] == 30
    assert data["auth.enabled"]["value"] is False
    assert data["env"]["value"] == {"ENABLE_BREAKOUT_ROOMS": "false"}


def test_config_masks_secrets(root):
    write_settings(
        root,
        "auth:\n  enabled: true\n  type: jwt\n  guests: false\n  jwt:\n    app_id: a\n"
        "    app_secret: topsecret-value-1234\n"
        "env:\n  TURN_PASSWORD: turn-secret-5678\n",
    )
    for args in (("config",), ("config", "--json")):
        proc = run_cli(root, *args)
        assert proc.returncode == 0
        assert "topsecret-value-1234" not in proc.stdout + proc.stderr
        assert "turn-secret-5678" not in proc.stdout + proc.stderr
        assert "********" in proc.stdout


def test_production_profile_overlays(root):
    write_settings(root, "timezone: UTC\n")
    (root / "jitsi-stack.production.yml").write_text(
        (GOLDEN / "production" / "jitsi-stack.yml").read_text()
    )
    proc = run_cli(root, "config", "--json", env={"JITSI_STACK_PROFILE": "production"})
    data = json.loads(proc.stdout)["settings"]
    assert data["public_url"]["value"] == "https://meet.example.com"
    assert data["public_url"]["source"] == "file:jitsi-stack.production.yml"
    assert data["timezone"]["value"] == "Europe/Berlin"


def test_every_shipped_template_is_an_input_of_the_render_key(root, tmp_path, monkeypatch):
    """A changed Prometheus or Swarm template (not only the five core ones) changes the key
    that decides whether a render is current, so no stale file is kept."""
    import importlib.resources
    import shutil

    from jitsi_stack import __file__ as package_init

    write_settings(root, "metrics: {enabled: true}\n")
    d = build(project.load(root, environ={}))
    before = apply.inputs_key(d, {})
    copy = tmp_path / "package"
    shutil.copytree(os.path.dirname(package_init), copy)
    monkeypatch.setattr(importlib.resources, "files", lambda _name: copy)
    assert apply.inputs_key(d, {}) == before  # the same templates: the same key
    for name in ("jitsi-meet/prometheus/prometheus.yml.j2", "swarm/with-secrets.sh.j2"):
        target = copy / "templates" / name
        target.write_text(target.read_text() + "# changed\n")
        changed = apply.inputs_key(d, {})
        assert changed != before, name
        before = changed
    (copy / "templates" / "new.j2").write_text("x")
    assert apply.inputs_key(d, {}) != before  # a template added by an upgrade counts too
