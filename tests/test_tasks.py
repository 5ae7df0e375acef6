"""Command shapes of the thin tasks (Invoke's MockContext), and the CLI's argument parsing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from invoke import MockContext, Result

import tasks
from jitsi_stack import compose, lifecycle, preflight, project, render

from .conftest import REPO, inv


@pytest.fixture
def rendered(root, monkeypatch):
    monkeypatch.setenv("JITSI_STACK_ROOT", str(root))
    monkeypatch.setattr(preflight, "check_docker", lambda *a, **k: "2.40.3")
    s = project.load(root)
    render.render(s)
    return s


def test_logs_runs_one_compose_command_with_short_names(rendered):
    c = MockContext(run={re.compile(r"docker compose .* logs "): Result("")})
    tasks.logs(c, target="jvb", tail=5)
    command = c.run.call_args.args[0]
    assert command == compose.cmd(rendered, "logs", "--tail", "5", "jitsi-jvb")
    assert "--env-file" in command and str(rendered.root / render.ENV_FILE) in command


def test_logs_default_is_every_jitsi_service(rendered):
    c = MockContext(run={re.compile(r"docker compose .* logs "): Result("")})
    tasks.logs(c, follow=True, since="10m")
    command = c.run.call_args.args[0]
    assert command.endswith(
        "logs --tail 100 --follow --since 10m jitsi-web jitsi-prosody jitsi-jicofo jitsi-jvb"
    )
    assert c.run.call_args.kwargs["pty"] is True


def test_stop_targets_are_comma_separated(rendered):
    c = MockContext(run={re.compile(r"docker compose .* stop"): Result("")})
    tasks.stop(c, targets="web,jvb")
    assert c.run.call_args.args[0] == compose.cmd(rendered, "stop", "jitsi-web", "jitsi-jvb")
    env = c.run.call_args.kwargs["env"]
    assert "PUBLIC_URL" not in env  # a stale shell export cannot override the render


def test_unknown_target_suggests(rendered):
    with pytest.raises(Exception, match="did you mean jvb"):
        lifecycle.resolve_targets(rendered, ["jbv"])
    with pytest.raises(Exception, match="services.jibri: true"):
        lifecycle.resolve_targets(rendered, ["jibri"])
    assert lifecycle.resolve_targets(rendered, ["jitsi", "web"]) == [
        "jitsi-web",
        "jitsi-prosody",
        "jitsi-jicofo",
        "jitsi-jvb",
    ]


def test_shell_exports_do_not_leak_into_compose(rendered, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://stale.example.com")
    monkeypatch.setenv("UNRELATED", "kept")
    env = compose.child_env(rendered)
    assert "PUBLIC_URL" not in env and env["UNRELATED"] == "kept"


@pytest.mark.parametrize(
    "argv",
    [
        ["logs", "jvb", "--tail", "5"],
        ["logs", "--tail", "5"],
        ["stop", "web,jvb"],
        ["start", "--help"],
        ["logs"],
    ],
)
def test_optional_positional_targets_parse(root, argv):
    proc = inv(root, *argv)
    assert "No idea what" not in proc.stderr
    assert "did not receive required positional" not in proc.stderr


def test_every_task_is_listed():
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in (
        "render",
        "config",
        "lint",
        "start",
        "stop",
        "restart",
        "logs",
        "status",
        "update",
        "clean",
        "smoke",
        "rotate-secrets",
    ):
        assert re.search(rf"^\s+{name}\s", proc.stdout, re.M), name


def test_ps_asks_again_when_a_container_is_replaced_mid_listing(rendered, monkeypatch):
    answers = [
        compose.Result(1, "", "Error response from daemon: No such container: fee9"),
        compose.Result(0, '{"Service": "jitsi-web", "State": "running"}\n', ""),
    ]
    monkeypatch.setattr(compose, "run", lambda *a, **k: answers.pop(0))
    assert compose.ps(rendered) == [{"Service": "jitsi-web", "State": "running"}]
    assert answers == []
