"""Shared fixtures. Docker tests are marked `docker`: they skip loudly without an engine,
and fail instead when JITSI_STACK_REQUIRE_DOCKER=1 (as in CI, .ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXED_SECRETS = {
    "JICOFO_AUTH_PASSWORD": "0" * 31 + "1",
    "JVB_AUTH_PASSWORD": "0" * 31 + "2",
    "JIGASI_XMPP_PASSWORD": "0" * 31 + "3",
    "JIGASI_TRANSCRIBER_PASSWORD": "0" * 31 + "4",
    "JIBRI_RECORDER_PASSWORD": "0" * 31 + "5",
    "JIBRI_XMPP_PASSWORD": "0" * 31 + "6",
}


def docker_problem() -> str | None:
    """None when a Docker engine and Compose v2 answer, else why not."""
    if not shutil.which("docker"):
        return "the docker CLI is not installed"
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if info.returncode != 0:
        return f"no Docker engine answers ({info.stderr.strip().splitlines()[-1:]})"
    version = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2"):
        return "Docker Compose v2 is missing"
    return None


_DOCKER = docker_problem()
REQUIRED = os.environ.get("JITSI_STACK_REQUIRE_DOCKER") == "1"


def pytest_collection_modifyitems(config, items):
    if _DOCKER is None:
        return
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"SKIPPED: needs Docker: {_DOCKER} (CI sets JITSI_STACK_REQUIRE_DOCKER=1"
                    " and fails instead)"
                )
            )


def pytest_sessionstart(session):
    if _DOCKER is not None and REQUIRED:
        raise pytest.UsageError(
            f"JITSI_STACK_REQUIRE_DOCKER=1 but {_DOCKER}: the Docker tests cannot run"
        )


def pytest_terminal_summary(terminalreporter):
    if _DOCKER is not None:
        terminalreporter.write_sep("!", f"Docker tests SKIPPED: {_DOCKER}", red=True, bold=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty project root (settings, outputs and secrets live here)."""
    base = tmp_path / "project"
    base.mkdir()
    return base


def write_settings(base: Path, text: str) -> Path:
    path = base / "jitsi-stack.yml"
    path.write_text(text, encoding="utf-8")
    return path


def seed_secrets(base: Path) -> None:
    from jitsi_stack import secrets

    secrets.save(base, FIXED_SECRETS)


def inv(
    base: Path,
    *args: str,
    env: dict | None = None,
    check: bool = False,
    timeout: float = 900,
    input_text: str | None = None,
) -> subprocess.CompletedProcess:
    """Run the real `inv` CLI against a project root."""
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JITSI_STACK_")
        or k in ("JITSI_STACK_REQUIRE_DOCKER", "JITSI_STACK_TESTBED_CACHE")
    }
    full.update(env or {})
    full["JITSI_STACK_ROOT"] = str(base)
    full.setdefault("COLUMNS", "200")
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
        cwd=base,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"inv {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def tree_snapshot(base: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under base with its mode and bytes (or link target)."""
    out = {}
    for path in sorted(base.rglob("*")):
        rel = str(path.relative_to(base))
        st = path.lstat()
        if path.is_symlink():
            out[rel] = (st.st_mode, os.readlink(path))
        elif path.is_file():
            out[rel] = (st.st_mode, path.read_bytes())
        else:
            out[rel] = (st.st_mode, b"<dir>")
    return out
