"""`inv update --check` against a real registry (Debian's docker-registry, the reference
distribution implementation) holding the testbed images under stable tags."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.project import inv, write_settings

pytestmark = pytest.mark.docker

PORT = 19950


@pytest.fixture(scope="module")
def registry(tmp_path_factory, testbed_images):
    from tests.testbed.registry import start_registry

    reg = start_registry(tmp_path_factory.mktemp("registry"), port=PORT)
    pushed = []
    try:
        plan = {
            "web": ["stable-11146-2", "stable-11200", "stable-11300-1"],
            "prosody": ["stable-11146-2", "stable-11200", "stable-11300-1"],
            "jicofo": ["stable-11146-2", "stable-11200", "stable-11300-1"],
            "jvb": ["stable-11146-2", "stable-11200"],  # 11300-1 is incomplete: no jvb
        }
        for svc, tags in plan.items():
            for tag in tags:
                ref = f"{reg.url}/jitsi/{svc}:{tag}"
                subprocess.run(
                    ["docker", "tag", f"jitsi-stack-testbed/{svc}:good", ref], check=True
                )
                subprocess.run(["docker", "push", ref], check=True, capture_output=True)
                pushed.append(ref)
        yield reg
    finally:
        subprocess.run(["docker", "image", "rm", *pushed], capture_output=True, check=False)
        reg.stop()


def test_update_check_lists_complete_newer_releases_from_the_registry(registry, root):
    write_settings(root, f"images: {{repository: '{registry.url}/jitsi', tag: stable-11146-2}}\n")
    proc = inv(root, "update", "--check", "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["tag"] for r in data["newer"]] == ["stable-11200"]
    table = inv(root, "update", "--check")
    assert "stable-11200" in table.stdout and "update jitsi-stack first" in table.stdout


def test_update_check_is_quiet_and_0_when_up_to_date(registry, root):
    write_settings(root, f"images: {{repository: '{registry.url}/jitsi', tag: stable-11200}}\n")
    proc = inv(root, "update", "--check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("up to date: stable-11200")
