"""Bad settings: one line naming the key and the fix, exit 2, and not one byte changed."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import pytest

from tests.helpers import run_cli, seed_secrets, tree_snapshot, write_settings

# (id, settings file text, extra environment, words the error line must contain)
CASES = [
    (
        "unknown-key",
        "public_ur1: http://localhost:8443\n",
        {},
        ["public_ur1", "did you mean public_url"],
    ),
    ("unknown-nested", "ports:\n  htp: 80\n", {}, ["ports.htp", "did you mean ports.http"]),
    ("port-range", "ports:\n  jvb_media: 70000\n", {}, ["ports.jvb_media", "between 1 and 65535"]),
    ("port-type", "ports:\n  http: eighty\n", {}, ["ports.http", "whole number"]),
    (
        "port-clash",
        "ports:\n  jvb_colibri: 8888\n",
        {},
        ["ports.jicofo_rest", "also used by ports.jvb_colibri"],
    ),
    ("url-scheme", "public_url: ftp://meet.example.com\n", {}, ["public_url", "http(s) URL"]),
    ("url-path", "public_url: https://meet.example.com/jitsi\n", {}, ["public_url", "path"]),
    ("url-port", "public_url: http://localhost:99999\n", {}, ["public_url", "port"]),
    (
        "url-host",
        "public_url: https://meet_example!.com\n",
        {},
        ["public_url", "not a valid domain"],
    ),
    ("bad-domain", "xmpp:\n  domain: -bad-.jitsi\n", {}, ["xmpp.domain", "valid domain"]),
    ("bad-ip", "jvb:\n  advertise_ips: [300.1.2.3]\n", {}, ["jvb.advertise_ips", "IP#PORT"]),
    (
        "auth-type",
        "auth:\n  enabled: true\n  type: kerberos\n",
        {},
        ["auth.type", "internal, jwt, ldap, matrix"],
    ),
    (
        "jwt-missing",
        "auth:\n  enabled: true\n  type: jwt\n  jwt:\n    app_secret: abcdefabcdefabcdef\n",
        {},
        ["auth.jwt.app_id", "required"],
    ),
    (
        "ldap-url",
        "auth:\n  enabled: true\n  type: ldap\n  ldap:\n    url: http://x\n    base: dc=x\n",
        {},
        ["auth.ldap.url", "ldap://"],
    ),
    (
        "le-missing",
        "public_url: https://meet.example.com\nports: {http: 80, https: 443}\nhttps:\n  enabled: true\n  letsencrypt:\n    enabled: true\n    email: ops@example.com\n",
        {},
        ["https.letsencrypt.domain", "required"],
    ),
    (
        "le-ports",
        "public_url: https://meet.example.com\nhttps:\n  enabled: true\n  letsencrypt: {enabled: true, domain: meet.example.com, email: ops@example.com}\n",
        {},
        ["https.letsencrypt.enabled", "ports 80 and 443"],
    ),
    (
        "sip-missing",
        "services:\n  jigasi: true\nsip:\n  password: pw\n  server: sip.example.com\n",
        {},
        ["sip.uri", "required when services.jigasi"],
    ),
    (
        "recording-no-jibri",
        "features:\n  recording: true\n",
        {},
        ["features.recording", "services.jibri"],
    ),
    (
        "removed-var",
        "env:\n  DOCKER_HOST_ADDRESS: 1.2.3.4\n",
        {},
        ["DOCKER_HOST_ADDRESS", "jvb.advertise_ips"],
    ),
    (
        "colibri-ws",
        "env:\n  ENABLE_COLIBRI_WEBSOCKET: 1\n",
        {},
        ["ENABLE_COLIBRI_WEBSOCKET", "stable-11146"],
    ),
    (
        "component-secret",
        "env:\n  JICOFO_COMPONENT_SECRET: s3cr37\n",
        {},
        ["JICOFO_COMPONENT_SECRET", "delete it"],
    ),
    (
        "unknown-var",
        "env:\n  ENABLE_LOBY: 'false'\n",
        {},
        ["ENABLE_LOBY", "did you mean ENABLE_LOBBY"],
    ),
    (
        "managed-var",
        "env:\n  PUBLIC_URL: https://x.example.com\n",
        {},
        ["env.PUBLIC_URL", "set public_url instead"],
    ),
    (
        "upstream-at-top",
        "DOCKER_HOST_ADDRESS: 1.2.3.4\n",
        {},
        ["jitsi-stack.yml: DOCKER_HOST_ADDRESS", "jvb.advertise_ips"],
    ),
    ("floating-tag", "images:\n  tag: latest\n", {}, ["images.tag", "pin a release"]),
    ("bool-type", "auth:\n  guests: sometimes\n", {}, ["auth.guests", "true or false"]),
    ("yaml-syntax", "ports: [http: 1\n", {}, ["jitsi-stack.yml", "YAML"]),
    (
        "env-override",
        "",
        {"JITSI_STACK_PORTS__HTTPP": "1"},
        ["JITSI_STACK_PORTS__HTTPP", "did you mean JITSI_STACK_PORTS__HTTP"],
    ),
    (
        "env-override-range",
        "",
        {"JITSI_STACK_PORTS__HTTP": "0"},
        ["ports.http", "between 1 and 65535"],
    ),
    ("restart-policy", "restart_policy: sometimes\n", {}, ["restart_policy", "unless-stopped"]),
    (
        "https-localhost",
        "public_url: https://localhost:8444\n",
        {},
        ["public_url", "https.enabled"],
    ),
    (
        "extra-file",
        "compose:\n  extra_files: [platform.yml]\n",
        {},
        ["compose.extra_files", "does not exist"],
    ),
]


@pytest.mark.parametrize(
    ("settings", "environ", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_setting_is_one_line_and_changes_nothing(root, settings, environ, words):
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0  # a good tree exists: nothing may change
    write_settings(root, settings)
    before = tree_snapshot(root)
    proc = run_cli(root, "render", env=environ)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]
    assert lines[0].startswith("error: ")
    assert tree_snapshot(root) == before


def test_enough_cases():
    assert len(CASES) >= 20


def test_every_problem_is_reported_each_on_its_own_line(root):
    write_settings(root, "public_ur1: x\nports:\n  htp: 1\n")
    proc = run_cli(root, "render")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "public_ur1" in lines[0] and "ports.htp" in lines[1]
    assert not (root / "docker-compose.yml").exists()
    assert not (root / "jitsi-meet").exists()


def test_secret_is_not_echoed_in_errors(root):
    write_settings(
        root, "auth:\n  enabled: true\n  type: jwt\n  jwt:\n    app_secret: hunter2-very-secret\n"
    )
    proc = run_cli(root, "render")
    assert proc.returncode == 2
    assert "hunter2-very-secret" not in proc.stderr + proc.stdout
