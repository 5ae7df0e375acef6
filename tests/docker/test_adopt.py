"""`inv adopt` takes over a docker-jitsi-meet deployment and loses nothing: the testbed's
prosody (Debian's real prosody behind upstream's register-setup) makes the accounts the
old way, adopt refuses while that container holds the data, then carries the passwords
and the data; `inv start` reaches healthy, the agent signs in with the old password, the
internal components log in with the carried passwords (their accounts are not made
again), and `inv smoke` passes.

Compose project `jsadopt`, host ports 25080/25081/25088 (TCP) and 12500 (UDP).
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest

from jitsi_stack.smoke.xmpp import BoshClient, Deadline, SaslError
from jitsi_stack.store import secrets as store
from tests.support.project import force_down, inv

pytestmark = pytest.mark.docker

PROJECT = "jsadopt"
HTTP, COLIBRI, JICOFO, MEDIA = 25080, 25081, 25088, 12500
OLD_PROSODY = f"{PROJECT}-old-prosody"
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "adopt" / "docker-jitsi-meet.env"
AGENT, AGENT_PASSWORD = "agent1", "Old-agent-pass-1"
# the account files prosody keeps (prosody's internal storage under its data_path:
# data/<host>/accounts/<user>.dat, the host's dots written %2e)
ACCOUNTS = (
    "data/meet%2ejitsi/accounts/agent1.dat",
    "data/auth%2emeet%2ejitsi/accounts/focus.dat",
    "data/auth%2emeet%2ejitsi/accounts/jvb.dat",
)
LOCAL = f"""project_name: {PROJECT}
container_prefix: {PROJECT}
network: {{name: {PROJECT}-network}}
health: {{timeout: 180, interval: 2}}
"""


def old_env() -> str:
    """The fixture as this testbed can run it: local plain HTTP on this test's ports, the
    stand-in images, no Let's Encrypt and no public addresses (a machine without them)."""
    swap = {
        "HTTP_PORT=80": f"HTTP_PORT={HTTP}\nDISABLE_HTTPS=1\nJVB_PORT={MEDIA}\n"
        f"JVB_COLIBRI_PORT={COLIBRI}\nJICOFO_REST_PORT={JICOFO}",
        "HTTPS_PORT=443": "HTTPS_PORT=25443",
        "PUBLIC_URL=https://${SITE}": f"PUBLIC_URL=http://localhost:{HTTP}",
        "ENABLE_LETSENCRYPT=1": "ENABLE_LETSENCRYPT=0",
        "JVB_ADVERTISE_IPS=203.0.113.10,192.168.1.10\n": "",
        "DOCKER_HOST_ADDRESS=203.0.113.10\n": "",
        "JITSI_IMAGE_REPO=ghcr.io/jitsi": "JITSI_IMAGE_REPO=jitsi-stack-testbed",
        "JITSI_IMAGE_VERSION=stable-11146-2": "JITSI_IMAGE_VERSION=good",
    }
    text = FIXTURE.read_text()
    for old, new in swap.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv
        ["docker", *args], capture_output=True, text=True, timeout=120, check=check
    )


def wait_log(container: str, line: str, timeout: float = 90) -> None:
    """Until the container's log holds the line (its own sign, never a sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = docker("logs", container, check=False)
        if line in logs.stdout + logs.stderr:
            return
        time.sleep(0.5)
    raise AssertionError(f"{container}: no {line!r} in its log")


def make_accounts_the_old_way(data: Path, passwords: dict[str, str]) -> None:
    """Start prosody as docker-jitsi-meet runs it (the stand-in of its image, with the old
    .env's passwords and CONFIG/storage/prosody as /var/lib/prosody): register-setup makes
    focus and jvb; then the agent is made with prosodyctl as an operator did."""
    docker("rm", "-f", OLD_PROSODY, check=False)
    docker(
        "run",
        "-d",
        "--name",
        OLD_PROSODY,
        "-v",
        f"{data}:/var/lib/prosody",
        "-e",
        "ENABLE_AUTH=1",
        "-e",
        "AUTH_TYPE=internal",
        "-e",
        f"JICOFO_AUTH_PASSWORD={passwords['JICOFO_AUTH_PASSWORD']}",
        "-e",
        f"JVB_AUTH_PASSWORD={passwords['JVB_AUTH_PASSWORD']}",
        "jitsi-stack-testbed/prosody:good",
    )
    wait_log(OLD_PROSODY, "[register-setup] done")
    made = docker(
        "exec",
        OLD_PROSODY,
        "prosodyctl",
        "--config",
        "/run/prosody/config/prosody.cfg.lua",
        "shell",
        "user",
        "create",
        f"{AGENT}@meet.jitsi",
        AGENT_PASSWORD,
    )
    assert "Created" in made.stdout + made.stderr or made.returncode == 0, made


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def login(name: str, password: str) -> str:
    client = BoshClient(f"http://localhost:{HTTP}/http-bind", "meet.jitsi", Deadline(15))
    try:
        client.connect()
        client.login_plain(name, password)
        return client.bind()
    finally:
        client.terminate()


@pytest.fixture
def project(tmp_path, testbed_images):
    force_down(PROJECT)
    yield tmp_path
    docker("rm", "-f", OLD_PROSODY, check=False)
    if (tmp_path / "project" / "jitsi-stack.yml").exists():
        inv(tmp_path / "project", "clean", "--all", "--yes")
    force_down(PROJECT)


def test_adopt_keeps_accounts_passwords_and_data(project: Path) -> None:
    old = project / "docker-jitsi-meet"
    data = old / "cfg" / "storage" / "prosody"
    data.mkdir(parents=True)
    data.chmod(0o777)  # the image's prosody user writes here, as into upstream's tree
    (old / ".env").write_text(old_env())
    passwords = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in old_env().splitlines()
        if line.split("=", 1)[0] in store.SECRET_NAMES
    }
    make_accounts_the_old_way(data, passwords)
    before = {rel: digest(data / rel) for rel in ACCOUNTS}
    root = project / "project"
    root.mkdir()
    (root / "jitsi-stack.local.yml").write_text(LOCAL)

    # the old prosody still holds CONFIG: adopt refuses, names it, changes nothing
    refused = inv(root, "adopt", str(old / ".env"))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert OLD_PROSODY in refused.stderr and "stop it first" in refused.stderr
    assert not (root / "jitsi-stack.yml").exists() and (old / "cfg").is_dir()

    docker("rm", "-f", OLD_PROSODY)
    done = inv(root, "adopt", str(old / ".env"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.read(root) == passwords
    moved = root / "jitsi-meet" / "storage" / "prosody"
    assert {rel: digest(moved / rel) for rel in ACCOUNTS} == before

    started = inv(root, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert login(AGENT, AGENT_PASSWORD).startswith(f"{AGENT}@meet.jitsi/")
    with pytest.raises(SaslError):
        login(AGENT, "not-the-old-password")
    # jicofo and the bridge are healthy (inv start waited for it): they logged in with the
    # carried passwords to the accounts made before, which were not made again
    assert {rel: digest(moved / rel) for rel in ACCOUNTS} == before
    logs = docker("logs", f"{PROJECT}-prosody", check=False)
    text = logs.stdout + logs.stderr
    assert "focus@auth.meet.jitsi registered" not in text, text[-2000:]
    assert "[register-setup] focus@auth.meet.jitsi registration output" in text

    smoke = inv(root, "smoke")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
