"""The development CA's lifecycle (store/devca.py): made once, reused, renewed before its
server certificate lapses or when the names change, refused when damaged (issue 22)."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from jitsi_stack.errors import StackError
from jitsi_stack.store import devca

HOSTS = devca.hosts_for("localhost")
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def made(root, hosts=HOSTS, now=NOW):
    bundle = devca.prepare(root, hosts, now)
    devca.save(root, bundle)
    return bundle


def test_made_once_with_private_modes_and_the_names_a_browser_checks(tmp_path):
    bundle = made(tmp_path)
    assert [rel for rel, _d, _m in bundle.writes] == [
        devca.CA_KEY,
        devca.CA_CERT,
        devca.SERVER_KEY,
        devca.SERVER_CERT,
    ]
    for rel in devca.FILES:
        assert stat.S_IMODE(os.stat(tmp_path / rel).st_mode) == 0o600, rel
    assert stat.S_IMODE(os.stat(tmp_path / devca.DIR).st_mode) == 0o700
    leaf = x509.load_pem_x509_certificate(bundle.server_cert)
    ca = x509.load_pem_x509_certificate(bundle.ca_cert)
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert bundle.days_left(NOW) == devca.SERVER_DAYS


def test_reused_while_good(tmp_path):
    first = made(tmp_path)
    again = devca.prepare(tmp_path, HOSTS, NOW + dt.timedelta(days=100))
    assert again.writes == ()
    assert again.server_cert == first.server_cert and again.fingerprint == first.fingerprint


def test_renewed_before_it_lapses_with_the_same_ca(tmp_path):
    first = made(tmp_path)
    late = NOW + dt.timedelta(days=devca.SERVER_DAYS - devca.RENEW_DAYS + 1)
    renewed = devca.prepare(tmp_path, HOSTS, late)
    assert [rel for rel, _d, _m in renewed.writes] == [devca.SERVER_KEY, devca.SERVER_CERT]
    assert renewed.fingerprint == first.fingerprint  # browsers keep trusting it
    assert renewed.days_left(late) == devca.SERVER_DAYS


def test_renewed_when_the_host_changes(tmp_path):
    made(tmp_path)
    other = devca.prepare(tmp_path, devca.hosts_for("192.168.1.20"), NOW)
    assert [rel for rel, _d, _m in other.writes] == [devca.SERVER_KEY, devca.SERVER_CERT]
    leaf = x509.load_pem_x509_certificate(other.server_cert)
    san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert "192.168.1.20" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def test_a_damaged_server_half_is_made_again(tmp_path):
    first = made(tmp_path)
    (tmp_path / devca.SERVER_CERT).write_bytes(b"junk\n")
    again = devca.prepare(tmp_path, HOSTS, NOW)
    assert [rel for rel, _d, _m in again.writes] == [devca.SERVER_KEY, devca.SERVER_CERT]
    assert again.fingerprint == first.fingerprint


@pytest.mark.parametrize(
    ("damage", "line"),
    [
        (
            lambda root: (root / devca.CA_CERT).write_bytes(b"junk\n"),
            f"{devca.CA_CERT}: is not a PEM certificate (damaged)",
        ),
        (
            lambda root: (root / devca.CA_KEY).write_bytes(b"junk\n"),
            f"{devca.CA_KEY}: is not a PEM private key (damaged)",
        ),
        (lambda root: (root / devca.CA_KEY).unlink(), f"{devca.CA_KEY}: is missing"),
        (
            lambda root: (root / devca.CA_KEY).write_bytes(
                devca._pem_key(devca._key())  # another key
            ),
            f"{devca.CA_KEY}: does not belong to {devca.CA_CERT} (damaged)",
        ),
        (
            lambda root: (
                (root / devca.CA_CERT).symlink_to("/etc/hostname")
                if not (root / devca.CA_CERT).unlink()
                else None
            ),
            f"{devca.CA_CERT}",
        ),
    ],
    ids=["cert-junk", "key-junk", "key-missing", "key-other", "cert-link"],
)
def test_a_damaged_ca_is_refused_in_one_line_and_nothing_is_written(tmp_path, damage, line):
    made(tmp_path)
    damage(tmp_path)
    before = {p.name: p.read_bytes() for p in (tmp_path / devca.DIR).iterdir() if p.is_file()}
    with pytest.raises(StackError) as err:
        devca.prepare(tmp_path, HOSTS, NOW)
    text = str(err.value)
    assert text.startswith(line) and "\n" not in text
    assert f"remove {devca.DIR}" in text or "link" in text
    after = {p.name: p.read_bytes() for p in (tmp_path / devca.DIR).iterdir() if p.is_file()}
    assert after == before


def test_a_lapsing_ca_is_refused_not_replaced_silently(tmp_path):
    made(tmp_path)
    late = NOW + dt.timedelta(days=devca.CA_DAYS - devca.RENEW_DAYS + 1)
    with pytest.raises(StackError, match="lapses on"):
        devca.prepare(tmp_path, HOSTS, late)


def test_peek_reads_without_writing(tmp_path):
    assert devca.peek(tmp_path, NOW) is None
    assert not (tmp_path / devca.DIR).exists()
    first = made(tmp_path)
    seen = devca.peek(tmp_path, NOW)
    assert seen is not None and seen.not_after == first.not_after
    assert seen.spki_sha256 == first.spki_sha256


def test_the_dev_ca_is_archived_with_the_secrets_and_comes_back_private():
    from jitsi_stack.ops.archive_rules import rule

    for rel in devca.FILES:
        found = rule(rel, "file", {}, frozenset())
        assert found is not None and found.mode == 0o600, rel
    folder = rule(devca.DIR, "dir", {}, frozenset())
    assert folder is not None and folder.mode == 0o700


def test_a_server_certificate_another_ca_signed_is_made_again(tmp_path):
    import datetime as _d

    first = made(tmp_path)
    stranger, stranger_key, _pem = devca._make_ca(NOW)
    _cert, pem, key = devca._make_server(stranger, stranger_key, HOSTS, NOW)
    (tmp_path / devca.SERVER_CERT).write_bytes(pem)
    (tmp_path / devca.SERVER_KEY).write_bytes(key)
    again = devca.prepare(tmp_path, HOSTS, NOW + _d.timedelta(days=1))
    assert [rel for rel, _d2, _m in again.writes] == [devca.SERVER_KEY, devca.SERVER_CERT]
    leaf = x509.load_pem_x509_certificate(again.server_cert)
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(first.ca_cert))
