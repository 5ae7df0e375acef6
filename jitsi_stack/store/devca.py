"""The development CA: https in development with nothing to buy.

Made once under .jitsi-stack/dev-ca/ (beside the secrets, every file 0600,
written atomically and never through a link by store/files.py), it signs a server
certificate for localhost, 127.0.0.1, ::1 and the configured host, which render installs
where the web image reads an operator's keys (/config/keys/cert.crt and cert.key:
docker-jitsi-meet 738058b4 web/rootfs/etc/s6-overlay/scripts/config lines 86-90).

The server certificate is renewed before it lapses (RENEW_DAYS) or when the hosts it must
name change; the CA itself is never replaced silently: browsers trust it by its key, so a
damaged or lapsed CA is refused in one line that says how to start again (and that the
browsers must then trust the new one: `inv dev-ca.trust`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StackError
from . import files, paths

DIR = f"{paths.STATE_DIR}/dev-ca"
CA_CERT = f"{DIR}/ca.crt"
CA_KEY = f"{DIR}/ca.key"
SERVER_CERT = f"{DIR}/server.crt"
SERVER_KEY = f"{DIR}/server.key"
FILES = (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)

CA_DAYS = 3650
SERVER_DAYS = 365
RENEW_DAYS = 30  # a server certificate with fewer days left is made again
CA_NAME = "jitsi-stack development CA"
FIX = f"remove {DIR} and run `inv render` to make a new CA, then `inv dev-ca.trust` again"


@dataclass(frozen=True)
class Bundle:
    """The development CA and the server certificate it signed, PEM."""

    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    not_after: _dt.datetime  # the server certificate's
    ca_not_after: _dt.datetime
    spki_sha256: str  # base64 of the CA's SubjectPublicKeyInfo hash (Chromium's SPKI list)
    fingerprint: str  # sha256 of the CA certificate, hex
    # files to write (relative path, bytes, mode); empty when everything was reused
    writes: tuple[tuple[str, bytes, int], ...] = field(default=(), repr=False)

    def days_left(self, now: _dt.datetime | None = None) -> int:
        now = now or _dt.datetime.now(_dt.UTC)
        return (self.not_after - now).days


def hosts_for(host: str) -> tuple[str, ...]:
    """The names the server certificate carries: localhost, the loopbacks, the host."""
    names = ["localhost", "127.0.0.1", "::1"]
    if host and host.lower() not in names:
        names.append(host.lower())
    return tuple(names)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _damaged(rel: str, why: str) -> StackError:
    return StackError(f"{rel}: {why}: {FIX}")


def _read(root: Path, rel: str) -> bytes | None:
    try:
        return files.read_bytes(root, rel)
    except StackError:
        raise
    except OSError as exc:
        raise files.os_error(rel, exc, "read") from exc


def _load_ca(root: Path, now: _dt.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = _read(root, CA_CERT), _read(root, CA_KEY)
    if cert_pem is None and key_pem is None:
        return None
    if cert_pem is None or key_pem is None:
        missing = CA_CERT if cert_pem is None else CA_KEY
        raise _damaged(missing, "is missing (the other half of the CA is there)")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise _damaged(CA_CERT, "is not a PEM certificate (damaged)") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise _damaged(CA_KEY, "is not a PEM private key (damaged)") from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise _damaged(CA_KEY, f"does not belong to {CA_CERT} (damaged)")
    if cert.not_valid_after_utc <= now + _dt.timedelta(days=RENEW_DAYS):
        raise _damaged(CA_CERT, f"lapses on {cert.not_valid_after_utc:%Y-%m-%d}")
    return cert, key, cert_pem


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(now: _dt.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key, cert.public_bytes(serialization.Encoding.PEM)


def _san(hosts: tuple[str, ...]):
    from cryptography import x509

    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _server_ok(root: Path, ca, hosts: tuple[str, ...], now: _dt.datetime):
    """The stored server certificate and key when they can be served as they are."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtensionOID

    cert_pem, key_pem = _read(root, SERVER_CERT), _read(root, SERVER_KEY)
    if cert_pem is None or key_pem is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return None  # the server half is ours to make again; the CA is what browsers trust
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        return None
    try:
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return None
    if san.value != _san(hosts) or cert.not_valid_after_utc <= now + _dt.timedelta(days=RENEW_DAYS):
        return None
    return cert, cert_pem, key_pem


