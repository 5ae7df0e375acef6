"""The installed command: `pip install .` (not editable) into a fresh venv, then
`jitsi-stack` in an empty folder elsewhere starts the stack, smoke passes, clean leaves
nothing. Settings come from the environment only: the folder holds no file of ours."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers import REPO, cli, containers, force_down

pytestmark = pytest.mark.docker

PROJECT = "jsinstall"
ENV = {
    "JITSI_STACK_PROJECT_NAME": PROJECT,
    "JITSI_STACK_CONTAINER_PREFIX": PROJECT,
    "JITSI_STACK_NETWORK__NAME": f"{PROJECT}-network",
    "JITSI_STACK_PUBLIC_URL": "http://localhost:18743",
    "JITSI_STACK_PORTS__HTTP": "18743",
    "JITSI_STACK_PORTS__JVB_MEDIA": "10510",
    "JITSI_STACK_PORTS__JVB_COLIBRI": "18780",
    "JITSI_STACK_PORTS__JICOFO_REST": "18788",
    "JITSI_STACK_IMAGES__REPOSITORY": "jitsi-stack-testbed",
    "JITSI_STACK_IMAGES__TAG": "good",
    "JITSI_STACK_HEALTH__INTERVAL": "2",
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("venv")
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return target / "bin" / "jitsi-stack"


def test_installed_command_runs_the_stack_from_an_empty_folder(installed, tmp_path, testbed_images):
    folder = tmp_path / "meet"
    folder.mkdir()
    force_down(PROJECT)
    location = subprocess.run(
        [str(installed.parent / "python"), "-c", "import jitsi_stack; print(jitsi_stack.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
    ).stdout
    assert "site-packages" in location and str(REPO) not in location
    try:
        start = cli(folder, "start", "--json", env=ENV, executable=str(installed))
        assert start.returncode == 0, start.stdout + start.stderr
        assert json.loads(start.stdout)["url"] == "http://localhost:18743"
        assert (folder / "docker-compose.yml").is_file()
        assert (folder / "jitsi-meet" / ".env").is_file()
        assert sorted(containers(PROJECT)) == [
            "jitsi-jicofo",
            "jitsi-jvb",
            "jitsi-prosody",
            "jitsi-web",
        ]
        smoke = cli(folder, "smoke", "--json", env=ENV, executable=str(installed))
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert all(r["status"] in ("pass", "skip") for r in json.loads(smoke.stdout))
    finally:
        clean = cli(folder, "clean", "--yes", env=ENV, executable=str(installed))
        force_down(PROJECT)
    assert clean.returncode == 0, clean.stderr
    assert containers(PROJECT) == {}
    assert not (folder / "docker-compose.yml").exists()
    assert sys.prefix != str(installed.parent.parent)
