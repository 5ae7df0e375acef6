"""The site's own certificate, checked before anything starts.

A PEM file with the leaf first and its chain after it (and no private key: it is copied
0644 for every container), and a PEM private key: both regular files of at most MAX_BYTES
(a link to one is fine), both must parse, the key must be one browsers take (RSA >= 2048
bits, EC on P-256/P-384/P-521) and belong to the leaf, each certificate must be issued by
the next one, and the leaf's names must cover the hosts browsers and TURN clients dial.
Every file the `cryptography` library reads, or fails to, gets one line naming the setting
and the fix (check() never raises for the files' content).

Validity in time is apart (Verdict.lapsed): expired or not yet valid is an error for
`lint` and a warning for every other task; only installing such a certificate is refused
(apply.refuse_lapsed).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

WARN_DAYS = 14


def _quiet(fn):
    """Run fn without `cryptography`'s deprecation warnings (DSA keys, negative serials):
    the verdict on such a file is our one line, not the library's several."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_after: _dt.datetime
    names: tuple[str, ...]  # DNS names and IP addresses of the leaf

    def days_left(self, now: _dt.datetime | None = None) -> int:
        now = now or _dt.datetime.now(_dt.UTC)
        return (self.not_after - now).days


@_quiet
def info(cert_path: Path) -> CertInfo:
    """What the leaf of a PEM file says (ValueError when it is not a certificate)."""
    try:
        data = read_bounded(Path(cert_path), "certificate")
        return _info(load_certificates(data, Path(cert_path), "certificate")[0])
    except Refused as err:
        raise ValueError(str(err)) from None


@_quiet
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


MAX_BYTES = 256 * 1024  # a leaf, its chain and a key are a few KiB; more is not a PEM file
BROWSER_CURVES = ("secp256r1", "secp384r1", "secp521r1")  # what browsers and nginx accept
MIN_RSA_BITS = 2048  # OpenSSL's default security level 2 refuses less


class Refused(Exception):
    """A certificate or key file that cannot be used: str() is the one-line problem."""


