"""certs.check on key types without public numbers: an Ed25519 certificate and key are
compared by their SubjectPublicKeyInfo (mypy found public_numbers() called on every key
type; Ed25519 keys have none, so such a pair ended in a traceback)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from jitsi_stack import certs

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ed25519_pair(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meet.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("meet.example.com")]), False)
        .sign(key, None)
    )
    cert_path = tmp_path / "site.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = tmp_path / "site.key"
    key_path.write_bytes(_pem_key(key))
    return cert_path, key_path


def test_an_ed25519_key_is_matched_to_its_certificate(tmp_path):
    cert_path, key_path = _ed25519_pair(tmp_path)
    errors, _warnings, info = certs.check(cert_path, key_path, ["meet.example.com"], now=NOW)
    assert errors == [] and info is not None


def test_another_ed25519_key_is_refused_in_one_line(tmp_path):
    cert_path, key_path = _ed25519_pair(tmp_path)
    key_path.write_bytes(_pem_key(ed25519.Ed25519PrivateKey.generate()))
    errors, _warnings, _info = certs.check(cert_path, key_path, ["meet.example.com"], now=NOW)
    assert errors == [
        "https.certificate.key: this key does not belong to the certificate in "
        "https.certificate.cert: give the matching key"
    ]
