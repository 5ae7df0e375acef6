"""Bad call-center settings (tokens, TURN, STUN, the site's own certificate), through the
same harness as test_bad_input: one error line naming the setting and the fix, exit 2,
no secret in the output, nothing changed on disk."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest

from tests.support.project import FIXED_SECRETS, run_cli, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input import SECRET, Case, _copy, _write

GOLDEN_CERTS = Path(__file__).resolve().parents[2] / "golden" / "certs"
HTTPS = "public_url: https://meet.example.com\nhttps: {enabled: true, certificate: {cert: site.crt, key: site.key}}\njvb: {advertise_ips: [203.0.113.10]}\n"
TURN = "public_url: https://meet.example.com\nturn:\n  enabled: true\n  tls: false\n"


@cache
def _pem(hosts: tuple[str, ...], days: int, *, start_days: int = -1) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (EC P-256), made here so dates stay relative."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "x")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start_days))
        .not_valid_after(now + dt.timedelta(days=days))
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _certs(
    hosts=("meet.example.com",), days=90, start_days=-1, other_key=False, cert=None, key=None
):
    def setup(root: Path) -> None:
        made_cert, made_key = _pem(tuple(hosts), days, start_days=start_days)
        if other_key:
            made_key = _pem(("other.example.com",), 90)[1]
        (root / "site.crt").write_bytes(cert if cert is not None else made_cert)
        (root / "site.key").write_bytes(key if key is not None else made_key)

    return setup


def _golden_certs(root: Path) -> None:
    (root / "site.crt").write_bytes((GOLDEN_CERTS / "meet.example.com.crt").read_bytes())
    (root / "site.key").write_bytes((GOLDEN_CERTS / "meet.example.com.key").read_bytes())


JWT = "auth: {{enabled: true, type: jwt, guests: false, jwt: {{app_id: cc{}}}}}\n"

CASES = [
    # -- tokens --
    Case("jwt-short-secret", JWT.format(", app_secret: short-secret"), argv=("lint",)),
    Case("jwt-ttl-zero", JWT.format(", token_ttl: 0")),
    Case("jwt-ttl-text", JWT.format(", token_ttl: an hour")),
    Case("jwt-moderator-text", JWT.format(", moderator_from_token: yes please")),
    Case("jwt-audiences-text", JWT.format(", accepted_audiences: cc")),
    Case("jwt-issuer-newline", JWT.format(', accepted_issuers: ["a\\nb"]')),
    Case(
        "jwt-auto-owner",
        JWT.format(", moderator_from_token: true") + "env: {ENABLE_AUTO_OWNER: '1'}\n",
    ),
    # -- TURN --
    Case("turn-server", TURN + "  server: cloud\n"),
    Case("turn-transport", TURN + "  transports: [udp, sctp]\n"),
    Case("turn-transport-empty", TURN + "  transports: []\n"),
    Case("turn-transport-twice", TURN + "  transports: [udp, udp]\n"),
    Case("turn-host-bad", TURN + "  host: 'turn example com'\n"),
    Case("turn-host-url", TURN + "  host: 'turn://turn.example.com'\n"),
    Case("turn-external-no-host", TURN + "  server: external\n  secret: " + SECRET + "\n"),
    Case("turn-external-no-secret", TURN + "  server: external\n  host: turn.example.com\n"),
    Case("turn-relay-swapped", TURN + "  relay_min: 50000\n  relay_max: 49000\n"),
    Case("turn-relay-huge", TURN + "  relay_min: 40000\n  relay_max: 60000\n"),
    Case("turn-port-zero", TURN + "  port: 0\n"),
    Case("turn-port-high", TURN + "  port: 70000\n"),
    Case(
        "turn-tls-no-cert",
        "public_url: https://meet.example.com\nturn: {enabled: true, tls: true}\n",
    ),
    Case("turn-tls-auto", "turn: {enabled: true, tls: auto}\n"),
    Case("turn-tls-env-true", "turn: {enabled: true}\n", env={"JITSI_STACK_TURN__TLS": "true"}),
    # what coturn's config-file parser would change (rules_media.coturn_value_problem)
    Case("turn-secret-leading-space", TURN + "  secret: ' " + SECRET + "'\n"),
    Case("turn-secret-trailing-space", TURN + "  secret: '" + SECRET + " '\n"),
    Case("turn-secret-leading-equals", TURN + "  secret: '=" + SECRET + "'\n"),
    Case("turn-secret-semicolon", TURN + "  secret: '" + SECRET + ";'\n"),
    Case("turn-secret-tab", TURN + '  secret: "' + SECRET + '\\tx"\n'),
    Case("turn-secret-too-long", TURN + "  secret: '" + SECRET + "x" * 1000 + "'\n"),
    Case("turn-secret-backslash", TURN + "  secret: 'a\\" + SECRET + "'\n"),
    Case("turn-port-taken-by-web", TURN + "  port: 8443\n"),
    Case("turn-ttl-text", TURN + "  ttl: a day\n"),
    Case(
        "turn-secret-quote",
        TURN + "  server: external\n  host: t.example.com\n  secret: 'a\"" + SECRET + "'\n",
    ),
    Case("turn-unknown-key", TURN + "  realm: example.com\n"),
    Case("turn-env-override", TURN, env={"JITSI_STACK_TURN__TRANSPORTS": "[udp, quic]"}),
    # -- STUN and advertised addresses --
    Case("stun-no-port", "jvb: {stun_server: stun.example.com}\n"),
    Case("stun-url", "jvb: {stun_server: 'stun:stun.example.com:3478'}\n"),
    Case("stun-port-range", "jvb: {stun_server: 'stun.example.com:99999'}\n"),
    Case("advertise-auto-typo", "jvb: {advertise_ips: [autom]}\n"),
    # -- the site's own certificate --
    Case(
        "cert-half",
        "public_url: https://meet.example.com\nhttps: {enabled: true, certificate: {cert: site.crt}}\n",
    ),
    Case("cert-missing-file", HTTPS),
    Case(
        "cert-directory",
        HTTPS,
        setup=lambda r: ((r / "site.crt").mkdir(), (r / "site.key").write_text("x")),
    ),
    Case(
        "cert-http",
        "public_url: http://meet.example.com\nhttps: {enabled: false, certificate: {cert: site.crt, key: site.key}}\n",
        setup=_golden_certs,
    ),
    Case(
        "cert-and-letsencrypt",
        "ports: {http: 80, https: 443}\n"
        + HTTPS.replace(
            "certificate:",
            "letsencrypt: {enabled: true, domain: meet.example.com, email: ops@example.com}, certificate:",
        ),
        setup=_golden_certs,
    ),
    Case("cert-expired", HTTPS, setup=_certs(days=-3, start_days=-30), argv=("lint",)),
    Case("cert-not-yet", HTTPS, setup=_certs(start_days=10, days=100), argv=("lint",)),
    Case("cert-wrong-host", HTTPS, setup=_certs(hosts=("other.example.com",)), argv=("lint",)),
    Case("cert-no-san", HTTPS, setup=_certs(hosts=()), argv=("lint",)),
    Case("cert-other-key", HTTPS, setup=_certs(other_key=True), argv=("lint",)),
    Case("cert-not-pem", HTTPS, setup=_certs(cert=b"\x30\x82\x01\x00binary-der"), argv=("lint",)),
    Case("cert-key-not-pem", HTTPS, setup=_certs(key=b"not a key"), argv=("lint",)),
    Case(
        "cert-key-swapped",
        HTTPS,
        setup=lambda r: (_certs()(r), (r / "site.key").write_bytes((r / "site.crt").read_bytes())),
        argv=("lint",),
    ),
    Case(
        "cert-turn-host",
        HTTPS + "turn: {enabled: true, host: turn.other.org, tls: true}\n",
        setup=_golden_certs,
        argv=("lint",),
    ),
    Case("cert-link-outside", HTTPS, setup=_write("unused", "x")),
]

CERT_KEY = "https.certificate.cert"

EXPECTED = {
    "jwt-short-secret": "error: auth.jwt.app_secret: shorter than 32 characters: use a long random secret (or leave it empty: jitsi-stack generates one)",
    "jwt-ttl-zero": "error: auth.jwt.token_ttl: 0 must be greater than 0",
    "jwt-ttl-text": "error: auth.jwt.token_ttl: 'an hour' is not a whole number: write a number like 3600",
    "jwt-moderator-text": "error: auth.jwt.moderator_from_token: 'yes please' is not true or false: write true or false",
    "jwt-audiences-text": "error: auth.jwt.accepted_audiences: must be a list of text values, e.g. [a, b]",
    "jwt-issuer-newline": "error: auth.jwt.accepted_issuers: an entry contains a control character: remove it",
    "jwt-auto-owner": "error: env.ENABLE_AUTO_OWNER: set by auth.jwt.moderator_from_token (moderators come from the token): remove it, or set moderator_from_token: false",
    "turn-server": "error: turn.server: unknown value 'cloud': use one of bundled, external",
    "turn-transport": "error: turn.transports: use udp, tcp or both, e.g. [udp, tcp]",
    "turn-transport-empty": "error: turn.transports: use udp, tcp or both, e.g. [udp, tcp]",
    "turn-transport-twice": "error: turn.transports: a transport is listed twice: list each once",
    "turn-host-bad": "error: turn.host: 'turn example com' is not a domain or IP address",
    "turn-host-url": "error: turn.host: 'turn://turn.example.com' is not a domain or IP address",
    "turn-external-no-host": "error: turn.host: required for an external TURN server: set its name",
    "turn-external-no-secret": "error: turn.secret: required for an external TURN server: set its shared secret (coturn's static-auth-secret)",
    "turn-relay-swapped": "error: turn.relay_min: 50000 is above turn.relay_max (49000): swap them",
    "turn-relay-huge": "error: turn.relay_min: 20001 relay ports is more than the 500 a published range should hold (Docker runs a proxy per port): narrow turn.relay_min/relay_max",
    "turn-port-zero": "error: turn.port: port 0 is out of range: use a port between 1 and 65535",
    "turn-port-high": "error: turn.port: port 70000 is out of range: use a port between 1 and 65535",
    "turn-tls-no-cert": "error: turn.tls: true needs the site's own certificate, which the bundled TURN server serves: set https.certificate, or remove turn.tls (it then follows the certificate)",
    "turn-tls-auto": "error: turn.tls: 'auto' is not true or false: write true or false, or remove it (true when https.certificate is set or turn.server is external, else false)",
    "turn-tls-env-true": "error: turn.tls: true needs the site's own certificate, which the bundled TURN server serves: set https.certificate, or remove turn.tls (it then follows the certificate)",
    "turn-secret-leading-space": "error: turn.secret: starts with a space, which coturn's config file drops: choose another secret (or leave it empty)",
    "turn-secret-trailing-space": "error: turn.secret: ends with a space, which coturn's config file drops: choose another secret (or leave it empty)",
    "turn-secret-leading-equals": "error: turn.secret: starts with =, which coturn's config file drops: choose another secret (or leave it empty)",
    "turn-secret-semicolon": "error: turn.secret: ends with ';', which makes coturn log the line (and the secret): choose another secret (or leave it empty)",
    "turn-secret-tab": "error: turn.secret: contains a control character, which coturn's config file cannot hold: choose another secret (or leave it empty)",
    "turn-secret-too-long": "error: turn.secret: is 1023 bytes, more than the 1004 a coturn config line can hold: choose another secret (or leave it empty)",
    "turn-secret-backslash": "error: turn.secret: contains \\, which prosody's config (a Lua string) cannot hold: choose a value without \\",
    "turn-port-taken-by-web": "error: turn.port: port 8443/tcp is also used by ports.http: choose another port",
    "turn-ttl-text": "error: turn.ttl: 'a day' is not a whole number: write a number like 86400",
    "turn-secret-quote": 'error: turn.secret: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    "turn-unknown-key": "error: jitsi-stack.yml: unknown setting turn.realm (did you mean turn.relay_min?): fix or remove it",
    "turn-env-override": "error: turn.transports: use udp, tcp or both, e.g. [udp, tcp]",
    "stun-no-port": "error: jvb.stun_server: 'stun.example.com' is not host:port: write e.g. stun.example.com:3478",
    "stun-url": "error: jvb.stun_server: 'stun:stun.example.com:3478' is not host:port: write e.g. stun.example.com:3478",
    "stun-port-range": "error: jvb.stun_server: 'stun.example.com:99999' is not host:port: write e.g. stun.example.com:3478",
    "advertise-auto-typo": "error: jvb.advertise_ips: 'autom' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "cert-half": "error: https.certificate.key: required with the other half of https.certificate: set both",
    "cert-missing-file": "error: https.certificate.cert: site.crt does not exist: fix the path",
    "cert-directory": "error: https.certificate.cert: site.crt is a directory: give the PEM file",
    "cert-http": "error: https.certificate: needs https.enabled: true",
    "cert-and-letsencrypt": "error: https.certificate: and https.letsencrypt.enabled are both set: use one of them",
    "cert-expired": "error: https.certificate.cert: the certificate expired on {expired}: renew it",
    "cert-not-yet": "error: https.certificate.cert: the certificate is not valid before {future}: check the clock or the certificate",
    "cert-wrong-host": "error: https.certificate.cert: the certificate does not cover meet.example.com (it names other.example.com): use a certificate for that name",
    "cert-no-san": "error: https.certificate.cert: the certificate does not cover meet.example.com (it names no subjectAltName): use a certificate for that name",
    "cert-other-key": "error: https.certificate.key: this key does not belong to the certificate in https.certificate.cert: give the matching key",
    "cert-not-pem": "error: https.certificate.cert: site.crt holds no PEM certificate: give the PEM file (-----BEGIN CERTIFICATE-----)",
    "cert-key-not-pem": "error: https.certificate.key: site.key is not an unencrypted PEM private key: give the key without a passphrase",
    "cert-key-swapped": "error: https.certificate.key: site.key is not an unencrypted PEM private key: give the key without a passphrase",
    "cert-turn-host": "error: https.certificate.cert: the certificate does not cover turn.other.org (it names meet.example.com, turn.example.com): use a certificate for that name",
    "cert-link-outside": "error: https.certificate.cert: site.crt does not exist: fix the path",
}


def _expected(case_id: str, root: Path) -> str:
    today = dt.datetime.now(dt.UTC)
    return EXPECTED[case_id].format(
        root=root,
        expired=f"{today - dt.timedelta(days=3):%Y-%m-%d}",
        future=f"{today + dt.timedelta(days=10):%Y-%m-%d}",
    )


def test_every_case_has_its_line():
    assert {c.id for c in CASES} == set(EXPECTED)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_callcenter_input_is_one_line_and_changes_nothing(case, good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, case.settings)
    if case.setup is not None:
        case.setup(root)
    before = tree_snapshot(root)
    proc = run_cli(root, *case.argv, env=case.env)
    errors = [line for line in proc.lines if line.startswith("error: ")]
    assert proc.returncode == case.code, proc.stderr
    assert errors == [_expected(case.id, root)], proc.lines
    if case.argv == ("render",):
        assert len(proc.lines) == 1, proc.lines
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    for secret in (SECRET, *FIXED_SECRETS.values()):
        assert secret not in text
    assert tree_snapshot(root) == before


def test_a_certificate_close_to_expiry_is_a_warning_not_an_error(good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, HTTPS)
    _certs(days=5)(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 0, proc.stderr
    assert any(
        "the certificate expires in 4 days" in line or "expires in 5 days" in line
        for line in proc.lines
    ), proc.lines
