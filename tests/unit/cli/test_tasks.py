"""The command line: task shapes (--dry prints every Docker command and runs none), targets,
bad flags, the `jitsi-stack` program and `inv` in the checkout."""
# ruff: noqa: E501 - tables of exact command lines and messages read best one per line

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from invoke import Config, MockContext

from jitsi_stack.cli import tasks
from jitsi_stack.store import paths
from tests.support.project import REPO, clean_environ, run_cli, tree_snapshot

PREFIX = "docker compose --project-directory {root} --project-name callcenter --env-file {root}/jitsi-meet/.env --file {root}/docker-compose.yml"


def dry_commands(proc, root) -> list[str]:
    prefix = PREFIX.format(root=root)
    return [
        line.removeprefix("dry run: ").replace(prefix, "compose")
        for line in proc.stderr.splitlines()
        if line.startswith("dry run: ")
    ]


@pytest.fixture
def rendered(root):
    assert run_cli(root, "render").returncode == 0
    return root


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["logs", "jvb", "--tail", "5"], "compose logs --tail 5 jitsi-jvb"),
        (["logs", "web", "jvb"], "compose logs --tail 100 jitsi-web jitsi-jvb"),
        (
            ["logs", "web,jvb", "--follow", "--since", "10m"],
            "compose logs --tail 100 --follow --since 10m jitsi-web jitsi-jvb",
        ),
        (["logs"], "compose logs --tail 100 jitsi-web jitsi-prosody jitsi-jicofo jitsi-jvb"),
        (["logs", "--tail", "all", "prosody"], "compose logs --tail all jitsi-prosody"),
        (["stop", "web,jvb"], "compose stop jitsi-web jitsi-jvb"),
        (["stop", "jitsi-web", "jvb"], "compose stop jitsi-web jitsi-jvb"),
        (["stop"], "compose stop"),
    ],
)
def test_task_runs_one_compose_command(rendered, argv, command):
    proc = run_cli(rendered, "--dry", *argv)
    assert proc.returncode == 0, proc.stderr
    assert dry_commands(proc, rendered)[-1] == command


def test_dry_render_and_start_write_nothing_and_print_the_commands(root):
    (root / "jitsi-stack.yml").write_text("timezone: UTC\n")
    before = tree_snapshot(root)
    render = run_cli(root, "--dry", "render")
    assert render.returncode == 0
    assert "would generate 6 internal password(s)" in render.stderr
    assert "would render docker-compose.yml" in render.stderr
    start = run_cli(root, "--dry", "start")
    assert start.returncode == 0, start.stderr
    commands = dry_commands(start, root)
    assert commands[-1] == "compose up -d --remove-orphans"
    assert "docker info --format '{{json .ServerVersion}}'" in commands
    assert tree_snapshot(root) == before  # no file, no secret, no lock


def test_echo_shows_each_command(rendered):
    proc = run_cli(rendered, "--echo", "--dry", "stop", "web")
    assert any(line.startswith("dry run: docker compose") for line in proc.stderr.splitlines())


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["logs", "--tail", "abc"], "--tail: 'abc' is not a number"),
        (["logs", "--tail", "-1"], "--tail: must be at least 0"),
        (["smoke", "--only", "webb"], "--only: unknown check 'webb'"),
        (["smoke", "--timeout", "0"], "--timeout: must be at least 0.1"),
        (["start", "--targets"], "needed value"),
        (["start", "--no-such-flag"], "No idea what '--no-such-flag' is"),
        (["logs", "jbv"], "unknown target 'jbv' (did you mean jvb?)"),
        (["start", "jibri"], "jibri is not enabled: set services.jibri: true"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(rendered, argv, words):
    before = tree_snapshot(rendered)
    proc = run_cli(rendered, *argv)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.lines) == 1, proc.lines
    assert words in proc.lines[0]
    assert "Traceback" not in proc.stderr
    assert tree_snapshot(rendered) == before


def test_unknown_root_is_refused(tmp_path):
    proc = run_cli(tmp_path, "config", env={"JITSI_STACK_ROOT": str(tmp_path / "nope")})
    assert proc.returncode == 2
    assert proc.lines == [
        f"error: JITSI_STACK_ROOT: '{tmp_path / 'nope'}' is not an existing directory: create it or fix the path"
    ]


def test_shell_exports_do_not_leak_into_compose(rendered, monkeypatch):
    from jitsi_stack.ops.stack import Stack

    monkeypatch.setenv("PUBLIC_URL", "https://stale.example.com")
    monkeypatch.setenv("UNRELATED", "kept")
    env = Stack.load(rendered, environ={}).compose.child_env()
    assert "PUBLIC_URL" not in env and env["UNRELATED"] == "kept"


def test_mock_context_dry_flag_reaches_the_runner(rendered, monkeypatch):
    monkeypatch.setenv("JITSI_STACK_ROOT", str(rendered))
    c = MockContext(config=Config(overrides={"run": {"dry": True}}))
    tasks.stop_task(c, targets="jvb")  # would raise if it tried to run docker without it


def test_every_task_is_listed_by_inv_and_by_jitsi_stack():
    names = (
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
    )
    listed = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), "--list"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_environ(),
    ).stdout
    helped = subprocess.run(
        [sys.executable, "-m", "jitsi_stack", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_environ(),
    ).stdout
    for name in names:
        assert re.search(rf"^\s+{name}\s", listed, re.M), name
        assert re.search(rf"^\s+{name}\s", helped, re.M), name


def test_root_flag_and_cwd(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / paths.SETTINGS_FILE).write_text("timezone: Europe/Berlin\n")
    by_flag = subprocess.run(
        [sys.executable, "-m", "jitsi_stack", "--root", str(project), "config", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_environ(),
    )
    by_cwd = subprocess.run(
        [sys.executable, "-m", "jitsi_stack", "config", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        env=clean_environ(),
    )
    for proc in (by_flag, by_cwd):
        assert proc.returncode == 0, proc.stderr
        assert '"value": "Europe/Berlin"' in proc.stdout