def read_bounded(path: Path, key: str, shown: str = "") -> bytes:
    """A certificate or key file's bytes: a regular file (a link to one is fine, as for the
    settings files), not empty, at most MAX_BYTES; Refused names the setting otherwise.
    shown: the file as the operator named it."""
    import os
    import stat

    shown = shown or str(path)
    try:
        st = os.stat(path)  # follows a link: certbot's live/ folder is links
    except FileNotFoundError:
        if os.path.islink(path):
            raise Refused(
                f"{key}: {shown} is a link to {os.readlink(path)}, which does not exist: "
                "fix the link"
            ) from None
        raise Refused(f"{key}: {shown} does not exist: fix the path") from None
    except ValueError:  # a NUL in the name
        raise Refused(f"{key}: the file name holds a NUL character: fix the path") from None
    except OSError as err:
        if err.errno == 40:  # ELOOP
            raise Refused(f"{key}: {shown} is a link that loops: replace it with a file") from None
        raise Refused(f"{key}: cannot read {shown} ({err.strerror}): fix the path") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise Refused(f"{key}: {shown} is {kind}: give the PEM file")
    if st.st_size > MAX_BYTES:
        raise Refused(
            f"{key}: {shown} is {st.st_size} bytes, more than the {MAX_BYTES // 1024} KiB a "
            "certificate or key file may have: give the PEM file"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise Refused(f"{key}: cannot read {shown} ({err.strerror}): fix the permissions") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the stat
            raise Refused(f"{key}: {shown} is not a regular file: give the PEM file")
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused(f"{key}: {shown} grew past {MAX_BYTES // 1024} KiB while read: try again")
    if not data.strip():
        raise Refused(f"{key}: {shown} is empty: give the PEM file")
    return data


def _ascii(data: bytes, path: Path | str, key: str) -> None:
    if not data.isascii():
        raise Refused(f"{key}: {path} is not ASCII text, as PEM is: give the PEM file")


def _key_kind(key) -> str:
    """'' for a key browsers accept (RSA >= 2048 bits, EC on a browser curve), else what
    it is, e.g. 'an Ed25519 key'."""
    from cryptography.hazmat.primitives.asymmetric import (
        dsa,
        ec,
        ed448,
        ed25519,
        rsa,
        x448,
        x25519,
    )

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        if key.key_size < MIN_RSA_BITS:
            return f"an RSA key of {key.key_size} bits"
        return ""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "" if key.curve.name in BROWSER_CURVES else f"an EC key on {key.curve.name}"
    for kind, classes in (
        ("Ed25519", (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)),
        ("Ed448", (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)),
        ("DSA", (dsa.DSAPrivateKey, dsa.DSAPublicKey)),
        ("X25519", (x25519.X25519PrivateKey, x25519.X25519PublicKey)),
        ("X448", (x448.X448PrivateKey, x448.X448PublicKey)),
    ):
        if isinstance(key, classes):
            return f"an {kind} key" if kind[0] in "EX" else f"a {kind} key"
    return f"a {type(key).__name__.lstrip('_')} key"


KEY_FIX = (
    "browsers accept RSA (2048 bits or more) and EC (P-256, P-384) certificates: use such a key"
)


def _spki(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _parses(loader, data: bytes) -> bool:
    try:
        loader(data)
    except Exception:  # does not parse, whatever the reason
        return False
    return True


def load_certificates(data: bytes, path: Path | str, key: str) -> list:
    """The certificates of a PEM file, leaf first; Refused for anything else, including a
    file that also holds a private key (the certificate is copied where every container
    reads it: the key stays in https.certificate.key only)."""
    from cryptography import x509

    if b"PRIVATE KEY-----" in data:
        raise Refused(
            f"{key}: {path} also holds a private key: keep the key in "
            "https.certificate.key only (the certificate file is copied readable for every "
            "container): remove the key block from this file"
        )
    if b"-----BEGIN CERTIFICATE-----" not in data:
        if _parses(x509.load_der_x509_certificate, data):
            raise Refused(
                f"{key}: {path} is DER, not PEM: convert it (openssl x509 -inform der -in "
                "FILE -out FILE.pem)"
            )
        raise Refused(
            f"{key}: {path} holds no PEM certificate: give the PEM file "
            "(-----BEGIN CERTIFICATE-----)"
        )
    _ascii(data, path, key)
    try:
        chain = x509.load_pem_x509_certificates(data)
        for cert in chain:  # parsed lazily: touch what the checks below read
            cert.subject.rfc4514_string()
            cert.issuer.rfc4514_string()
            cert.public_key()
            _ = cert.extensions, cert.not_valid_after_utc, cert.not_valid_before_utc
    except Exception:  # any parse failure of operator input is one line
        raise Refused(
            f"{key}: {path} holds a PEM block that is not a valid certificate: give the "
            "PEM file as your CA issued it"
        ) from None
    return chain


def load_key(data: bytes, path: Path | str, key: str):
    from cryptography.hazmat.primitives import serialization

    if b"PRIVATE KEY-----" not in data:
        if _parses(lambda raw: serialization.load_der_private_key(raw, password=None), data):
            raise Refused(
                f"{key}: {path} is DER, not PEM: convert it (openssl pkey -inform der -in "
                "FILE -out FILE.pem)"
            )
        raise Refused(
            f"{key}: {path} is not an unencrypted PEM private key: give the key without a "
            "passphrase"
        )
    _ascii(data, path, key)
    if b"ENCRYPTED" in data:
        raise Refused(
            f"{key}: {path} is encrypted: give the key without a passphrase (openssl pkey "
            "-in FILE -out FILE.plain)"
        )
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted in the traditional format (Proc-Type: 4,ENCRYPTED)
        raise Refused(
            f"{key}: {path} is encrypted: give the key without a passphrase (openssl pkey "
            "-in FILE -out FILE.plain)"
        ) from None
    except Exception:  # ValueError, UnsupportedAlgorithm: one finding
        raise Refused(
            f"{key}: {path} is not an unencrypted PEM private key: give the key without a "
            "passphrase"
        ) from None


def lapsed(leaf, now: _dt.datetime | None = None, key: str = "https.certificate.cert") -> str:
    """Why the leaf is not valid at `now` ('' when it is): expired or not yet valid. These
    are the findings of time: they block only installing the certificate (`render`)."""
    now = now or _dt.datetime.now(_dt.UTC)
    if now < leaf.not_valid_before_utc:
        return (
            f"{key}: the certificate is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d}: check the clock or the certificate"
        )
    if leaf.not_valid_after_utc <= now:
        return f"{key}: the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}: renew it"
    return ""


@_quiet
def lapsed_pem(data: bytes | str, now: _dt.datetime | None = None) -> str:
    """lapsed() for the leaf of PEM text; '' when it does not parse (check() said why)."""
    from cryptography import x509

    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    try:
        leaf = x509.load_pem_x509_certificates(data)[0]
    except Exception:
        return ""
    return lapsed(leaf, now)


@dataclass
class Verdict:
    errors: list[str]
    warnings: list[str]
    lapsed: str = ""  # expired or not yet valid: an error for lint, a warning elsewhere
    info: CertInfo | None = None


@_quiet
def check(
    cert_path: Path,
    key_path: Path,
    hosts: list[str],
    *,
    cert_key: str = "https.certificate.cert",
    key_key: str = "https.certificate.key",
    now: _dt.datetime | None = None,
    shown: tuple[str, str] = ("", ""),
) -> Verdict:
    """Every finding about a certificate and key that must serve `hosts`; never raises for
    what is in the files (each problem is one line naming the setting)."""
    now = now or _dt.datetime.now(_dt.UTC)
    cert_shown, key_shown = shown[0] or str(cert_path), shown[1] or str(key_path)
    try:
        cert_data = read_bounded(cert_path, cert_key, cert_shown)
        chain = load_certificates(cert_data, cert_shown, cert_key)
        key = load_key(read_bounded(key_path, key_key, key_shown), key_shown, key_key)
    except Refused as err:
        return Verdict([str(err)], [])
    errors: list[str] = []
    warnings: list[str] = []
    leaf = chain[0]
    kind = _key_kind(key)
    if kind:
        return Verdict([f"{key_key}: {key_shown} is {kind}: {KEY_FIX}"], [])
    kind = _key_kind(leaf.public_key())
    if kind:
        return Verdict([f"{cert_key}: the certificate holds {kind}: {KEY_FIX}"], [])
    for child, parent in zip(chain, chain[1:], strict=False):
        if child.issuer != parent.subject:
            return Verdict(
                [
                    f"{cert_key}: the chain is out of order (a certificate is not followed "
                    "by its issuer): put the leaf first, then each issuer"
                ],
                [],
            )
        try:
            child.verify_directly_issued_by(parent)
        except Exception:  # any verification failure is the same finding
            return Verdict(
                [
                    f"{cert_key}: a certificate in the chain is not signed by the next "
                    "one: rebuild the chain file"
                ],
                [],
            )
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        return Verdict(
            [
                f"{key_key}: this key does not belong to the certificate in {cert_key}: give "
                "the matching key"
            ],
            [],
        )
    try:
        leaf_info = _info(leaf)
    except Exception:  # a malformed extension: one line
        return Verdict(
            [f"{cert_key}: the certificate's subjectAltName does not parse: reissue it"], []
        )
    for host in hosts:
        if host and not covers(leaf_info.names, host):
            names = ", ".join(leaf_info.names) or "no subjectAltName"
            errors.append(
                f"{cert_key}: the certificate does not cover {host} (it names {names}): use a "
                "certificate for that name"
            )
    late = lapsed(leaf, now, cert_key)
    days = leaf_info.days_left(now)
    if not late and days < WARN_DAYS:
        warnings.append(
            f"{cert_key}: the certificate expires in {days} days "
            f"({leaf_info.not_after:%Y-%m-%d}): renew it"
        )
    return Verdict(errors, warnings, late, leaf_info)
