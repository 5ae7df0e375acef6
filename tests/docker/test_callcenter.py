"""A call center on the testbed: agents with internal accounts, HTTPS with the site's own
certificate, the bundled TURN server; and a second stack with JWT auth.

Real parts: Debian's prosody (its admin shell creates the accounts and checks the
passwords over BOSH), Debian's coturn behind the official image's entrypoint (relays are
allocated with prosody's credentials), nginx serving our certificate.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from jitsi_stack.smoke.xmpp import BoshClient, Deadline, SaslError
from tests.support.project import containers, inv, stand_in_settings, started_stack, write_settings

pytestmark = pytest.mark.docker

PROJECT = "jscc"
HTTPS_PORT = 19643
SETTINGS = (
    stand_in_settings(
        PROJECT,
        19680,
        19610,
        19681,
        19688,
        https=HTTPS_PORT,
        images={"coturn": '"jitsi-stack-testbed/coturn:good"'},
    )
    + """
auth: {enabled: true, type: internal, guests: true}
turn:
  enabled: true
  host: localhost
  port: 19678
  tls_port: 19649
  relay_min: 19650
  relay_max: 19659
"""
)
PASSWORD = 'Agent"Pass\\word €1'  # a quote, a backslash, a space and UTF-8: all reach prosody


def make_ca_and_leaf(folder: Path, days: int = 60) -> Path:
    """A test CA and a leaf for localhost and 127.0.0.1; returns the CA file."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jitsi-stack test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.crt").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "site.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / "site.key").chmod(0o600)
    (folder.parent / "ca.crt").write_bytes(ca.public_bytes(pem))
    return folder.parent / "ca.crt"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("callcenter") / "project"
    folder.mkdir()
    ca = make_ca_and_leaf(folder / "certs")
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base, ca


def users(base: Path, *args: str, password: str | None = None):
    stdin = None if password is None else password + "\n"
    return inv(base, f"users.{args[0]}", *args[1:], input_text=stdin)


def login(name: str, password: str) -> str:
    """SASL PLAIN over BOSH through the web container, as the login dialog does."""
    client = BoshClient(
        f"https://localhost:{HTTPS_PORT}/http-bind", "meet.jitsi", Deadline(15), verify=False
    )
    try:
        client.connect()
        client.login_plain(name, password)
        return client.bind()
    finally:
        client.terminate()


def refused(name: str, password: str) -> bool:
    try:
        login(name, password)
    except SaslError as exc:
        return exc.condition == "not-authorized"
    return False


def test_agent_accounts_live_in_prosody_and_log_in(stack):
    base, _ = stack
    add = users(base, "add", "agent007", "--password-stdin", password=PASSWORD)
    assert add.returncode == 0, add.stderr
    assert add.stdout.strip() == "created agent007@meet.jitsi"
    assert login("agent007", PASSWORD).startswith("agent007@meet.jitsi/")
    assert refused("agent007", "wrong-password")

    listed = json.loads(users(base, "list", "--json").stdout)
    assert {"name": "agent007", "jid": "agent007@meet.jitsi"} in listed["accounts"]

    again = users(base, "add", "agent007", "--password-stdin", password="Other-pass-1")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1] == (
        "error: users add: agent007@meet.jitsi exists: change its password with "
        "`inv users.passwd agent007`"
    )
    assert login("agent007", PASSWORD)  # the old password still works: nothing changed

    new = users(base, "passwd", "agent007", "--password-stdin", password="N3w-password")
    assert new.returncode == 0, new.stderr
    assert refused("agent007", PASSWORD)
    assert login("agent007", "N3w-password")

    gone = users(base, "remove", "agent007")
    assert gone.returncode == 0, gone.stderr
    assert refused("agent007", "N3w-password")
    missing = users(base, "remove", "agent007")
    assert missing.returncode == 1
    assert "no account agent007@meet.jitsi" in missing.stderr


