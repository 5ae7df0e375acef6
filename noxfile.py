"""Automation: `nox -s lint tests` is the test command; `nox -s smoke` checks a deployment."""

from __future__ import annotations

import glob
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON_FILES = ["jitsi_stack", "tests", "bench", "tasks.py", "noxfile.py", "tools"]


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff, then the settings: production rules, strict render, yamllint, compose config."""
    session.install("-e", ".[lint]")
    if session.posargs:  # `nox -s lint -- FILE...`: only those settings files
        session.run("python", "-m", "jitsi_stack.lint", *session.posargs)
        return
    session.run("ruff", "check", *PYTHON_FILES)
    session.run("ruff", "format", "--check", *PYTHON_FILES)
    # The operator's own settings (or the defaults) and every example we ship.
    targets = [*glob.glob("jitsi-stack*.yml"), *sorted(glob.glob("examples/*.yml"))]
    session.run("python", "-m", "jitsi_stack.lint", *targets)
    session.run("python", "-m", "jitsi_stack.lint")  # the defaults alone
    session.run("python", "tools/gen_settings_doc.py", "--check")
    if Path("docker-compose.yml").exists():  # a deployment lives here: is it current?
        session.run("invoke", "render", "--check")


@nox.session
def tests(session: nox.Session) -> None:
    """The pytest suite (Docker tests need an engine; CI requires one)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def smoke(session: nox.Session) -> None:
    """Check a running deployment end to end: `nox -s smoke -- [--url URL] [--junit FILE]`."""
    session.install("-e", ".")
    session.run("invoke", "smoke", *session.posargs)
