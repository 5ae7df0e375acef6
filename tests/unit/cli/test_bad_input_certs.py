"""Bad certificates and keys for https.certificate, as a careless operator or a hostile
file system gives them: every file the `cryptography` library can read (and many it
cannot) gets one line naming the setting, exit 2, not one change under the root (bytes,
mode, owner of every file), and no key material in any output. No traceback, no hang
(FIFOs, devices and /dev/zero behind a link are refused before a byte is read).

Certificates are made here with `cryptography`, so dates stay relative to today.
"""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from jitsi_stack.settings.certs import MAX_BYTES
from tests.support.project import FIXED_SECRETS, run_cli, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input import _copy

HOST = "meet.example.com"
HTTPS = (
    f"public_url: https://{HOST}\n"
    "https: {{enabled: true, certificate: {{cert: {cert}, key: {key}}}}}\n"
    "jvb: {{advertise_ips: [203.0.113.10]}}\n"
)
TURN_TLS = "turn: {enabled: true, host: turn.other.org, tls: true}\n"


# -- making keys and certificates ---------------------------------------------------------


@cache
def _key(kind: str):
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519

    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:] or 2048))
    makers = {
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ec384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "k1": lambda: ec.generate_private_key(ec.SECP256K1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ed448": ed448.Ed448PrivateKey.generate,
        "dsa": lambda: _no_warning(lambda: dsa.generate_private_key(2048)),
        "x25519": x25519.X25519PrivateKey.generate,
    }
    return makers[kind]()


def _no_warning(make, *args):
    """cryptography warns that DSA is deprecated: made here on purpose, to be refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(*args)


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    key="ec",
    *,
    cn: str = HOST,
    hosts: tuple[str, ...] = (HOST,),
    ips: tuple[str, ...] = (),
    start: float = -1,
    days: float = 90,
    issuer: tuple[str, str] | None = None,  # (issuer's key kind, issuer's CN)
    ca: bool = False,
    subject_key=None,
):
    """A certificate (the object): self-signed unless issuer names the signing key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC)
    public = (subject_key or _key(key)).public_key()
    signer_kind, signer_cn = issuer or (key, cn)
    signer = _key(signer_kind)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(signer_cn))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    names = [x509.DNSName(h) for h in hosts] + [
        x509.IPAddress(ipaddress.ip_address(i)) for i in ips
    ]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    algorithm = None if signer_kind in ("ed25519", "ed448") else hashes.SHA256()
    return builder.sign(signer, algorithm)


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _der(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.DER)


def _key_pem(kind="ec", fmt="pkcs8", password: bytes | None = None, encoding="PEM") -> bytes:
    from cryptography.hazmat.primitives import serialization

    formats = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
        "raw": serialization.PrivateFormat.Raw,
        "openssh": serialization.PrivateFormat.OpenSSH,
    }
    crypt = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return _key(kind).private_bytes(getattr(serialization.Encoding, encoding), formats[fmt], crypt)


def _public_pem(kind="ec") -> bytes:
    from cryptography.hazmat.primitives import serialization

    return (
        _key(kind)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _pkcs7() -> bytes:
    """A PEM PKCS#7 bundle (.p7b), as some CAs mail it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.serialize_certificates([_cert()], serialization.Encoding.PEM)


def _pkcs12() -> bytes:
    """A PKCS#12 file (.pfx, binary) with the key and the certificate."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    return pkcs12.serialize_key_and_certificates(
        b"site", _key("ec"), _cert(), None, serialization.NoEncryption()
    )


@cache
def _chain() -> tuple[bytes, bytes, bytes]:
    """(leaf, intermediate, root) PEMs: root CA (rsa) -> intermediate (ec384) -> leaf (ec)."""
    root = _cert("rsa", cn="Test Root", hosts=(), ca=True, days=3650)
    inter = _cert("ec384", cn="Test Intermediate", hosts=(), ca=True, issuer=("rsa", "Test Root"))
    leaf = _cert("ec", issuer=("ec384", "Test Intermediate"))
    return _pem(leaf), _pem(inter), _pem(root)


