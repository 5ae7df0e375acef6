"""The site's own certificate, checked before anything starts.

A PEM file with the leaf first and its chain after it, and a PEM private key: both must
parse, the key must belong to the leaf, the leaf's names must cover the hosts browsers and
TURN clients dial, the leaf must be valid now, and each certificate must be issued by the
next one. Problems come back as one-line messages naming the setting and the fix.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

WARN_DAYS = 14


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_after: _dt.datetime
    names: tuple[str, ...]  # DNS names and IP addresses of the leaf

    def days_left(self, now: _dt.datetime | None = None) -> int:
        now = now or _dt.datetime.now(_dt.UTC)
        return (self.not_after - now).days


def _load_chain(data: bytes):
    from cryptography import x509

    return x509.load_pem_x509_certificates(data)


def info(cert_path: Path) -> CertInfo:
    """What the leaf of a PEM file says (ValueError when it is not a certificate)."""
    chain = _load_chain(Path(cert_path).read_bytes())
    return _info(chain[0])


def served(host: str, port: int, server_name: str, timeout: float = 3.0) -> CertInfo:
    """The certificate a TLS server presents for server_name (not verified: this reads
    what browsers will be shown, valid or not). OSError/ssl.SSLError when there is none."""
    import socket
    import ssl

    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name or None) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise OSError("the server sent no certificate")
    return _info(x509.load_der_x509_certificate(der))


def _info(leaf) -> CertInfo:
    from cryptography import x509

    names: list[str] = []
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    return CertInfo(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_after=leaf.not_valid_after_utc,
        names=tuple(names),
    )


def covers(names: tuple[str, ...], host: str) -> bool:
    """Whether a certificate with these SAN entries is valid for host (RFC 6125: one
    left-most wildcard label; IP addresses match exactly)."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
        return any(_ip(n) == ip for n in names)
    except ValueError:
        pass
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        first, _, rest = host.partition(".")
        if name.startswith("*.") and rest == name[2:] and first:
            return True
    return False


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def check(
    cert_path: Path,
    key_path: Path,
    hosts: list[str],
    *,
    cert_key: str = "https.certificate.cert",
    key_key: str = "https.certificate.key",
    now: _dt.datetime | None = None,
) -> tuple[list[str], list[str], CertInfo | None]:
    """(errors, warnings, info) for a certificate and key that must serve `hosts`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    now = now or _dt.datetime.now(_dt.UTC)
    errors: list[str] = []
    warnings: list[str] = []
    try:
        cert_bytes = Path(cert_path).read_bytes()
    except OSError as exc:
        return [f"{cert_key}: cannot read {cert_path}: {exc.strerror}: fix the path"], [], None
    try:
        key_bytes = Path(key_path).read_bytes()
    except OSError as exc:
        return [f"{key_key}: cannot read {key_path}: {exc.strerror}: fix the path"], [], None
    try:
        chain = _load_chain(cert_bytes)
    except ValueError:
        return (
            [
                f"{cert_key}: {cert_path} holds no PEM certificate: give the PEM file "
                "(-----BEGIN CERTIFICATE-----)"
            ],
            [],
            None,
        )
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError):
        return (
            [
                f"{key_key}: {key_path} is not an unencrypted PEM private key: give the "
                "key without a passphrase"
            ],
            [],
            None,
        )
    leaf = chain[0]
    leaf_info = _info(leaf)
    pub = leaf.public_key()
    # the keys' SubjectPublicKeyInfo: every key type has one (Ed25519 has no numbers)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != pub.public_bytes(*spki):
        errors.append(
            f"{key_key}: this key does not belong to the certificate in {cert_key}: give the "
            "matching key"
        )
    for host in hosts:
        if host and not covers(leaf_info.names, host):
            shown = ", ".join(leaf_info.names) or "no subjectAltName"
            errors.append(
                f"{cert_key}: the certificate does not cover {host} (it names {shown}): use a "
                "certificate for that name"
            )
    if now < leaf.not_valid_before_utc:
        errors.append(
            f"{cert_key}: the certificate is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d}: check the clock or the certificate"
        )
    days = leaf_info.days_left(now)
    if leaf_info.not_after <= now:
        errors.append(
            f"{cert_key}: the certificate expired on {leaf_info.not_after:%Y-%m-%d}: renew it"
        )
    elif days < WARN_DAYS:
        warnings.append(
            f"{cert_key}: the certificate expires in {days} days "
            f"({leaf_info.not_after:%Y-%m-%d}): renew it"
        )
    for child, parent in zip(chain, chain[1:], strict=False):
        if child.issuer != parent.subject:
            errors.append(
                f"{cert_key}: the chain is out of order (a certificate is not followed "
                "by its issuer): put the leaf first, then each issuer"
            )
            break
        try:
            parent_key = parent.public_key()
            if isinstance(parent_key, rsa.RSAPublicKey):
                parent_key.verify(
                    child.signature,
                    child.tbs_certificate_bytes,
                    padding.PKCS1v15(),
                    child.signature_hash_algorithm,
                )
            elif isinstance(parent_key, ec.EllipticCurvePublicKey):
                parent_key.verify(
                    child.signature,
                    child.tbs_certificate_bytes,
                    ec.ECDSA(child.signature_hash_algorithm),
                )
        except Exception:  # noqa: BLE001 - any verification failure is the same finding
            errors.append(
                f"{cert_key}: a certificate in the chain is not signed by the next "
                "one: rebuild the chain file"
            )
            break
    return errors, warnings, leaf_info
