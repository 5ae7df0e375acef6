"""`inv smoke` / `nox -s smoke` against the testbed stack started by `inv start`.

Each check must pass on a healthy stack and fail, with a clear cause, when the part
it checks is broken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jitsi_stack.smoke import CHECK_NAMES
from jitsi_stack.smoke.xmpp import open_rooms
from tests.support.project import REPO, containers, inv, stand_in_settings, started_stack, wait_for

pytestmark = pytest.mark.docker

PROJECT = "jssmoke"
PORT = 18643
SETTINGS = stand_in_settings(PROJECT, PORT, 10410, 18680, 18688)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("smoke") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def smoke(base: Path, *args: str) -> tuple[int, dict[str, dict]]:
    proc = inv(base, "smoke", "--json", *args)
    results = json.loads(proc.stdout)
    return proc.returncode, {r["name"]: r for r in results}


def rooms(base: Path) -> list[str]:
    return open_rooms(f"http://localhost:{PORT}/http-bind", "meet.jitsi", "muc.meet.jitsi")


def healthy(base: Path) -> bool:
    return inv(base, "status").returncode == 0


def test_smoke_passes_on_a_healthy_stack_and_leaves_nothing(stack):
    accounts_before = sorted(p.name for p in (stack / "jitsi-meet/storage/prosody").rglob("*"))
    code, results = smoke(stack)
    assert code == 0, results
    assert set(results) == set(CHECK_NAMES)
    for name in (
        "web",
        "config-js",
        "bosh",
        "websocket",
        "focus",
        "jvb-health",
        "jicofo-health",
        "prosody-health",
        "jvb-udp",
    ):
        assert results[name]["status"] == "pass", results[name]
    assert results["tls-cert"]["status"] == "skip"  # plain http in development
    assert rooms(stack) == []  # the probe left no room open
    accounts_after = sorted(p.name for p in (stack / "jitsi-meet/storage/prosody").rglob("*"))
    assert accounts_after == accounts_before  # and created no account


def test_table_output_and_junit_lists_every_check(stack, tmp_path):
    junit = tmp_path / "smoke.xml"
    proc = inv(stack, "smoke", "--junit", str(junit))
    assert proc.returncode == 0
    for name in CHECK_NAMES:
        assert name in proc.stdout
    suite = ET.parse(junit).getroot()
    cases = {case.get("name") for case in suite.iter("testcase")}
    assert cases == set(CHECK_NAMES)
    assert not list(suite.iter("failure"))


def test_nox_smoke_session_passes(stack, tmp_path):
    junit = tmp_path / "nox-smoke.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
    env["JITSI_STACK_ROOT"] = str(stack)
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "smoke", "--", "--junit", str(junit)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")} == set(CHECK_NAMES)


def test_wrong_public_url_fails_the_config_js_check(stack):
    """Browsers reach the stack at an address other than PUBLIC_URL."""
    code, results = smoke(stack, "--url", f"http://127.0.0.1:{PORT}")
    assert code == 1
    assert results["config-js"]["status"] == "fail"
    assert "localhost" in results["config-js"]["detail"] + results["config-js"]["cause"]


def test_bridge_down_fails_bridge_and_focus(stack):
    assert inv(stack, "stop", "jvb").returncode == 0
    try:
        # jicofo notices the bridge left the brewery
        wait_for(lambda: smoke(stack, "--only", "focus")[1]["focus"]["status"] == "fail", 60)
        code, results = smoke(stack)
        assert code == 1
        assert results["jvb-health"]["status"] == "fail"
        assert results["focus"]["status"] == "fail"
        assert "bridge" in results["focus"]["cause"]
        assert results["web"]["status"] == "pass"
    finally:
        assert inv(stack, "start", "jvb").returncode == 0
    assert wait_for(lambda: healthy(stack), 90)


def test_prosody_down_fails_bosh_and_websocket(stack):
    assert inv(stack, "stop", "prosody").returncode == 0
    try:
        code, results = smoke(stack)
        assert code == 1
        for name in ("bosh", "websocket", "prosody-health"):
            assert results[name]["status"] == "fail", results[name]
            assert results[name]["cause"], name
        assert results["web"]["status"] == "pass"
    finally:
        assert inv(stack, "start").returncode == 0
    # jicofo and the bridge log in to the new prosody again before the next test
    assert wait_for(lambda: healthy(stack), 90)


def test_web_down_fails_everything_through_it_with_one_cause(stack):
    assert inv(stack, "stop", "web").returncode == 0
    try:
        code, results = smoke(stack)
        assert code == 1
        for name in ("web", "config-js", "bosh", "websocket"):
            assert results[name]["status"] == "fail", results[name]
            assert "is the web container running" in results[name]["cause"], results[name]
        assert results["jvb-health"]["status"] == "pass"
    finally:
        assert inv(stack, "start").returncode == 0
    assert len(containers(PROJECT)) == 4
