"""The bundled TURN server on the testbed, switched on over the development defaults
(`turn: {enabled: true}`, only this module's ports changed): it starts healthy, relays on
UDP and TCP with prosody's credentials, and its shared secret (the generated one, then a
hostile given one) is on no command line in the host's process table and reaches coturn
byte for byte.

Real parts: Debian's coturn behind our stand-in of the official image's entrypoint (each
argument through `eval "echo ..."`, coturn/coturn 8024aa63 docker/coturn/rootfs/usr/local/
bin/docker-entrypoint.sh lines 8-12), Debian's prosody handing out the credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from jitsi_stack.render import yaml_str
from jitsi_stack.store import secrets
from tests.support.clients.turn import rest_password
from tests.support.project import (
    containers,
    inv,
    stand_in_settings,
    started_stack,
    status_json,
    write_settings,
)

pytestmark = pytest.mark.docker

PROJECT = "jsturn"
TURN_PORT = 22478
SETTINGS = (
    stand_in_settings(
        PROJECT, http=22443, media=11200, colibri=22481, jicofo=22488, timeout=180
    ).replace("tag: good}", 'tag: good, coturn: "jitsi-stack-testbed/coturn:good"}')
    + f"turn: {{enabled: true, port: {TURN_PORT}, relay_min: 23000, relay_max: 23009}}\n"
)
# Runs of spaces, globs that match files in coturn's working directory (/), $, quotes, #:
# the old `--static-auth-secret=${TURN_CREDENTIALS}` gave coturn "two spaces * ..." with
# the * replaced by the names in /.
# Every word long enough to survive word splitting carries this run's own nonce, so the
# scan of the host's process table below finds our secret and nothing else: CI's harness
# (a process on the same host) once held the plain word "spaces" in its command line.
NONCE = os.urandom(4).hex()
HOSTILE = f"two  spaces{NONCE} * ? [a-z]* $HOME $(id) 'single{NONCE}' #hash   end{NONCE}"


def _settings(secret: str | None) -> str:
    if secret is None:
        return SETTINGS
    return SETTINGS.replace("relay_max: 23009}", f"relay_max: 23009, secret: {yaml_str(secret)}}}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("turn") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, started):
        yield base, started


def host_cmdlines() -> dict[int, bytes]:
    """Every process's command line as the host's /proc shows it to anyone (what `ps -eo
    args` prints), NUL-separated arguments."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
    return found


def container_pids(project: str) -> set[int]:
    """The host pids of this project's coturn container (its cgroup names the id)."""
    cid = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}}", containers(project)["jitsi-coturn"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and cid in (entry / "cgroup").read_text():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def assert_not_in_process_list(secret: str) -> None:
    lines = host_cmdlines()
    ours = [lines[pid] for pid in container_pids(PROJECT) if pid in lines]
    turnservers = [c for c in ours if c.startswith(b"turnserver\0")]
    # coturn runs (so the scan can see it), with only its config file as arguments
    assert turnservers == [b"turnserver\0-c\0/etc/coturn/turnserver.conf\0"], ours
    # what word splitting would leave of a hostile secret: only the words that carry this
    # run's nonce (a generated secret is one word, checked whole above)
    words = [w for w in secret.split() if NONCE in w]
    assert len(words) == (3 if secret == HOSTILE else 0), words
    for pid, cmdline in lines.items():
        text = cmdline.decode("utf-8", "replace")
        assert secret not in text and secret not in text.replace("\0", " "), pid
        for word in words:
            assert word not in text, (pid, word)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "turnserver -c /etc/coturn/turnserver.conf" in ps.stdout
    assert secret not in ps.stdout