def _files(cert: bytes | None = None, key: bytes | None = None) -> Callable[[Path], None]:
    """site.crt and site.key (a good EC pair where not given)."""

    def setup(root: Path) -> None:
        (root / "site.crt").write_bytes(_pem(_cert()) if cert is None else cert)
        (root / "site.key").write_bytes(_key_pem() if key is None else key)

    return setup


def _then(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


def _replace(name: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        make(path)

    return setup


def _installed(root: Path) -> None:
    """A good certificate rendered into place first (the stack serves it)."""
    _files()(root)
    proc = run_cli(root, "render")
    assert proc.returncode == 0, proc.stderr


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    line: str
    settings: str = HTTPS.format(cert="site.crt", key="site.key")
    argv: tuple[str, ...] = ("render",)
    code: int = 2


S = HTTPS.format  # settings naming other files
# The good tree serves the development CA's certificate (frontend.dev_https, the default)
DEV_KEPT = " (not installed: the stack keeps the development certificate in " + (
    "jitsi-meet/web/keys/cert.crt)"
)
C = "error: https.certificate.cert: "
K = "error: https.certificate.key: "
KEY_FIX = (
    "browsers accept RSA (2048 bits or more) and EC (P-256, P-384) certificates: use such a key"
)
FULL = "also holds a private key: keep the key in https.certificate.key only (the certificate file is copied readable for every container): remove the key block from this file"
NOT_KEY = "is not an unencrypted PEM private key: give the key without a passphrase"
ENCRYPTED = (
    "is encrypted: give the key without a passphrase (openssl pkey -in FILE -out FILE.plain)"
)
NO_PEM = "holds no PEM certificate: give the PEM file (-----BEGIN CERTIFICATE-----)"
BAD_BLOCK = (
    "holds a PEM block that is not a valid certificate: give the PEM file as your CA issued it"
)
ORDER = "the chain is out of order (a certificate is not followed by its issuer): put the leaf first, then each issuer"
MISMATCH = (
    "this key does not belong to the certificate in https.certificate.cert: give the matching key"
)
EXPIRED = "the certificate expired on {expired}: renew it"
NOT_YET = "the certificate is not valid before {future}: check the clock or the certificate"


def _cover(host: str, names: str) -> str:
    return (
        f"the certificate does not cover {host} (it names {names}): use a certificate for that name"
    )


def _full(*parts: bytes) -> Callable[[Path], None]:
    return _files(cert=b"".join(parts))


CASES = [
    # -- a certificate file that also holds the private key (a "full" PEM) -----------------
    Case("full-leaf-key", _full(_pem(_cert()), _key_pem()), C + "site.crt " + FULL),
    Case("full-key-leaf", _full(_key_pem(), _pem(_cert())), C + "site.crt " + FULL),
    Case(
        "full-leaf-key-chain",
        _full(_chain()[0], _key_pem(), _chain()[1], _chain()[2]),
        C + "site.crt " + FULL,
    ),
    Case(
        "full-traditional-rsa-key",
        _files(cert=_pem(_cert("rsa")) + _key_pem("rsa", "traditional"), key=_key_pem("rsa")),
        C + "site.crt " + FULL,
    ),
    Case(
        "full-traditional-ec-key",
        _full(_pem(_cert()), _key_pem("ec", "traditional")),
        C + "site.crt " + FULL,
    ),
    Case(
        "full-encrypted-key",
        _full(_pem(_cert()), _key_pem(password=b"pass-phrase-1")),
        C + "site.crt " + FULL,
    ),
    Case(
        "full-same-file-both",
        _full(_pem(_cert()), _key_pem()),
        C + "site.crt " + FULL,
        settings=S(cert="site.crt", key="site.crt"),
    ),
    Case("full-other-key", _full(_pem(_cert()), _key_pem("rsa")), C + "site.crt " + FULL),
    # -- key types browsers do not take, in the key file or the certificate ----------------
    Case(
        "key-ed25519",
        _files(_pem(_cert("ed25519")), _key_pem("ed25519")),
        K + f"site.key is an Ed25519 key: {KEY_FIX}",
    ),
    Case(
        "key-ed448",
        _files(_pem(_cert("ed448")), _key_pem("ed448")),
        K + f"site.key is an Ed448 key: {KEY_FIX}",
    ),
    Case(
        "key-dsa",
        _files(_pem(_cert("dsa")), _key_pem("dsa")),
        K + f"site.key is a DSA key: {KEY_FIX}",
    ),
    Case(
        "key-rsa-1024",
        _files(_pem(_cert("rsa1024")), _key_pem("rsa1024")),
        K + f"site.key is an RSA key of 1024 bits: {KEY_FIX}",
    ),
    Case(
        "key-secp256k1",
        _files(_pem(_cert("k1")), _key_pem("k1")),
        K + f"site.key is an EC key on secp256k1: {KEY_FIX}",
    ),
    Case("key-x25519", _files(key=_key_pem("x25519")), K + f"site.key is an X25519 key: {KEY_FIX}"),
    Case(
        "cert-ed25519-key-rsa",
        _files(
            _pem(_cert("ed25519", subject_key=_key("ed25519"), issuer=("rsa", "Test Root"))),
            _key_pem("rsa"),
        ),
        C + f"the certificate holds an Ed25519 key: {KEY_FIX}",
    ),
    Case(
        "cert-dsa-key-ec",
        _files(_pem(_cert("dsa", issuer=("ec", "Some CA")))),
        C + f"the certificate holds a DSA key: {KEY_FIX}",
    ),
    Case(
        "cert-rsa-1024-key-ec",
        _files(_pem(_cert("rsa1024", issuer=("ec", "Some CA")))),
        C + f"the certificate holds an RSA key of 1024 bits: {KEY_FIX}",
    ),
    # -- the key does not match ------------------------------------------------------------
    Case("mismatch-ec-ec384", _files(key=_key_pem("ec384")), K + MISMATCH),
    Case("mismatch-ec-rsa", _files(key=_key_pem("rsa")), K + MISMATCH),
    Case("mismatch-rsa-ec", _files(_pem(_cert("rsa"))), K + MISMATCH),
    Case(
        "mismatch-chain-key-of-intermediate",
        _files(b"".join(_chain()), _key_pem("ec384")),
        K + MISMATCH,
    ),
    # -- encrypted, DER, empty, garbage ----------------------------------------------------
    Case(
        "key-encrypted-pkcs8",
        _files(key=_key_pem(password=b"pass-phrase-1")),
        K + "site.key " + ENCRYPTED,
    ),
    Case(
        "key-encrypted-traditional",
        _files(key=_key_pem("rsa", "traditional", b"pass-phrase-1")),
        K + "site.key " + ENCRYPTED,
    ),
    Case(
        "key-der",
        _files(key=_key_pem(encoding="DER")),
        K
        + "site.key is DER, not PEM: convert it (openssl pkey -inform der -in FILE -out FILE.pem)",
    ),
    Case(
        "cert-der",
        _files(cert=_der(_cert())),
        C
        + "site.crt is DER, not PEM: convert it (openssl x509 -inform der -in FILE -out FILE.pem)",
    ),
    Case("cert-empty", _files(cert=b""), C + "site.crt is empty: give the PEM file"),
    Case("cert-blank", _files(cert=b"\n  \n\t\n"), C + "site.crt is empty: give the PEM file"),
    Case("key-empty", _files(key=b""), K + "site.key is empty: give the PEM file"),
    Case("cert-garbage-bytes", _files(cert=bytes(range(256)) * 4), C + "site.crt " + NO_PEM),
    Case(
        "cert-garbage-text",
        _files(cert=b"hello, this is not a certificate\n"),
        C + "site.crt " + NO_PEM,
    ),
    Case(
        "key-garbage-bytes",
        _files(key=os.urandom(0) + bytes(range(255, -1, -1)) * 3),
        K + "site.key " + NOT_KEY,
    ),
    Case("cert-truncated", _files(cert=_pem(_cert())[:200]), C + "site.crt " + BAD_BLOCK),
    Case(
        "cert-bad-base64",
        _files(
            cert=b"-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n"
        ),
        C + "site.crt " + BAD_BLOCK,
    ),
    Case("cert-is-public-key", _files(cert=_public_pem()), C + "site.crt " + NO_PEM),
    Case(
        "cert-is-csr",
        _files(
            cert=b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
        ),
        C + "site.crt " + NO_PEM,
    ),
    Case("key-is-certificate", _files(key=_pem(_cert())), K + "site.key " + NOT_KEY),
    Case("key-is-public-key", _files(key=_public_pem()), K + "site.key " + NOT_KEY),
    Case("key-truncated", _files(key=_key_pem()[:120]), K + "site.key " + NOT_KEY),
    Case(
        "cert-not-ascii",
        _files(cert="# zertifikat für meet\n".encode() + _pem(_cert())),
        C + "site.crt is not ASCII text, as PEM is: give the PEM file",
    ),
    Case(
        "key-not-ascii",
        _files(key="# schlüssel\n".encode() + _key_pem()),
        K + "site.key is not ASCII text, as PEM is: give the PEM file",
    ),
    Case("cert-pkcs7", _files(cert=_pkcs7()), C + "site.crt " + NO_PEM),
    Case("cert-pkcs12", _files(cert=_pkcs12()), C + "site.crt " + NO_PEM),
    Case(
        "cert-trusted-certificate",
        _files(cert=_pem(_cert()).replace(b"CERTIFICATE", b"TRUSTED CERTIFICATE")),
        C + "site.crt " + NO_PEM,
    ),
    Case("key-openssh", _files(key=_key_pem("ed25519", "openssh")), K + "site.key " + NOT_KEY),
    # -- special files, sizes, links -------------------------------------------------------
    Case(
        "cert-fifo",
        _then(_files(), _replace("site.crt", os.mkfifo)),
        C + "site.crt is not a regular file: give the PEM file",
    ),
    Case(
        "key-fifo",
        _then(_files(), _replace("site.key", os.mkfifo)),
        K + "site.key is not a regular file: give the PEM file",
    ),
    Case(
        "cert-link-to-dev-zero",
        _then(_files(), _replace("site.crt", lambda p: p.symlink_to("/dev/zero"))),
        C + "site.crt is not a regular file: give the PEM file",
    ),
    Case(
        "key-link-to-dev-urandom",
        _then(_files(), _replace("site.key", lambda p: p.symlink_to("/dev/urandom"))),
        K + "site.key is not a regular file: give the PEM file",
    ),
    Case(
        "cert-dev-stdin",
        _files(),
        C + "/dev/stdin is not a regular file: give the PEM file",
        settings=S(cert="/dev/stdin", key="site.key"),
    ),
    Case(
        "cert-proc-environ",
        _files(),
        C + "/proc/self/environ " + NO_PEM,
        settings=S(cert="/proc/self/environ", key="site.key"),
    ),
    Case(
        "cert-directory",
        _then(_files(), _replace("site.crt", os.mkdir)),
        C + "site.crt is a directory: give the PEM file",
    ),
    Case(
        "key-directory",
        _then(_files(), _replace("site.key", os.mkdir)),
        K + "site.key is a directory: give the PEM file",
    ),
    Case(
        "cert-project-root",
        _files(),
        C + ". is a directory: give the PEM file",
        settings=S(cert=".", key="site.key"),
    ),
    Case(
        "cert-huge",
        _files(cert=_pem(_cert()) * (MAX_BYTES // 500)),
        C
        + "site.crt is {cert_size} bytes, more than the 256 KiB a certificate or key file may have: give the PEM file",
    ),
    Case(
        "key-huge",
        _files(key=b"#" * (MAX_BYTES + 1)),
        K
        + f"site.key is {MAX_BYTES + 1} bytes, more than the 256 KiB a certificate or key file may have: give the PEM file",
    ),
    Case(
        "cert-dangling-link",
        _then(_files(), _replace("site.crt", lambda p: p.symlink_to("gone.crt"))),
        C + "site.crt is a link to gone.crt, which does not exist: fix the link",
    ),
    Case(
        "cert-link-loop",
        _then(_files(), _replace("site.crt", lambda p: p.symlink_to("site.crt"))),
        C + "site.crt is a link that loops: replace it with a file",
    ),
    Case(
        "cert-missing",
        _files(),
        C + "certs/none.crt does not exist: fix the path",
        settings=S(cert="certs/none.crt", key="site.key"),
    ),
    Case(
        "key-missing",
        _files(),
        K + "certs/none.key does not exist: fix the path",
        settings=S(cert="site.crt", key="certs/none.key"),
    ),
    Case(
        "cert-parent-is-file",
        _files(),
        C + "cannot read site.key/x.crt (Not a directory): fix the path",
        settings=S(cert="site.key/x.crt", key="site.key"),
    ),
    Case(
        "cert-link-to-expired",
        _then(
            _files(),
            _replace(
                "site.crt",
                lambda p: (
                    p.with_name("old.crt").write_bytes(_pem(_cert(start=-40, days=-2))),
                    p.symlink_to("old.crt"),
                ),
            ),
        ),
        C + EXPIRED.format(expired="{expired2}") + DEV_KEPT,
    ),
    # -- dates: a warning elsewhere, an error for lint, refused when it would be installed --
    Case("expired-render", _files(_pem(_cert(start=-40, days=-3))), C + EXPIRED + DEV_KEPT),
    Case("expired-lint", _files(_pem(_cert(start=-40, days=-3))), C + EXPIRED, argv=("lint",)),
    Case(
        "expired-start-dry",
        _files(_pem(_cert(start=-40, days=-3))),
        C + EXPIRED + DEV_KEPT,
        argv=("--dry", "start"),
    ),
    Case(
        "expired-one-second-ago",
        _files(_pem(_cert(start=-40, days=-1 / 86400))),
        C + EXPIRED.format(expired="{today}") + DEV_KEPT,
    ),
    Case(
        "expired-over-installed",
        _then(_installed, _files(_pem(_cert(start=-40, days=-3)))),
        C + EXPIRED + " (not installed: the stack keeps jitsi-meet/web/keys/cert.crt)",
    ),
    Case(
        "not-yet-valid-render",
        _files(_pem(_cert(start=10, days=100))),
        C + NOT_YET + DEV_KEPT,
    ),
    Case(
        "not-yet-valid-lint", _files(_pem(_cert(start=10, days=100))), C + NOT_YET, argv=("lint",)
    ),
    Case(
        "not-yet-valid-over-installed",
        _then(_installed, _files(_pem(_cert(start=10, days=100)))),
        C + NOT_YET + " (not installed: the stack keeps jitsi-meet/web/keys/cert.crt)",
    ),
    # -- names -----------------------------------------------------------------------------
    Case(
        "host-other",
        _files(_pem(_cert(hosts=("other.example.com",)))),
        C + _cover(HOST, "other.example.com"),
    ),
    Case("host-no-san", _files(_pem(_cert(hosts=()))), C + _cover(HOST, "no subjectAltName")),
    Case(
        "host-cn-only",
        _files(_pem(_cert(cn=HOST, hosts=()))),
        C + _cover(HOST, "no subjectAltName"),
    ),
    Case(
        "host-wildcard-deeper",
        _files(_pem(_cert(hosts=("*.meet.example.com",)))),
        C + _cover(HOST, "*.meet.example.com"),
    ),
    Case("host-wildcard-tld", _files(_pem(_cert(hosts=("*.com",)))), C + _cover(HOST, "*.com")),
    Case(
        "host-ip-only",
        _files(_pem(_cert(hosts=(), ips=("203.0.113.10",)))),
        C + _cover(HOST, "203.0.113.10"),
    ),
    Case(
        "host-parent-domain",
        _files(_pem(_cert(hosts=("example.com",)))),
        C + _cover(HOST, "example.com"),
    ),
    Case(
        "host-turn-not-covered",
        _files(),
        C + _cover("turn.other.org", HOST),
        settings=S(cert="site.crt", key="site.key") + TURN_TLS,
    ),
    # -- the chain ---------------------------------------------------------------------------
    Case("chain-root-first", _files(_chain()[2] + _chain()[1] + _chain()[0]), C + ORDER),
    Case("chain-intermediate-first", _files(_chain()[1] + _chain()[0]), C + ORDER),
    Case(
        "chain-root-before-intermediate", _files(_chain()[0] + _chain()[2] + _chain()[1]), C + ORDER
    ),
    Case(
        "chain-unrelated-issuer",
        _files(_chain()[0] + _pem(_cert("rsa", cn="Other CA", hosts=(), ca=True))),
        C + ORDER,
    ),
    Case(
        "chain-forged-issuer",
        _files(_chain()[0] + _pem(_cert("rsa", cn="Test Intermediate", hosts=(), ca=True))),
        C + "a certificate in the chain is not signed by the next one: rebuild the chain file",
    ),
    Case("chain-leaf-twice", _files(_chain()[0] * 2), C + ORDER),
    # -- the settings name bad paths ---------------------------------------------------------
    Case(
        "path-nul",
        _files(),
        C + "contains a control character (NUL, escape, ...): remove it",
        settings=S(cert='"site\\0.crt"', key="site.key"),
    ),
    Case(
        "path-newline",
        _files(),
        C + "must be a single line: remove the line break",
        settings=S(cert='"site\\n.crt"', key="site.key"),
    ),
]


def _expected(case: Case, root: Path) -> str:
    today = dt.datetime.now(dt.UTC)
    size = (root / "site.crt").stat().st_size if (root / "site.crt").is_file() else 0
    return case.line.format(
        root=root,
        expired=f"{today - dt.timedelta(days=3):%Y-%m-%d}",
        expired2=f"{today - dt.timedelta(days=2):%Y-%m-%d}",
        today=f"{today - dt.timedelta(seconds=5):%Y-%m-%d}",
        future=f"{today + dt.timedelta(days=10):%Y-%m-%d}",
        cert_size=size,
    )


def _key_lines(base: Path) -> set[str]:
    """The base64 lines of every private key under base: none may reach the output."""
    found: set[str] = set()
    for path in base.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes()[: 1 << 20].decode("ascii", "replace")
        for block in re.findall(r"PRIVATE KEY-----(.*?)-----END", text, re.S):
            found |= {line for line in block.split() if len(line) >= 16 and ":" not in line}
    return found


def test_enough_cases():
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_certificate_is_one_line_and_changes_nothing(case, good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, case.settings)
    case.setup(root)
    secrets = _key_lines(root)
    before = tree_snapshot(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc = run_cli(root, *case.argv)
    text = proc.stdout + proc.stderr
    # a warning of the library would print lines of its own next to ours
    assert not [w for w in caught if "cryptography" in str(w.category)], caught
    errors = [line for line in proc.lines if line.startswith("error: ")]
    assert proc.returncode == case.code, text
    assert errors == [_expected(case, root)], proc.lines
    assert "Traceback" not in text
    assert "PRIVATE KEY" not in text
    for secret in (*secrets, *FIXED_SECRETS.values()):
        assert secret not in text
    assert tree_snapshot(root) == before
