"""Helpers shared by every kind of test (unit, golden, prosody, docker)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXED_SECRETS = {
    "JICOFO_AUTH_PASSWORD": "0" * 31 + "1",
    "JVB_AUTH_PASSWORD": "0" * 31 + "2",
    "JIGASI_XMPP_PASSWORD": "0" * 31 + "3",
    "JIGASI_TRANSCRIBER_PASSWORD": "0" * 31 + "4",
    "JIBRI_RECORDER_PASSWORD": "0" * 31 + "5",
    "JIBRI_XMPP_PASSWORD": "0" * 31 + "6",
    # generated only when JWT, the bundled TURN server or the metrics are on
    "JWT_APP_SECRET": "GoldenJwtSecret" + "0" * 28,
    "TURN_CREDENTIALS": "GoldenTurnSecret" + "0" * 27,
    "GRAFANA_ADMIN_PASSWORD": "GoldenGrafanaPassword" + "0" * 22,
}
# Test knobs live outside the product's JITSI_STACK_ prefix.
TEST_KNOBS = ("JSTEST_REQUIRE_DOCKER", "JSTEST_REQUIRE_PROSODY", "JSTEST_TESTBED_CACHE")


def write_settings(base: Path, text: str) -> Path:
    path = base / "jitsi-stack.yml"
    path.write_text(text, encoding="utf-8")
    return path


def seed_secrets(base: Path) -> None:
    from jitsi_stack.store import secrets

    secrets.save(base, FIXED_SECRETS)


def clean_environ(**extra: str) -> dict[str, str]:
    """os.environ without any JITSI_STACK_* variable (the operator's shell is not ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
    env.update(extra)
    env.setdefault("COLUMNS", "200")
    return env


def inv(
    base: Path,
    *args: str,
    env: dict | None = None,
    check: bool = False,
    timeout: float = 900,
    input_text: str | None = None,
    root_by: str = "env",
) -> subprocess.CompletedProcess:
    """Run the real `inv` CLI of the checkout against a project root."""
    full = clean_environ(**(env or {}))
    if root_by == "env":
        full["JITSI_STACK_ROOT"] = str(base)
    return _run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
        base,
        full,
        check,
        timeout,
        input_text,
    )


def cli(
    base: Path,
    *args: str,
    env: dict | None = None,
    check: bool = False,
    timeout: float = 900,
    executable: str | None = None,
) -> subprocess.CompletedProcess:
    """Run the `jitsi-stack` command in the project folder (the current directory is the root)."""
    full = clean_environ(**(env or {}))
    argv = [executable] if executable else [sys.executable, "-m", "jitsi_stack"]
    return _run([*argv, *args], base, full, check, timeout, None)


def _run(argv, cwd, env, check, timeout, input_text) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv[-3:])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def tree_snapshot(base: Path) -> dict[str, tuple]:
    """Every path under base with its mode, owner and bytes (or link target)."""
    out = {}
    for path in sorted(base.rglob("*")):
        rel = str(path.relative_to(base))
        st = path.lstat()
        if path.is_symlink():
            out[rel] = (st.st_mode, st.st_uid, os.readlink(path))
        elif path.is_file():
            out[rel] = (st.st_mode, st.st_uid, path.read_bytes())
        else:
            out[rel] = (st.st_mode, st.st_uid, b"<dir>")
    return out


# -- Docker ------------------------------------------------------------------------------


def containers(project: str) -> dict[str, str]:
    """service -> container id of a compose project (running or not)."""
    proc = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            '{{.Label "com.docker.compose.service"}} {{.ID}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split() for line in proc.stdout.splitlines() if line.strip())


def networks(name: str) -> list[str]:
    proc = subprocess.run(
        ["docker", "network", "ls", "--filter", f"name=^{name}$", "--format", "{{.Name}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.split()


def force_down(project: str) -> None:
    """Remove a test project's containers and networks (the shared one as the tests name it,
    `<project>-network`, and the ones the Deployment derives from project_name)."""
    ids = list(containers(project).values())
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
    for suffix in ("network", "jitsi-internal", "jitsi-metrics"):
        subprocess.run(
            ["docker", "network", "rm", f"{project}-{suffix}"], capture_output=True, check=False
        )


def stand_in_settings(
    project: str,
    http: int,
    media: int,
    colibri: int,
    jicofo: int,
    timeout: int = 120,
    *,
    https: int | None = None,
    images: dict[str, str] | None = None,
    frontend_env_file: str = "",
) -> str:
    """jitsi-stack.yml of a testbed stack with its own names and ports (append the rest):
    the one header every Docker test and bench writes. https: serve on this port with the
    site certificate at certs/site.crt and certs/site.key (the test writes them); images:
    more images than the testbed's jitsi ones, e.g. {"coturn": "jitsi-stack-testbed/..."};
    frontend_env_file: frontend.env_file. Without https, no development https either
    (frontend.dev_https: false): no second web port, each module owns its ports."""
    url = f"https://localhost:{https}" if https else f"http://localhost:{http}"
    secure = f"https: {https}, " if https else ""
    more = "".join(f", {name}: {value}" for name, value in (images or {}).items())
    text = f"""
project_name: {project}
container_prefix: {project}
network: {{name: {project}-network}}
public_url: {url}
ports: {{http: {http}, {secure}jvb_media: {media}, jvb_colibri: {colibri}, jicofo_rest: {jicofo}}}
images: {{repository: jitsi-stack-testbed, tag: good{more}}}
health: {{timeout: {timeout}, interval: 2}}
"""
    if https:
        text += "https: {enabled: true, certificate: {cert: certs/site.crt, key: certs/site.key}}\n"
    front = f"env_file: {frontend_env_file}, " if frontend_env_file else ""
    text += (
        f"frontend: {{{front}dev_https: false}}\n"
        if not https
        else (f"frontend: {{{front.rstrip(', ')}}}\n" if front else "")
    )
    return text


@contextlib.contextmanager
def started_stack(base: Path, project: str, settings: str):
    """A test project in `base`, started with `inv start` (asserted), yielding (base, the
    start's output); `inv clean --all` and a forced removal afterwards."""
    base.mkdir(exist_ok=True)
    write_settings(base, settings)
    force_down(project)
    proc = inv(base, "start")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        yield base, proc
    finally:
        inv(base, "clean", "--all", "--yes")
        force_down(project)


def status_json(base: Path) -> tuple[int, dict]:
    proc = inv(base, "status", "--json")
    return proc.returncode, json.loads(proc.stdout)


def wait_for(predicate, timeout: float, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Outcome:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(base: Path, *args: str, env: dict | None = None, stdin: str = "") -> Outcome:
    """The `jitsi-stack` command in this process (fast; same code path as the CLI)."""
    import contextlib
    import io

    from jitsi_stack.cli import program

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        os.environ.clear()
        os.environ.update(clean_environ(**(env or {})))
        os.environ.setdefault("JITSI_STACK_ROOT", str(base))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.stdin = io.StringIO(stdin)
            try:
                program.run(["jitsi-stack", *args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = sys.__stdin__
        os.environ.clear()
        os.environ.update(saved)
    return Outcome(code, out.getvalue(), err.getvalue())


def deployment(root_dir: Path, **kwargs):
    """The Deployment of a project folder, as every task builds it (settings/ stays below
    deployment/, so this helper lives here, not in settings.project)."""
    from jitsi_stack.deployment import build
    from jitsi_stack.settings import project

    return build(project.load(root_dir, **kwargs))
