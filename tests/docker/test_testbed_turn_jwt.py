"""The test-bed stand-ins for TURN and token auth, end to end on a real engine: the
coturn image (Debian's real coturn behind the official image's entrypoint) and
the prosody stand-in rendering upstream's external_services and token auth.

One compose project (written here, not by jitsi-stack): coturn, an echo peer
(coturn's turnutils_peer), prosody with TURN variables, prosody with
AUTH_TYPE=jwt and the jicofo stand-in in front of it. Host ports 19511-19514.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.clients.bosh import (
    BoshClient,
    SaslFailure,
    StanzaFailure,
    websocket_sasl_anonymous,
)
from tests.support.clients.tokens import make_token
from tests.support.clients.turn import rest_password

pytestmark = pytest.mark.docker

PROJECT = "jstbturnjwt"
TURN_BOSH = "http://127.0.0.1:19511/http-bind"
JWT_BOSH = "http://127.0.0.1:19512/http-bind"
JWT_WEBSOCKET = "ws://127.0.0.1:19512/xmpp-websocket"
TURN_PORT = 19513  # coturn listens on it inside the container too: prosody advertises it
TURNS_PORT = 19514
PEER_PORT = 3480
DOMAIN = "meet.jitsi"
MUC = "muc.meet.jitsi"
APP = "jitsi-stack"
TURN_SECRET = secrets.token_hex(16)
JWT_SECRET = secrets.token_hex(16)
TTL = 3600

TURNSERVER_CONF = f"""\
listening-port={TURN_PORT}
tls-listening-port={TURNS_PORT}
min-port=49160
max-port=49200
max-allocate-lifetime=60
use-auth-secret
realm={DOMAIN}
fingerprint
no-cli
cert=/etc/coturn/tls/cert.pem
pkey=/etc/coturn/tls/key.pem
no-multicast-peers
simple-log
"""

PROSODY = {
    "image": "jitsi-stack-testbed/prosody:good",
    "read_only": True,
    "tmpfs": ["/run:size=16M,mode=1750,exec,uid=1000,gid=1000", "/tmp:size=16M,mode=1777,noexec"],
    # prosody's data is no VOLUME of the image (as upstream's): with a read-only root it
    # needs a mount, as jitsi-meet/storage/prosody is in the rendered compose file
    "volumes": ["/var/lib/prosody"],
    "healthcheck": {
        "test": ["CMD", "/usr/local/bin/healthcheck.sh"],
        "interval": "1s",
        "retries": 60,
    },
}
PASSWORDS = {"JICOFO_AUTH_PASSWORD": "focus-pw", "JVB_AUTH_PASSWORD": "jvb-pw"}

COMPOSE = {
    "name": PROJECT,
    "services": {
        "coturn": {
            "image": "jitsi-stack-testbed/coturn:good",
            "init": True,
            # $$ reaches the container as $: the entrypoint evals each argument
            "command": [
                "--log-file=stdout",
                "--static-auth-secret=$${TURN_CREDENTIALS}",
                "--relay-ip=$$(hostname -i)",
            ],
            "environment": {"TURN_CREDENTIALS": TURN_SECRET},
            "volumes": [
                "./turnserver.conf:/etc/coturn/turnserver.conf:ro",
                "./tls:/etc/coturn/tls:ro",
            ],
            "ports": [
                f"127.0.0.1:{TURN_PORT}:{TURN_PORT}/udp",
                f"127.0.0.1:{TURN_PORT}:{TURN_PORT}/tcp",
                f"127.0.0.1:{TURNS_PORT}:{TURNS_PORT}/tcp",
            ],
            # the official image has no healthcheck: this is the command compose can use
            "healthcheck": {
                "test": [
                    "CMD",
                    "timeout",
                    "3",
                    "turnutils_stunclient",
                    "-p",
                    str(TURN_PORT),
                    "127.0.0.1",
                ],
                "interval": "1s",
                "retries": 30,
            },
        },
        "peer": {
            "image": "jitsi-stack-testbed/coturn:good",
            "init": True,
            "entrypoint": ["turnutils_peer", "-p", str(PEER_PORT), "-L", "0.0.0.0"],  # noqa: S104
        },
        "prosody-turn": {
            **PROSODY,
            "environment": {
                **PASSWORDS,
                "STUN_HOST": "127.0.0.1",
                "STUN_PORT": str(TURN_PORT),
                "TURN_HOST": "127.0.0.1",
                "TURN_PORT": str(TURN_PORT),
                "TURN_TRANSPORT": "udp,tcp",
                "TURNS_HOST": "localhost",
                "TURNS_PORT": str(TURNS_PORT),
                "TURN_CREDENTIALS": TURN_SECRET,
                "TURN_USERNAME": "agent",
                "TURN_TTL": str(TTL),
            },
            "ports": ["127.0.0.1:19511:5280"],
        },
        "prosody-jwt": {
            **PROSODY,
            "environment": {
                **PASSWORDS,
                "ENABLE_AUTH": "1",
                "ENABLE_GUESTS": "1",
                "AUTH_TYPE": "jwt",
                "JWT_APP_ID": APP,
                "JWT_APP_SECRET": JWT_SECRET,
                "JWT_ACCEPTED_ISSUERS": APP,
                "JWT_ACCEPTED_AUDIENCES": APP,
                "XMPP_MUC_MODULES": "token_affiliation",
            },
            "networks": {"default": {"aliases": ["xmpp.meet.jitsi"]}},
            "ports": ["127.0.0.1:19512:5280"],
        },
        "jicofo": {
            "image": "jitsi-stack-testbed/jicofo:good",
            "read_only": True,
            "tmpfs": ["/run:size=16M,mode=1750,exec,uid=1000,gid=1000"],
            # as jitsi-stack renders moderator_from_token: jicofo grants no role, so the
            # roles read below are token_affiliation's (environment.token_roles)
            "environment": {
                **PASSWORDS,
                "ENABLE_AUTH": "1",
                "AUTH_TYPE": "jwt",
                "JICOFO_ENABLE_AUTH": "0",
                "ENABLE_AUTO_OWNER": "0",
            },
            "depends_on": {"prosody-jwt": {"condition": "service_healthy"}},
        },
    },
}


def compose(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "-f", str(workdir / "compose.json"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and proc.returncode != 0:
        logs = subprocess.run(
            ["docker", "compose", "-p", PROJECT, "-f", str(workdir / "compose.json"), "logs"],
            capture_output=True,
            text=True,
            check=False,
        )
        raise AssertionError(f"compose {args} failed:\n{proc.stderr}\n{logs.stdout[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def bed(tmp_path_factory, testbed_images):
    work = tmp_path_factory.mktemp("turnjwt")
    work.chmod(0o755)
    tls = work / "tls"
    tls.mkdir(mode=0o755)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(tls / "key.pem"),
            "-out",
            str(tls / "cert.pem"),
        ],
        capture_output=True,
        check=True,
    )
    for name in ("key.pem", "cert.pem"):  # coturn runs as nobody (a test-only key)
        (tls / name).chmod(0o644)
    (work / "turnserver.conf").write_text(TURNSERVER_CONF)
    (work / "compose.json").write_text(json.dumps(COMPOSE, indent=2))
    compose(work, "down", "-v", "--remove-orphans", check=False)
    try:
        compose(work, "up", "-d", "--wait", "--wait-timeout", "120")
        peer_id = compose(work, "ps", "-q", "peer").stdout.strip()
        peer_ip = subprocess.run(
            [
                "docker",
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                peer_id,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield {"work": work, "cafile": str(tls / "cert.pem"), "peer": (peer_ip, PEER_PORT)}
    finally:
        compose(work, "down", "-v", "--remove-orphans", check=False)


def login(url: str, domain: str = DOMAIN, token: str | None = None) -> BoshClient:
    client = BoshClient(url, domain, token=token)
    client.login()
    return client


def jicofo_ready(timeout: float = 60) -> None:
    """Wait until focus is online behind focus.meet.jitsi (client_proxy)."""
    deadline = time.monotonic() + timeout
    while True:
        client = login(JWT_BOSH, token=make_token(JWT_SECRET, iss=APP, aud=APP))
        try:
            client.conference(f"readiness-{secrets.token_hex(4)}@{MUC}")
            return
        except StanzaFailure:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
        finally:
            client.close()


# --- (a) extdisco: prosody's external_services ------------------------------------------


@pytest.fixture(scope="module")
def services(bed):
    client = login(TURN_BOSH)
    try:
        before = int(time.time())
        found = client.external_services()
        return before, found
    finally:
        client.close()


def test_anonymous_client_gets_stun_turn_and_turns_with_rest_credentials(services):
    before, found = services
    shapes = [(s["type"], s["host"], s["port"], s.get("transport")) for s in found]
    assert shapes == [
        ("stun", "127.0.0.1", str(TURN_PORT), "udp"),
        ("turn", "127.0.0.1", str(TURN_PORT), "udp"),
        ("turn", "127.0.0.1", str(TURN_PORT), "tcp"),
        ("turns", "localhost", str(TURNS_PORT), "tcp"),
    ]
    stun, *turns = found
    assert "username" not in stun and "password" not in stun and "restricted" not in stun
    for service in turns:
        expiry, user = service["username"].split(":")
        assert user == "agent"  # TURN_USERNAME: "EXPIRY:user"
        assert before + TTL - 5 <= int(expiry) <= int(time.time()) + TTL + 5
        assert service["password"] == rest_password(TURN_SECRET, service["username"])
        assert service["restricted"] == "1"
        expires = datetime.strptime(service["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs(expires.timestamp() - int(expiry)) <= 5


def test_without_turn_host_prosody_serves_no_external_services(bed):
    # prosody-jwt has no TURN variables: upstream loads external_services only with
    # TURN_HOST or TURNS_HOST, so the guest's request finds nobody to answer it
    client = login(JWT_BOSH, domain="guest.meet.jitsi")
    try:
        with pytest.raises(StanzaFailure) as refused:
            client.external_services()
        assert refused.value.condition == "service-unavailable"
    finally:
        client.close()


def test_coturn_image_interface(bed):
    work = bed["work"]
    ids = compose(work, "exec", "-T", "coturn", "id", "-u", "-n").stdout.split()
    assert ids == ["nobody"]
    # init: true makes docker-init PID 1; turnserver's argv holds the expanded values
    argv = compose(
        work, "exec", "-T", "coturn", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"
    ).stdout
    assert f"--static-auth-secret={TURN_SECRET}" in argv
    assert "--relay-ip=172." in argv or "--relay-ip=10." in argv or "--relay-ip=192." in argv, argv
    files = compose(work, "exec", "-T", "coturn", "ls", "/etc/turnserver.conf", check=False)
    assert files.returncode != 0  # only /etc/coturn/turnserver.conf, as in the official image


# --- (b) relays through coturn with those credentials -----------------------------------


@pytest.mark.parametrize("kind", ["turn/udp", "turn/tcp", "turns/tcp"])
def test_relay_with_prosody_credentials(bed, services, kind):
    pytest.importorskip("aioice", reason="aioice is needed for the TURN relay tests")
    from tests.support.clients.turn import relay_echo

    kind_type, transport = kind.split("/")
    service = next(s for s in services[1] if (s["type"], s["transport"]) == (kind_type, transport))
    payload = f"hello over {kind} {secrets.token_hex(4)}".encode()
    relayed, data, sender = relay_echo(
        (service["host"], int(service["port"])),
        service["username"],
        service["password"],
        transport=transport,
        cafile=bed["cafile"] if kind_type == "turns" else None,
        peer=bed["peer"],
        payload=payload,
    )
    assert data == payload
    assert sender == bed["peer"]
    assert relayed[0] != "127.0.0.1" and 49160 <= relayed[1] <= 49200


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_relay_refused_with_a_wrong_password_or_an_expired_username(bed, services, transport):
    pytest.importorskip("aioice", reason="aioice is needed for the TURN relay tests")
    from aioice.stun import TransactionFailed

    from tests.support.clients.turn import relay_echo

    service = next(s for s in services[1] if (s["type"], s["transport"]) == ("turn", transport))
    server = (service["host"], int(service["port"]))
    with pytest.raises(TransactionFailed) as wrong:
        relay_echo(
            server, service["username"], "not-the-password", transport=transport, peer=bed["peer"]
        )
    assert wrong.value.response.attributes["ERROR-CODE"][0] == 401
    expired = f"{int(time.time()) - 60}:agent"
    with pytest.raises(TransactionFailed) as late:
        relay_echo(
            server,
            expired,
            rest_password(TURN_SECRET, expired),
            transport=transport,
            peer=bed["peer"],
        )
    assert late.value.response.attributes["ERROR-CODE"][0] == 401


# --- (c) token authentication -----------------------------------------------------------


def test_a_token_signed_with_the_secret_logs_in_over_bosh(bed):
    client = login(JWT_BOSH, token=make_token(JWT_SECRET, iss=APP, aud=APP))
    try:
        assert client.jid.split("/")[0].endswith(f"@{DOMAIN}")
    finally:
        client.close()


def _now() -> int:
    return int(time.time())


REFUSED = {
    "no token": (None, "token required"),
    "expired": (dict(exp=-5), "Not acceptable by exp"),
    "not yet valid": (dict(nbf=+60), "Not acceptable by nbf"),
    "exp not a number": (dict(exp="soon"), "exp must be number"),
    "wrong audience": (dict(aud="someone-else"), "Invalid audience"),
    "wrong issuer": (dict(iss="someone-else"), "iss"),
    "no audience": (dict(aud=None), "'aud' claim is missing"),
    "no room": (dict(room=None), "'room' claim is missing"),
    "no subject (current token/util)": (dict(sub=None), "'sub' claim is missing"),
    "no room and wrong audience: audience first": (
        dict(room=None, aud="someone-else"),
        "Invalid audience",
    ),
    "bad signature": ("other-secret", "Invalid signature"),
    "typ missing": ("no-typ", "Invalid typ"),
    "alg HS512 when HS256 is configured": ("HS512", "Invalid or incorrect alg"),
    "alg none": ("none", "Invalid or incorrect alg"),
}


def _bad_token(case: str) -> str | None:
    spec, _ = REFUSED[case]
    if spec is None:
        return None
    if isinstance(spec, dict):
        claims = {"iss": APP, "aud": APP}
        for key, value in spec.items():
            claims[key] = (
                _now() + value if key in ("exp", "nbf") and isinstance(value, int) else value
            )
        return make_token(JWT_SECRET, **claims)
    if spec == "other-secret":
        return make_token("not-" + JWT_SECRET, iss=APP, aud=APP)
    if spec == "no-typ":
        return make_token(JWT_SECRET, typ=None, iss=APP, aud=APP)
    if spec == "none":
        return make_token(JWT_SECRET, alg="none", sign_alg="HS256", iss=APP, aud=APP)
    return make_token(JWT_SECRET, alg=spec, iss=APP, aud=APP)


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_tokens_are_refused_at_login(bed, case):
    client = BoshClient(JWT_BOSH, DOMAIN, token=_bad_token(case))
    try:
        client.connect()
        assert client.mechanisms() == ["ANONYMOUS"]
        with pytest.raises(SaslFailure) as refused:
            client.login_anonymous()
        assert refused.value.condition == "not-allowed"
        assert REFUSED[case][1] in refused.value.text
    finally:
        client.close()


def test_the_token_works_over_websocket_too(bed):
    good = make_token(JWT_SECRET, iss=APP, aud=APP)
    assert websocket_sasl_anonymous(JWT_WEBSOCKET, DOMAIN, good) == ("success", "", "")
    expired = make_token(JWT_SECRET, iss=APP, aud=APP, exp=_now() - 1)
    outcome, condition, text = websocket_sasl_anonymous(JWT_WEBSOCKET, DOMAIN, expired)
    assert (outcome, condition) == ("failure", "not-allowed")
    assert text.startswith("Not acceptable by exp")
    assert websocket_sasl_anonymous(JWT_WEBSOCKET, DOMAIN) == (
        "failure",
        "not-allowed",
        "token required",
    )


@pytest.fixture(scope="module")
def focus(bed):
    jicofo_ready()


def _enter(room: str, token: str, nick: str) -> tuple[BoshClient, dict[str, str]]:
    client = login(JWT_BOSH, token=token)
    conference = client.conference(f"{room}@{MUC}")
    assert conference.get("ready") == "true"
    presence = client.join(f"{room}@{MUC}", nick)
    return client, BoshClient.item(presence)


def test_room_claim_must_name_the_room(focus):
    room = f"allowed-{secrets.token_hex(3)}"
    # the claim is compared lowercased, as upstream does
    token = make_token(JWT_SECRET, iss=APP, aud=APP, room=room.upper())
    client, _ = _enter(room, token, "alice")
    try:
        other = f"other-{secrets.token_hex(3)}"
        assert client.conference(f"{other}@{MUC}").get("ready") == "true"
        with pytest.raises(StanzaFailure) as refused:
            client.join(f"{other}@{MUC}", "alice")
        assert refused.value.condition == "not-allowed"
        assert refused.value.text == "Room and token mismatched"
    finally:
        client.close()


def test_token_affiliation_and_guests(focus):
    room = f"aff-{secrets.token_hex(3)}"
    moderator = make_token(
        JWT_SECRET, iss=APP, aud=APP, context={"user": {"name": "M", "moderator": True}}
    )
    member = make_token(
        JWT_SECRET,
        iss=APP,
        aud=APP,
        room=room,
        context={"user": {"name": "P", "affiliation": "member"}},
    )
    clients = []
    try:
        mod_client, mod_item = _enter(room, moderator, "mod")
        clients.append(mod_client)
        assert (mod_item["affiliation"], mod_item["role"]) == ("owner", "moderator")
        mem_client, mem_item = _enter(room, member, "member")
        clients.append(mem_client)
        assert (mem_item["affiliation"], mem_item["role"]) == ("member", "participant")
        # ENABLE_GUESTS: the guest domain stays anonymous, no token, and may join a
        # running room; token_affiliation leaves it alone
        guest = login(JWT_BOSH, domain="guest.meet.jitsi")
        clients.append(guest)
        assert guest.jid.split("/")[0].endswith("@guest.meet.jitsi")
        assert guest.conference(f"{room}@{MUC}").get("ready") == "true"
        guest_item = BoshClient.item(guest.join(f"{room}@{MUC}", "guest"))
        assert (guest_item["affiliation"], guest_item["role"]) == ("none", "participant")
    finally:
        for client in clients:
            client.close()
