"""No secret in any output: every task, its JSON, its diffs and its error paths, with every
kind of secret an operator gives and the six generated ones. (The same with a running
stack: tests/docker/test_leaks.py.)"""

from __future__ import annotations

import pytest

from jitsi_stack.store import paths, secrets
from tests.support.project import run_cli, write_settings

GIVEN = {
    "jwt": "Jwt-Secret-0123456789abcdef",
    "sip": "Sip-Password-0123456789",
    "turn": "Turn-Credentials-9876543210",
    "matrix": "Matrix-Token-5555555555",
    "ldap": "Ldap-Bindpw-7777777777",
}
SETTINGS = f"""
auth: {{enabled: true, type: jwt, guests: false, jwt: {{app_id: cc, app_secret: {GIVEN["jwt"]}}},
       ldap: {{bindpw: {GIVEN["ldap"]}}}, matrix: {{uvs_auth_token: {GIVEN["matrix"]}}}}}
services: {{jigasi: true}}
sip: {{uri: a@sip.example.com, server: sip.example.com, password: {GIVEN["sip"]}}}
env: {{TURN_PASSWORD: {GIVEN["turn"]}}}
"""

COMMANDS = [
    ("render",),
    ("render", "--check"),
    ("config",),
    ("config", "--json"),
    ("lint",),
    ("--dry", "start"),
    ("--echo", "--dry", "restart"),
    ("--dry", "stop"),
    ("--dry", "logs", "--tail", "5"),
    ("--dry", "update"),
    ("--dry", "clean", "--yes"),
    ("--dry", "rotate-secrets", "--yes"),
    ("clean",),  # no terminal: refused
    ("smoke", "--url", "http://127.0.0.1:9", "--timeout", "1", "--json"),
    ("update", "--tag", "latest"),
    ("start", "nosuchservice"),
    ("token", "--room", "Ticket 4711", "--name", "Alice", "--json"),
    ("token", "--check", "e30.e30.c2ln"),
    ("users.list",),  # jwt: refused
    ("addresses", "--json"),
    ("backup", "--json"),
    ("--dry", "restore", "/nonexistent.tar.gz"),
    ("helm.values",),
    ("helm.values", "--json"),
    ("helm.values", "--to", "/outside/values.yaml"),
    ("swarm.render",),
    ("--echo", "--dry", "swarm.deploy"),
    ("swarm.status", "--json"),  # no swarm here: one line
]


def everything(root) -> list[str]:
    return [*GIVEN.values(), *secrets.read(root).values()]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_no_secret_in_any_task_output(root, argv):
    write_settings(root, SETTINGS)
    assert run_cli(root, "render").returncode == 0
    proc = run_cli(root, *argv)
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    for value in everything(root):
        assert value not in text, (argv, value[:6])


def test_no_secret_in_a_hand_edit_diff_or_a_settings_diff(root):
    write_settings(root, SETTINGS)
    assert run_cli(root, "render").returncode == 0
    env = root / paths.ENV_FILE
    env.write_text(
        env.read_text().replace("ENABLE_LOBBY=1", "ENABLE_LOBBY=0")
        + "EXTRA_PASSWORD=hand-typed-pw\n"
    )
    refused = run_cli(root, "render")
    assert refused.returncode == 1 and "-ENABLE_LOBBY=0" in refused.stdout
    write_settings(root, SETTINGS.replace(GIVEN["sip"], "Changed-Sip-Password-42"))
    check = run_cli(root, "render", "--check")
    text = refused.stdout + refused.stderr + check.stdout + check.stderr
    for value in [*everything(root), "hand-typed-pw", "Changed-Sip-Password-42"]:
        assert value not in text
    assert "********" in check.stdout  # the changed password line is there, masked


def test_no_secret_in_errors_about_secrets(root):
    for text in (
        "sip: {password: [" + GIVEN["sip"] + "]}\n",
        "auth: {jwt: {app_secret: {x: " + GIVEN["jwt"] + "}}}\n",
        "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc, app_secret: 'a\""
        + GIVEN["jwt"]
        + "'}}\n",
        "env: {TURN_PASSWORD: 'x\\\\" + GIVEN["turn"] + "'}\n",
        "env: {JVB_AUTH_PASSWORD: " + GIVEN["turn"] + "}\n",
    ):
        write_settings(root, text)
        proc = run_cli(root, "config")
        assert proc.returncode == 2
        for value in GIVEN.values():
            assert value not in proc.stdout + proc.stderr, text


def test_no_secret_in_the_helm_values_file(root):
    """The chart's values name Kubernetes Secrets; the values themselves stay out."""
    turn = "turn: {enabled: true, server: external, host: turn.example.com, secret: "
    write_settings(root, SETTINGS + turn + GIVEN["turn"] + "}\n")
    assert run_cli(root, "render").returncode == 0
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 0, proc.stderr
    text = (root / "helm" / "values.yaml").read_text()
    assert "existingSecretName" in text and "'********'" in proc.stdout
    for value in everything(root):
        assert value not in text + proc.stdout + proc.stderr, value[:6]


@pytest.mark.parametrize(
    "argv",
    [("render",), ("config",), ("config", "--json"), ("--echo", "--dry", "start"), ("lint",)],
    ids=" ".join,
)
def test_no_grafana_password_in_any_output(root, argv):
    """metrics.enabled: the generated admin password stays in secrets.env and jitsi-meet/.env
    (0600); Compose interpolates it, so docker-compose.yml names it and never holds it."""
    write_settings(root, "metrics: {enabled: true}\n")
    assert run_cli(root, "render").returncode == 0
    password = secrets.read(root)["GRAFANA_ADMIN_PASSWORD"]
    proc = run_cli(root, *argv)
    assert password not in proc.stdout + proc.stderr, argv
    assert password not in (root / paths.COMPOSE_FILE).read_text()
    assert "${GRAFANA_ADMIN_PASSWORD}" in (root / paths.COMPOSE_FILE).read_text()
