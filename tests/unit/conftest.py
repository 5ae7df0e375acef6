"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.project import run_cli, seed_secrets, write_settings


@pytest.fixture(scope="session")
def good_tree(tmp_path_factory) -> Path:
    """A project rendered fine, copied for each case."""
    base = tmp_path_factory.mktemp("good") / "project"
    base.mkdir()
    write_settings(base, "timezone: UTC\n")
    seed_secrets(base)
    assert run_cli(base, "render").returncode == 0
    return base
