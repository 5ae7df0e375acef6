"""Fidelity to upstream stable-11146-2: each fix of the reliability issue, against what
upstream's templates and services do (the source is cited at each rule in the package)."""
# ruff: noqa: E501 - settings texts and quoted upstream lines read best one per line

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from jitsi_stack import render
from jitsi_stack.deployment import build
from jitsi_stack.errors import SettingsError
from jitsi_stack.settings import project
from jitsi_stack.smoke.configjs import evaluate_config_js, judge_config_js
from jitsi_stack.store import paths, secrets
from tests.golden.test_golden import render_case
from tests.support.project import run_cli, tree_snapshot, write_settings
from tests.unit.smoke.helpers import UPSTREAM, local_target
from tests.unit.smoke.test_configjs import no_subdomains

JWT = "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc, app_secret: %s}}\n"


@pytest.mark.parametrize(
    ("text", "key", "char"),
    [
        (JWT % "'abc\"defghijklmnop'", "auth.jwt.app_secret", '"'),
        (JWT % "'abc\\\\defghijklmnop'", "auth.jwt.app_secret", "\\"),
        (
            "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: 'c\"c', app_secret: abcdefabcdefabcdef}}\n",
            "auth.jwt.app_id",
            '"',
        ),
        (
            "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc, app_secret: abcdefabcdefabcdef,"
            " accepted_issuers: ['a\"b']}}\n",
            "auth.jwt.accepted_issuers",
            '"',
        ),
        (
            "auth: {enabled: true, type: matrix, matrix: {uvs_url: 'https://u', uvs_auth_token: 'x\\\\y'}}\n",
            "auth.matrix.uvs_auth_token",
            "\\",
        ),
        ("env: {TURN_PASSWORD: 'p\"w'}\n", "env.TURN_PASSWORD", '"'),
    ],
)
def test_values_prosody_pastes_into_lua_strings_are_refused(root, text, key, char):
    """prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua: app_secret = "{{ .Env.JWT_APP_SECRET }}"."""
    assert run_cli(root, "render").returncode == 0
    write_settings(root, text)
    before = tree_snapshot(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 2
    assert proc.lines == [
        f"error: {key}: contains {char}, which prosody's config (a Lua string) cannot hold: "
        f"choose a value without {char}"
    ]
    assert "defghijklmnop" not in proc.stderr and "x\\y" not in proc.stderr
    assert tree_snapshot(root) == before


def test_a_lua_safe_hostile_secret_is_accepted_and_delivered(root):
    d = render_case(root, "hostile")
    env = (root / paths.ENV_FILE).read_text()
    assert "JWT_APP_SECRET=\"s3cr\\$t #1 'sq' \\${HOME} %x Ünïcødé ✓\"" in env
    assert d.service("jigasi")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("services: {jibri: true}\n", "services.jibri: needs features.recording: true"),
        (
            "services: {transcriber: true}\n",
            "services.transcriber: needs features.transcriptions: true",
        ),
    ],
)
def test_services_whose_account_prosody_would_not_create_are_refused(root, text, words):
    write_settings(root, text)
    with pytest.raises(SettingsError, match=words):
        project.load(root, environ={})


def test_transcripts_mount_is_shared_z_like_upstream_and_the_web_mount(root):
    render_case(root, "all-services")
    compose = yaml.safe_load((root / paths.COMPOSE_FILE).read_text())
    assert (
        "./jitsi-meet/storage/transcripts:/tmp/transcripts:z"
        in compose["services"]["jitsi-transcriber"]["volumes"]
    )
    assert (
        "./jitsi-meet/storage/transcripts:/usr/share/jitsi-meet/transcripts:ro,z"
        in compose["services"]["jitsi-web"]["volumes"]
    )