def coturn_env(project: str) -> list[str]:
    cid = containers(project)["jitsi-coturn"]
    proc = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Config.Env}}", cid],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def allocate(secret: str, transport: str = "udp") -> tuple[str, int]:
    """A relay from the bundled coturn with TURN REST credentials made from `secret`
    (username EXPIRY, password base64(HMAC-SHA1(secret, username)))."""
    from aioice import turn

    username = str(int(time.time()) + 600)

    async def run():
        relay, _ = await asyncio.wait_for(
            turn.create_turn_endpoint(
                asyncio.DatagramProtocol,
                ("127.0.0.1", TURN_PORT),
                username,
                rest_password(secret, username),
                lifetime=60,
                transport=transport,
            ),
            15,
        )
        try:
            return relay.get_extra_info("sockname")
        finally:
            relay.close()

    return asyncio.run(run())


def smoke_turn(base: Path) -> dict:
    proc = inv(base, "smoke", "--json", "--only", "turn")
    return json.loads(proc.stdout)[0]


def test_turn_on_the_defaults_starts_healthy_and_says_why_tls_is_off(stack):
    base, _ = stack  # started_stack asserted `inv start` (which waits for health) exit 0
    code, status = status_json(base)
    assert code == 0, status
    shown = json.loads(inv(base, "config", "--json").stdout)["settings"]["turn.tls"]
    assert shown == {"value": False, "source": "auto: no https.certificate", "upstream": None}
    assert "TURNS_HOST" not in (base / "jitsi-meet/.env").read_text()


def test_smoke_turn_relays_on_udp_and_tcp_with_the_generated_secret(stack):
    base, _ = stack
    result = smoke_turn(base)
    assert result["status"] == "pass", result
    assert f"turn:localhost:{TURN_PORT}/udp" in result["detail"]
    assert f"turn:localhost:{TURN_PORT}/tcp" in result["detail"]
    assert "turns:" not in result["detail"]


def test_the_whole_smoke_passes_with_turn_on_the_defaults(stack):
    base, _ = stack
    proc = inv(base, "smoke", "--json")
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, [r for r in results.values() if r["status"] == "fail"]
    assert results["turn"]["status"] == "pass", results["turn"]


def test_the_generated_secret_is_in_no_process_and_reaches_coturn(stack):
    base, _ = stack
    secret = secrets.read(base)["TURN_CREDENTIALS"]
    assert_not_in_process_list(secret)
    assert not [e for e in coturn_env(PROJECT) if e.startswith("TURN_CREDENTIALS=")]
    conf = base / "jitsi-meet/coturn/turnserver.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    if os.geteuid() == 0:
        assert conf.stat().st_uid == 65534
    assert allocate(secret)[1] >= 23000


def test_a_hostile_given_secret_reaches_coturn_intact_and_no_process_list(stack):
    base, _ = stack
    before = containers(PROJECT)["jitsi-coturn"]
    write_settings(base, _settings(HOSTILE))
    try:
        started = inv(base, "start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert HOSTILE not in started.stdout + started.stderr
        # the label that follows turnserver.conf made Compose recreate coturn
        assert containers(PROJECT)["jitsi-coturn"] != before
        assert_not_in_process_list(HOSTILE)
        relayed = allocate(HOSTILE)  # coturn holds the secret byte for byte
        assert 23000 <= relayed[1] <= 23009
        assert allocate(HOSTILE, "tcp")
        # what the old command line gave coturn: runs of blanks made one space
        with pytest.raises(Exception, match="401|Unauthorized"):
            allocate(" ".join(HOSTILE.split()))
        # A new secret recreates prosody too; the web's nginx resolves prosody's name with
        # the DNS answer's lifetime (upstream web/rootfs/defaults/nginx.conf line 29,
        # `resolver` without valid=), so a prosody on a new address answers BOSH with 502
        # until the web container restarts: not what this test is about.
        assert inv(base, "restart", "web").returncode == 0
        result = smoke_turn(base)
        assert result["status"] == "pass", result
        assert f"turn:localhost:{TURN_PORT}/tcp" in result["detail"]
        logs = inv(base, "logs", "coturn", "--tail", "300")
        assert HOSTILE not in logs.stdout + logs.stderr
    finally:
        write_settings(base, SETTINGS)
        inv(base, "start")