def test_passwords_never_reach_an_argv_or_the_output(stack):
    """--echo prints every command run: the password must not be among them."""
    base, _ = stack
    proc = inv(
        base, "--echo", "users.add", "echoed", "--password-stdin", input_text="Echo-S3cret-9\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "docker exec --interactive" in proc.stdout + proc.stderr
    assert "Echo-S3cret-9" not in proc.stdout + proc.stderr
    logs = inv(base, "logs", "prosody", "--tail", "200")
    assert "Echo-S3cret-9" not in logs.stdout
    users(base, "remove", "echoed")


def test_import_creates_all_reports_each_line_and_keeps_existing(stack, tmp_path):
    base, _ = stack
    users(base, "add", "agent001", "--password-stdin", password="Kept-pass-001")
    lines = ["name,password"] + [f"agent{i:03d},Import-pass-{i:03d}" for i in range(1, 41)]
    csv = tmp_path / "agents.csv"
    csv.write_text("\n".join(lines) + "\n")
    proc = inv(base, "users.import", str(csv), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    results = {row["name"]: row["result"] for row in report["accounts"]}
    assert results.pop("agent001") == "exists"
    assert set(results.values()) == {"created"} and len(results) == 39, proc.stdout[:3000]
    assert [row["line"] for row in report["accounts"]] == list(range(2, 42))
    assert login("agent001", "Kept-pass-001")  # existing accounts keep their password
    assert login("agent040", "Import-pass-040")
    assert "Import-pass" not in proc.stdout + proc.stderr

    update = inv(base, "users.import", str(csv), "--update", "--json")
    assert update.returncode == 0
    assert {row["result"] for row in json.loads(update.stdout)["accounts"]} == {"updated"}
    assert login("agent001", "Import-pass-001")


def test_the_site_certificate_is_served_and_status_reads_its_expiry(stack):
    base, ca = stack
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"https://localhost:{HTTPS_PORT}/", context=context) as page:
        assert page.status == 200  # verified against our CA: nginx serves the copy we rendered
    status = json.loads(inv(base, "status", "--json").stdout)
    cert = status["certificate"]
    assert cert["subject"] == "CN=localhost"
    assert cert["level"] == "ok" and 58 <= cert["days_left"] <= 60


def test_smoke_checks_auth_and_turn_end_to_end(stack):
    base, ca = stack
    proc = inv(base, "smoke", "--json", "--cafile", str(ca))
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert results["auth"]["status"] == "pass", results["auth"]
    assert "agent login (SASL PLAIN)" in results["auth"]["detail"]
    assert results["turn"]["status"] == "pass", results["turn"]
    for label in (
        "turn:localhost:19678/udp",
        "turn:localhost:19678/tcp",
        "turns:localhost:19649/tls",
    ):
        assert label in results["turn"]["detail"]
    assert results["tls-cert"]["status"] == "pass", results["tls-cert"]
    tls = results["tls-cert"]["detail"]
    assert "subject localhost" in tls and "issued by jitsi-stack test CA" in tls, tls
    assert "(in 59 days)" in tls or "(in 60 days)" in tls, tls
    listed = json.loads(users(base, "list", "--json").stdout)
    assert not [a for a in listed["accounts"] if a["name"].startswith("jitsi-stack-probe-")]


def test_nox_smoke_passes_with_turn_and_internal_auth(stack, tmp_path):
    """`nox -s smoke` as the README gives it, on the call-center stack: every check passes
    or is skipped for a stated reason (here only the guest-path warnings of auth)."""
    import os
    import sys
    import xml.etree.ElementTree as ET

    from tests.support.project import REPO

    base, ca = stack
    junit = tmp_path / "smoke.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
    env["JITSI_STACK_ROOT"] = str(base)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-s",
            "smoke",
            "--",
            "--cafile",
            str(ca),
            "--junit",
            str(junit),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    for name in ("auth", "turn", "tls-cert"):
        assert cases[name].find("failure") is None and cases[name].find("skipped") is None


def test_smoke_turn_fails_when_coturn_has_another_secret(stack):
    """The classic: coturn and prosody disagree on the shared secret. coturn reads it from
    its config file (static-auth-secret=): give it another one there and restart it."""
    base, ca = stack
    cid = containers(PROJECT)["jitsi-coturn"]
    conf = base / "jitsi-meet" / "coturn" / "turnserver.conf"
    original = conf.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    changed = [
        "static-auth-secret=" + "x" * 40 + "\n" if ln.startswith("static-auth-secret=") else ln
        for ln in lines
    ]
    assert changed != lines
    try:
        with open(conf, "r+b") as handle:  # in place: mode 0600 and owner stay
            handle.write("".join(changed).encode())
            handle.truncate()
        subprocess.run(["docker", "restart", cid], check=True, capture_output=True, timeout=120)
        proc = inv(base, "smoke", "--json", "--only", "turn", "--cafile", str(ca))
        result = json.loads(proc.stdout)[0]
    finally:
        with open(conf, "r+b") as handle:
            handle.write(original)
            handle.truncate()
        subprocess.run(["docker", "restart", cid], check=False, capture_output=True, timeout=120)
        inv(base, "start")
    if result["status"] == "pass":
        pytest.fail("coturn took prosody's credentials although its secret differs")
    assert "shared secret differs" in result["cause"], result


def test_smoke_turn_fails_with_cause_when_coturn_is_stopped(stack):
    base, ca = stack
    assert inv(base, "stop", "coturn").returncode == 0
    try:
        proc = inv(base, "smoke", "--json", "--only", "turn", "--cafile", str(ca))
        result = json.loads(proc.stdout)[0]
    finally:
        assert inv(base, "start").returncode == 0
    assert proc.returncode == 1
    assert result["status"] == "fail", result
    assert "coturn is down" in result["cause"], result
    assert "inv logs jitsi-coturn" in result["fix"]


def test_smoke_auth_fails_with_cause_for_a_removed_agent(stack):
    """The probe's account gone (or never made): the login is refused, and said so."""
    import dataclasses

    from jitsi_stack.smoke import run_checks
    from jitsi_stack.smoke.target import from_deployment
    from tests.support.project import deployment

    base, ca = stack
    target = from_deployment(deployment(base), None, cafile=str(ca))
    target = dataclasses.replace(target, agent=("removed-agent", "Not-a-password-1"))
    (result,) = run_checks(target, only=["auth"])
    assert result.status == "fail"
    assert "failed: not-authorized" in result.detail
    assert "removed-agent" in result.cause and "does not exist" in result.cause
    assert "Not-a-password-1" not in result.detail + result.cause + result.fix


def test_auto_addresses_come_from_the_real_coturn_as_stun_server(stack, tmp_path):
    """coturn answers the STUN binding request with the address it saw our packet from:
    behind Docker's NAT that is the gateway of one of its networks."""
    other = tmp_path / "other"
    other.mkdir()
    write_settings(other, "jvb: {advertise_ips: [auto], stun_server: '127.0.0.1:19678'}\n")
    proc = inv(other, "addresses", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["advertise_ips"]
    stun_rows = [r for r in rows if r["source"].startswith("public: STUN server 127.0.0.1:19678")]
    assert len(stun_rows) == 1, rows
    gateways = set()
    for network in (f"{PROJECT}-network", f"{PROJECT}-jitsi-internal"):
        out = subprocess.run(
            [
                "docker",
                "network",
                "inspect",
                network,
                "--format",
                "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        gateways |= set(out.split())
    assert stun_rows[0]["address"] in gateways, (rows, gateways)


# -- JWT ------------------------------------------------------------------------------------

JWT_PROJECT = "jsccj"
JWT_PORT = 19743
JWT_SETTINGS = stand_in_settings(JWT_PROJECT, JWT_PORT, 19710, 19781, 19788) + (
    "auth: {enabled: true, type: jwt, guests: false,"
    " jwt: {app_id: callcenter, moderator_from_token: true}}\n"
)


@pytest.fixture(scope="module")
def jwt_stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("jwt") / "project"
    with started_stack(folder, JWT_PROJECT, JWT_SETTINGS) as (base, _):
        yield base


def token_login(token: str | None) -> str:
    url = f"http://localhost:{JWT_PORT}/http-bind"
    if token is not None:
        url += f"?token={token}"
    client = BoshClient(url, "meet.jitsi", Deadline(15))
    try:
        client.connect()
        client.login_anonymous()
        return client.bind()
    finally:
        client.terminate()


def test_a_minted_token_opens_the_door_and_nothing_else_does(jwt_stack):
    minted = inv(jwt_stack, "token", "--room", "Ticket 4711", "--name", "Alice", "--json")
    assert minted.returncode == 0, minted.stderr
    answer = json.loads(minted.stdout)
    assert answer["url"].startswith(f"http://localhost:{JWT_PORT}/Ticket%204711?jwt=")
    jid = token_login(answer["token"])  # prosody accepted the token: a session on meet.jitsi
    assert jid.split("/", 1)[0].endswith("@meet.jitsi"), jid
    with pytest.raises(SaslError):
        token_login(None)  # no token: no meeting
    forged = answer["token"][:-4] + ("AAAA" if not answer["token"].endswith("AAAA") else "BBBB")
    with pytest.raises(SaslError):
        token_login(forged)
    checked = inv(jwt_stack, "token", "--check", forged)
    assert checked.returncode == 1
    assert "signature" in checked.stderr


def test_smoke_logs_in_with_a_token_it_mints(jwt_stack):
    proc = inv(jwt_stack, "smoke", "--json", "--only", "auth")
    result = json.loads(proc.stdout)[0]
    assert result["status"] == "pass", result
    assert "token login" in result["detail"]