def test_booleans_upstream_pastes_raw_stay_true_false(root):
    write_settings(
        root,
        "features: {recording: true, transcriptions: true}\n"
        "services: {jibri: true, transcriber: true}\n"
        "env: {ENABLE_STATS_D: true, JIGASI_TRANSCRIBER_SEND_TXT: false, "
        "JIGASI_TRANSCRIBER_RECORD_AUDIO: true, ENABLE_BREAKOUT_ROOMS: false}\n",
    )
    env = build(project.load(root, environ={})).dotenv(secrets.complete({})[0])
    assert env["ENABLE_STATS_D"] == "true"  # jibri.conf: enable-stats-d = {{ .Env.ENABLE_STATS_D }}
    assert env["JIGASI_TRANSCRIBER_SEND_TXT"] == "false"
    assert env["JIGASI_TRANSCRIBER_RECORD_AUDIO"] == "true"
    assert env["ENABLE_BREAKOUT_ROOMS"] == "0"  # read with toBool: 1/0 as before


@pytest.mark.parametrize("tag", ["stable-11146-1", "stable-11146", "stable-10710", "stable-9955-3"])
def test_tags_older_than_the_rendered_layout_are_refused(root, tag):
    write_settings(root, f"images: {{tag: {tag}}}\n")
    with pytest.raises(SettingsError, match=f"images.tag: {tag} is older than stable-11146-2"):
        project.load(root, environ={})
    (root / paths.SETTINGS_FILE).unlink()
    proc = run_cli(root, "update", "--tag", tag)
    assert proc.returncode == 2
    assert proc.lines[-1].startswith(f"error: --tag: {tag} is older than stable-11146-2")


def test_newer_and_custom_tags_are_the_operators_call(root):
    for tag in ("stable-11146-2", "stable-11200", "stable-12000-1", "my-build-7"):
        write_settings(root, f"images: {{tag: {tag}}}\n")
        assert project.load(root, environ={})["images.tag"] == tag


def test_config_js_with_subdomains_off_runs_in_the_js_engine(root):
    """upstream declares `subdir` only with ENABLE_SUBDOMAINS (system-config.js:21-33)."""
    write_settings(root, "env: {ENABLE_SUBDOMAINS: false}\n")
    d = build(project.load(root, environ={}))
    custom = render.plan(d, secrets.complete({})[0]).output(paths.CUSTOM_CONFIG).text
    served = no_subdomains(UPSTREAM) + "\n" + custom
    cfg = evaluate_config_js(served, "http://localhost:8443/")
    assert cfg.bosh == "http://localhost:8443/http-bind"
    assert cfg.websocket == "ws://localhost:8443/xmpp-websocket"
    assert judge_config_js(cfg, local_target("http://localhost:8443")).status == "pass"
    # the old custom-config.js (subdir always) stops the script in a browser
    old = custom.replace("'/http-bind'", "'/' + subdir + 'http-bind'")  # page-origin URLs
    assert old != custom
    with pytest.raises(Exception, match="subdir"):
        evaluate_config_js(no_subdomains(UPSTREAM) + "\n" + old, "http://localhost:8443/")


JIBRI_HEALTHY = '{"status":{"busyStatus":"IDLE","health":{"healthStatus":"HEALTHY","details":{}}}}'
JIBRI_UNHEALTHY = (
    '{"status":{"busyStatus":"IDLE","health":{"healthStatus":"UNHEALTHY","details":'
    '{"xmpp":{"healthStatus":"HEALTHY","detail":""},"chrome":{"healthStatus":"UNHEALTHY"}}}}}'
)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
@pytest.mark.parametrize(("body", "code"), [(JIBRI_HEALTHY, 0), (JIBRI_UNHEALTHY, 1)])
def test_jibri_healthcheck_reads_the_overall_health(root, body, code):
    """jibri's /health is 200 either way (HttpApi.kt); JibriHealth{status: JibriStatus{
    busyStatus, health: OverallHealth{healthStatus, details}}}, Jackson field order."""
    render_case(root, "all-services")
    test = yaml.safe_load((root / paths.COMPOSE_FILE).read_text())["services"]["jitsi-jibri"][
        "healthcheck"
    ]["test"]
    assert test[0] == "CMD-SHELL"
    command = test[1].replace("curl -fsS http://127.0.0.1:2222/jibri/api/v1.0/health", "cat")
    assert (
        subprocess.run(["sh", "-c", command], input=body, text=True, check=False).returncode == code
    )
