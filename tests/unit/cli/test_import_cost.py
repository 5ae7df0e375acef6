"""What the cheap commands import: `inv --list` and every task start by importing the
collection, and `inv status` / `jitsi-stack status` are run by monitoring every few
seconds, so neither may load what only other commands need (cryptography to read a
certificate, jinja2 to render, requests/websocket/quickjs for smoke, rich for a terminal
table). Guarded by which modules are loaded, in a fresh interpreter, never by a time:
bench/lifecycle.py measures the times against `docker compose ps`.

The status path is run for real, against a stand-in Docker Engine on a unix socket (the
one request `docker compose ps` would make, answered with two containers), so the test
also shows that status asks the Engine once and starts no process.
"""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.project import REPO, clean_environ, run_cli, seed_secrets, write_settings

# Third-party packages that only some commands need (import names).
HEAVY = {
    "cryptography",  # a certificate is read (settings with https.certificate, render)
    "jinja2",  # render
    "markupsafe",
    "requests",  # smoke
    "urllib3",
    "websocket",
    "quickjs",
    "jsonschema",  # lint
    "rich",  # a table on a terminal only (these runs print to a pipe)
}
# Standard modules whose import costs more than the answer status waits for.
STDLIB_HEAVY = {"http", "email", "ssl", "concurrent", "asyncio", "subprocess"}
# The floors a task body imports when it runs, never the collection.
FLOORS_NOT_FOR_THE_COLLECTION = {
    "deployment",
    "render",
    "ops",
    "smoke",
    "swarm",
    "helm",
    "access",
}

MARK = "--modules--"


def _loaded(code: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run code in a fresh interpreter; the modules loaded when it ended."""
    script = (
        f"import sys, json\ntry:\n{_indent(code)}\nfinally:\n"
        f"    print({MARK!r} + json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env or clean_environ(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)), None)
    assert line is not None, proc.stdout + proc.stderr
    return proc, set(json.loads(line.removeprefix(MARK)))


def _indent(code: str) -> str:
    return "\n".join("    " + ln for ln in code.strip().splitlines())


def _tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_the_collection_imports_only_what_defining_the_tasks_needs():
    _, modules = _loaded("import jitsi_stack.cli.tasks")
    assert "jitsi_stack.cli.tasks" in modules  # the import did happen
    assert not _tops(modules) & HEAVY
    floors = {m.split(".")[1] for m in modules if m.startswith("jitsi_stack.") and "." in m}
    assert not floors & FLOORS_NOT_FOR_THE_COLLECTION, sorted(floors)
    # the settings are read by a task body, not by defining it
    assert not {m for m in modules if m.startswith("jitsi_stack.settings.")} - {
        "jitsi_stack.settings.project"
    }


class _Engine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The Docker Engine API as status asks it: /containers/json, HTTP/1.0, one answer."""

    daemon_threads = True

    def __init__(self, path: str, rows: list[dict]) -> None:
        self.rows = rows
        self.asked: list[str] = []
        super().__init__(path, _Answer)


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = self.rfile.readline().decode().strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.server.asked.append(request)  # type: ignore[attr-defined]
        method, path, _ = request.split(" ", 2)
        if method == "GET" and path.startswith("/containers/json?"):
            body, status = json.dumps(self.server.rows).encode(), "200 OK"  # type: ignore[attr-defined]
        else:
            body, status = b'{"message": "not in this stand-in"}', "404 Not Found"
        self.wfile.write(f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\n\r\n".encode())
        self.wfile.write(body)


def _container(service: str) -> dict:
    return {
        "Id": f"id-{service}",
        "Names": [f"/{service}"],
        "Image": "jitsi/web:stable-11146-2",
        "ImageID": "sha256:0",
        "State": "running",
        "Status": "Up 5 minutes (healthy)",
        "Ports": [],
        "Labels": {"com.docker.compose.project": "jitsi", "com.docker.compose.service": service},
    }


@pytest.fixture
def rendered_project(tmp_path: Path):
    root = tmp_path / "project"
    root.mkdir()
    write_settings(root, "timezone: UTC\n")
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    return root


@pytest.fixture
def engine(tmp_path: Path):
    path = str(tmp_path / "docker.sock")
    server = _Engine(path, [_container("jitsi-web"), _container("jitsi-prosody")])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, path
    server.shutdown()
    server.server_close()


def _engine_env(tmp_path: Path, sock: str) -> dict:
    # no docker context from the operator's config, no docker CLI to fall back to
    return clean_environ(
        DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path / "docker-config"), PATH=""
    )


def _check_status_output(proc: subprocess.CompletedProcess) -> None:
    rows = {ln.split()[0]: ln.split()[1] for ln in proc.stdout.splitlines()[1:5]}
    assert rows == {
        "jitsi-web": "running",
        "jitsi-prosody": "running",
        "jitsi-jicofo": "missing",
        "jitsi-jvb": "missing",
    }, proc.stdout + proc.stderr
    assert "FAIL: 2 of 4 services need attention" in proc.stdout


def test_jitsi_stack_status_asks_the_engine_once_and_loads_nothing_heavy(
    tmp_path, rendered_project, engine
):
    server, sock = engine
    proc, modules = _loaded(
        "from jitsi_stack import cli\n"
        f"print('exit', cli._status_shortcut(['--root', {str(rendered_project)!r}, 'status']))",
        env=_engine_env(tmp_path, sock),
    )
    assert "exit 1" in proc.stdout, proc.stdout + proc.stderr
    _check_status_output(proc)
    assert len(server.asked) == 1 and server.asked[0].startswith("GET /containers/json?all=1")
    assert "jitsi_stack.ops.meetings" in modules  # the meeting view's code is there
    assert not _tops(modules) & (HEAVY | STDLIB_HEAVY | {"invoke"}), sorted(modules)
    assert not {m for m in modules if m.startswith(("jitsi_stack.render", "jitsi_stack.smoke"))}


def test_inv_status_asks_the_engine_once_and_loads_nothing_heavy(
    tmp_path, rendered_project, engine
):
    """Through Invoke's Program, as `inv status` runs (Invoke itself loads subprocess,
    asyncio, ssl, email and concurrent.futures: only what is ours to avoid is checked)."""
    server, sock = engine
    proc, modules = _loaded(
        "from invoke import Program\n"
        "from jitsi_stack.cli.tasks import ns\n"
        "Program(namespace=ns).run(['inv', 'status'], exit=False)",
        env={**_engine_env(tmp_path, sock), "JITSI_STACK_ROOT": str(rendered_project)},
    )
    _check_status_output(proc)
    assert len(server.asked) == 1 and server.asked[0].startswith("GET /containers/json?all=1")
    assert not _tops(modules) & (HEAVY | {"http"}), sorted(_tops(modules) & (HEAVY | {"http"}))
    assert not {m for m in modules if m.startswith(("jitsi_stack.render", "jitsi_stack.smoke"))}
