"""Shared fixtures. Docker tests are marked `docker`: they skip loudly without an engine,
and fail instead when JSTEST_REQUIRE_DOCKER=1 (as in CI, .ci/run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jitsi_stack.ops.preflight import docker_problem

_DOCKER = docker_problem()
REQUIRED = os.environ.get("JSTEST_REQUIRE_DOCKER") == "1"


def pytest_collection_modifyitems(config, items):
    if _DOCKER is None:
        return
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"SKIPPED: needs Docker: {_DOCKER} (CI sets JSTEST_REQUIRE_DOCKER=1"
                    " and fails instead)"
                )
            )


def pytest_sessionstart(session):
    if _DOCKER is not None and REQUIRED:
        raise pytest.UsageError(
            f"JSTEST_REQUIRE_DOCKER=1 but {_DOCKER}: the Docker tests cannot run"
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


@pytest.fixture(scope="session")
def testbed_images():
    """The stand-in images, built once (cached by a hash of their sources)."""
    from tests.testbed.build import ensure_images

    return ensure_images()