def _make_server(ca_cert, ca_key, hosts: tuple[str, ...], now: _dt.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=SERVER_DAYS))
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def prepare(root: Path, hosts: tuple[str, ...], now: _dt.datetime | None = None) -> Bundle:
    """The CA and a server certificate for hosts, reusing what is stored and still good;
    what must be (re)made is in Bundle.writes and written by `save` (nothing is written
    here, so `--dry` writes nothing). A damaged CA is refused."""
    import base64

    from cryptography.hazmat.primitives import serialization

    root = Path(root)
    now = now or _now()
    writes: list[tuple[str, bytes, int]] = []
    loaded = _load_ca(root, now)
    if loaded is None:
        ca_cert, ca_key, ca_pem = _make_ca(now)
        writes += [(CA_KEY, _pem_key(ca_key), 0o600), (CA_CERT, ca_pem, 0o600)]
        server = None
    else:
        ca_cert, ca_key, ca_pem = loaded
        server = _server_ok(root, ca_cert, hosts, now)
    if server is None:
        cert, cert_pem, key_pem = _make_server(ca_cert, ca_key, hosts, now)
        writes += [(SERVER_KEY, key_pem, 0o600), (SERVER_CERT, cert_pem, 0o600)]
    else:
        cert, cert_pem, key_pem = server
    spki = ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Bundle(
        ca_cert=ca_pem,
        server_cert=cert_pem,
        server_key=key_pem,
        not_after=cert.not_valid_after_utc,
        ca_not_after=ca_cert.not_valid_after_utc,
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"),
        fingerprint=hashlib.sha256(ca_cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        writes=tuple(writes),
    )


def save(root: Path, bundle: Bundle) -> list[str]:
    """Write what prepare made (keys first, so a certificate never names a missing key)."""
    for rel, data, mode in bundle.writes:
        files.write_atomic(Path(root), rel, data, mode=mode)
    return [rel for rel, _data, _mode in bundle.writes]


def peek(root: Path, now: _dt.datetime | None = None) -> Bundle | None:
    """What is stored, read only (status, trust): None when no CA was made yet."""
    from cryptography import x509

    root = Path(root)
    now = now or _now()
    loaded = _load_ca(root, now)
    if loaded is None:
        return None
    ca_cert, _key_unused, ca_pem = loaded
    cert_pem = _read(root, SERVER_CERT)
    not_after = ca_cert.not_valid_after_utc
    if cert_pem is not None:
        with contextlib.suppress(ValueError):
            not_after = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc
    import base64

    from cryptography.hazmat.primitives import serialization

    spki = ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Bundle(
        ca_cert=ca_pem,
        server_cert=cert_pem or b"",
        server_key=b"",
        not_after=not_after,
        ca_not_after=ca_cert.not_valid_after_utc,
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"),
        fingerprint=hashlib.sha256(ca_cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
    )


# Where Debian (update-ca-certificates), Fedora and Alpine keep the system's bundle.
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)
SYSTEM_ANCHOR = "/usr/local/share/ca-certificates/jitsi-stack-dev-ca.crt"  # Debian's place


def _body(pem: bytes) -> bytes:
    return b"".join(
        line.strip() for line in pem.splitlines() if line.strip() and not line.startswith(b"-----")
    )


def trusted(bundle: Bundle, bundles: tuple[str, ...] = SYSTEM_BUNDLES) -> bool:
    """Whether the system's CA bundle holds this CA (what `inv dev-ca.trust` installs)."""
    want = _body(bundle.ca_cert)
    for name in bundles:
        try:
            with open(name, "rb") as fh:
                data = fh.read(16 << 20)
        except OSError:
            continue
        if want in data.replace(b"\r", b"").replace(b"\n", b""):
            return True
    return False
