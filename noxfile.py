"""Automation: `nox -s lint typecheck tests` is the test command (and nox's default);
`nox -s smoke` checks a deployment.

Opt-in sessions: `nox -s testbed` builds the stand-in images, `nox -s bench` measures.
"""

from __future__ import annotations

import glob
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYTHON_FILES = ["jitsi_stack", "tests", "bench", "tasks.py", "noxfile.py", "tools"]


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff, then the settings (production rules, strict render, compose), then the generated
    references."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", *PYTHON_FILES)
    session.run("ruff", "format", "--check", *PYTHON_FILES)
    # The operator's own settings, every example we ship, the defaults, and any FILE given.
    targets = [*glob.glob("jitsi-stack*.yml"), *sorted(glob.glob("examples/*.yml"))]
    session.run("python", "-m", "jitsi_stack.ops.lint", *targets)
    session.run("python", "-m", "jitsi_stack.ops.lint")  # the defaults alone
    session.run("python", "tools/gen_settings_doc.py", "--check")
    session.run("python", "tools/gen_upstream.py", "--check")
    session.run("python", "tools/gen_adopt_doc.py", "--check")
    if Path("docker-compose.yml").exists():  # a deployment lives here: is it current?
        session.run("jitsi-stack", "render", "--check")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package at default strictness ([tool.mypy] in pyproject.toml)."""
    session.install("-e", ".[typecheck]")
    session.run("mypy", *session.posargs)


@nox.session
def settings(session: nox.Session) -> None:
    """Lint settings files only: `nox -s settings -- FILE...` (default: the defaults)."""
    session.install("-e", ".[lint]")
    session.run("python", "-m", "jitsi_stack.ops.lint", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The pytest suite (Docker tests need an engine; CI requires one)."""
    session.install("-e", ".[test,dev]")
    session.run("pytest", *session.posargs)


@nox.session
def smoke(session: nox.Session) -> None:
    """Check a running deployment end to end: `nox -s smoke -- [--url URL] [--junit FILE]`."""
    session.install("-e", ".")
    session.run("jitsi-stack", "smoke", *session.posargs)


@nox.session(default=False)
def testbed(session: nox.Session) -> None:
    """Build the stand-in images the Docker tests run (root, debootstrap, an engine)."""
    session.install("-e", ".")
    session.run("python", "-m", "tests.testbed.build", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks against the raw docker compose commands (needs the testbed)."""
    session.install("-e", ".")
    session.run("python", "bench/render.py")
    session.run("python", "bench/bridges.py")
    session.run("python", "bench/lifecycle.py")
    session.run("python", "bench/callcenter.py")
    session.run("python", "bench/backup.py")


@nox.session(default=False)
def swarm(session: nox.Session) -> None:
    """The Docker Swarm tests on a real two-node Swarm (Docker-in-Docker nodes from Debian's
    docker.io; root, an engine, debootstrap, docker-registry), then bench/swarm.py."""
    session.install("-e", ".[test,dev]")
    session.env["JSTEST_REQUIRE_DOCKER"] = "1"
    session.run("python", "-m", "tests.support.swarm.node_image")
    session.run("pytest", "-p", "no:cacheprovider", "tests/docker/test_swarm.py")
    session.run("python", "bench/swarm.py", *(session.posargs or ["--runs", "3"]))
