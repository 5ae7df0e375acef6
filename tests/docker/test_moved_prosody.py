"""A prosody recreated under another address is found again by web at once.

Upstream's web image proxies /http-bind and /xmpp-websocket to prosody by name and nginx
resolves that name at run time (`resolver {{ .Env.NGINX_RESOLVER }}`; unset, resolv.conf's
nameservers with no `valid=`: docker-jitsi-meet 738058b4 web/rootfs/defaults/nginx.conf:28-29,
web/rootfs/etc/s6-overlay/scripts/config:101-124; the testbed web derives it the same way).
Without a short `valid=`, nginx keeps prosody's old address for the TTL Docker's DNS gives
(600 s) and BOSH answers 502 meanwhile. Compose often hands a recreated container its old
address back; here a placeholder container is started first, so the new prosody moves.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time

import pytest

from jitsi_stack.smoke.xmpp import BoshClient, Deadline
from tests.support.project import containers, inv, stand_in_settings, started_stack

pytestmark = pytest.mark.docker

PROJECT = "jsmoved"
HTTP = 27043
# One nginx worker: each worker caches DNS answers on its own, so with upstream's four a
# login after the move could land on a worker that never looked prosody up and pass
# without the fix. With one, the login before the move fills the only cache there is.
SETTINGS = stand_in_settings(PROJECT, HTTP, 11710, 27080, 27088) + (
    "env: {NGINX_WORKER_PROCESSES: 1}\n"
)
# web reaches prosody on the platform's network (web is on no other): that is the address
# that has to move. The placeholder joins prosody's other network too.
NETWORKS = (f"{PROJECT}-network", f"{PROJECT}-jitsi-internal")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("moved") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def _addresses(container: str) -> dict[str, str]:
    out = subprocess.run(
        ["docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {name: net["IPAddress"] for name, net in json.loads(out).items()}


def _started(container: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _joins() -> bool:
    """An anonymous BOSH login through web, as a browser's first request goes."""
    client = BoshClient(f"http://localhost:{HTTP}/http-bind", "meet.jitsi", Deadline(5))
    try:
        client.connect()
        client.login_anonymous()
        client.bind()
        return True
    except Exception:  # any failure is "not yet"
        return False
    finally:
        with contextlib.suppress(Exception):  # a failed session has nothing to end
            client.terminate()


def test_web_reaches_a_prosody_that_moved_within_seconds(stack):
    assert _joins()
    web = containers(PROJECT)["jitsi-web"]
    web_started = _started(web)
    prosody = containers(PROJECT)["jitsi-prosody"]
    assert set(_addresses(containers(PROJECT)["jitsi-web"])) == {NETWORKS[0]}
    old = _addresses(prosody)
    subprocess.run(["docker", "rm", "-f", prosody], capture_output=True, check=True)
    # Compose's networks have no configured subnet, so no --ip: the engine gives the
    # placeholder the lowest free address (prosody's old one) or, allocating serially, the
    # next; either way the recreated prosody does not get its old address back
    holder = f"{PROJECT}-placeholder"
    subprocess.run(["docker", "rm", "-f", holder], capture_output=True, check=False)
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            holder,
            "--network",
            NETWORKS[0],
            "--entrypoint",
            "sleep",
            "jitsi-stack-testbed/web:good",
            "600",
        ],
        capture_output=True,
        check=True,
    )
    subprocess.run(["docker", "network", "connect", NETWORKS[1], holder], check=True)
    try:
        proc = inv(stack, "start")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        new = _addresses(containers(PROJECT)["jitsi-prosody"])
        assert new[NETWORKS[0]] != old[NETWORKS[0]], (old, new)
        # web kept running: its nginx has to find the new address by itself
        assert containers(PROJECT)["jitsi-web"] == web and _started(web) == web_started
        started = time.monotonic()
        joined = False
        while time.monotonic() - started < 30 and not joined:
            joined = _joins()
            if not joined:
                time.sleep(1)
        assert joined, "web still proxies to prosody's old address 30 s after it moved"
        print(f"\njoined {time.monotonic() - started:.1f}s after prosody moved (Compose)")
    finally:
        subprocess.run(["docker", "rm", "-f", holder], capture_output=True, check=False)


def _health(container: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_web_without_prosody_is_not_green(stack):
    """web's healthcheck asks /http-bind, which its nginx proxies to prosody: with prosody
    stopped web turns unhealthy and `inv status` exits 1 naming it (before: web's check
    fetched `/` and stayed healthy while every join failed)."""
    from tests.support.project import status_json, wait_for

    web, prosody = containers(PROJECT)["jitsi-web"], containers(PROJECT)["jitsi-prosody"]
    # the test before moved prosody: web's next checks find it again
    assert wait_for(lambda: _health(web) == "healthy", 60), _health(web)
    subprocess.run(["docker", "stop", prosody], capture_output=True, check=True)
    try:
        assert wait_for(lambda: _health(web) == "unhealthy", 90), _health(web)
        code, view = status_json(stack)
        rows = {r["service"]: r for r in view["services"]}
        assert code == 1 and rows["jitsi-web"]["health"] == "unhealthy", rows["jitsi-web"]
    finally:
        assert inv(stack, "start").returncode == 0
    assert wait_for(lambda: _health(web) == "healthy", 60), _health(web)
