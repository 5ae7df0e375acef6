"""Exceptions and timeouts turned into outcomes: what was seen, the cause, the fix."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests

from jitsi_stack.errors import DockerError, DockerNotInstalled, DockerTimeout
from jitsi_stack.smoke import SmokeTarget
from jitsi_stack.smoke.explain import (
    TIMEOUT_FIX,
    CheckFailed,
    Outcome,
    explain,
    merge,
    one_line,
    tls_outcome,
)
from jitsi_stack.smoke.runner import CHECK_NAMES
from jitsi_stack.smoke.xmpp import ProbeTimeout

TARGET = SmokeTarget(
    public_url="https://meet.example.com",
    jicofo_url="http://127.0.0.1:8888",
    jvb_url="http://127.0.0.1:8080",
    timeout=2.5,
)


def _cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    err.verify_code = code
    err.verify_message = message
    return err


def test_every_check_has_a_timeout_fix() -> None:
    assert set(TIMEOUT_FIX) == set(CHECK_NAMES)


def test_a_prepared_outcome_passes_through() -> None:
    prepared = Outcome("warn", "seen", "cause", "fix")
    assert explain("web", CheckFailed(prepared), TARGET) is prepared


@pytest.mark.parametrize(
    "exc",
    [
        requests.ReadTimeout("read timed out"),
        TimeoutError(),
        TimeoutError("timed out"),
        DockerTimeout("docker compose exec did not answer"),
    ],
)
def test_timeouts(exc: BaseException) -> None:
    outcome = explain("prosody-health", exc, TARGET)
    assert outcome == Outcome(
        "fail", "no answer within 2.5s", "timed out after 2.5s", TIMEOUT_FIX["prosody-health"]
    )


def test_a_probe_timeout_names_its_stage() -> None:
    exc = ProbeTimeout("timed out", stage="binding a resource")
    outcome = explain("bosh", exc, TARGET)
    assert outcome.detail == "no answer within 2.5s (binding a resource)"
    assert outcome.fix == TIMEOUT_FIX["bosh"]


def test_docker_not_installed() -> None:
    try:
        raise DockerNotInstalled("Docker is not installed") from FileNotFoundError("docker")
    except DockerNotInstalled as exc:
        outcome = explain("jvb-udp", exc, TARGET)
    assert outcome.status == "fail"
    assert outcome.detail == "docker not found on PATH"
    assert "Docker (Compose v2) is not installed" in outcome.cause


def test_another_docker_error_is_unexpected() -> None:
    outcome = explain("jvb-udp", DockerError("docker compose port failed: boom"), TARGET)
    assert outcome.cause == "unexpected error while probing"
    assert outcome.detail == "DockerError: docker compose port failed: boom"


def test_refused_on_the_web_path_blames_the_web_container() -> None:
    exc = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    for name in ("web", "config-js", "bosh", "websocket", "tls-cert"):
        outcome = explain(name, exc, TARGET)
        assert outcome.detail == "connection refused by meet.example.com:443"
        assert "is the web container running?" in outcome.cause


@pytest.mark.parametrize(
    ("name", "hostport", "needle"),
    [
        ("focus", "127.0.0.1:8888", "jicofo container is down"),
        ("jicofo-health", "127.0.0.1:8888", "JICOFO_ENABLE_REST=1"),
        ("jvb-health", "127.0.0.1:8080", "jvb container is down"),
    ],
)
def test_refused_by_a_service(name: str, hostport: str, needle: str) -> None:
    outcome = explain(name, ConnectionRefusedError(111, "Connection refused"), TARGET)
    assert outcome.detail == f"connection refused by {hostport}"
    assert needle in outcome.cause


def test_dns_failure() -> None:
    exc = requests.ConnectionError(socket.gaierror(-2, "Name or service not known"))
    outcome = explain("web", exc, TARGET)
    assert outcome.detail == "cannot resolve meet.example.com"
    assert outcome.fix == "fix the DNS record or public_url"


def test_plain_http_behind_an_https_url() -> None:
    exc = requests.ConnectionError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version"))
    outcome = explain("web", exc, TARGET)
    assert outcome.detail.startswith("TLS handshake with meet.example.com:443 failed")
    assert "use http:// in public_url" in outcome.fix


def test_untrusted_certificate_inside_a_request() -> None:
    exc = requests.exceptions.SSLError(_cert_error(10, "certificate has expired"))
    outcome = explain("web", exc, TARGET)
    assert outcome.status == "fail"
    assert outcome.cause == "the certificate has expired"


def test_dropped_connection() -> None:
    exc = requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    outcome = explain("focus", exc, TARGET)
    assert outcome.detail.startswith("connection to 127.0.0.1:8888 dropped")


def test_anything_else_is_unexpected() -> None:
    outcome = explain("web", ValueError("odd\nanswer"), TARGET)
    assert outcome == Outcome(
        "fail",
        "ValueError: odd answer",
        "unexpected error while probing",
        "re-run with a longer timeout; report the detail if it persists",
    )


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (18, "self-signed certificate: browsers will refuse or warn"),
        (19, "self-signed certificate: browsers will refuse or warn"),
        (10, "the certificate has expired"),
        (62, "the certificate is not valid for meet.example.com"),
        (20, "the chain does not reach a trusted CA"),
        (99, "TLS verification failed: odd"),
    ],
)
def test_tls_outcomes(code: int, cause: str) -> None:
    err = _cert_error(code, "odd" if code == 99 else "reason")
    strict = tls_outcome(err, "meet.example.com", verify=True)
    lax = tls_outcome(err, "meet.example.com", verify=False)
    assert strict.status == "fail"
    assert strict.cause.startswith(cause)
    assert lax.status == "warn"
    assert lax.detail.endswith("verify_tls is off")
    assert lax.cause == strict.cause


def test_one_line_and_merge() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 200, 10) == "x" * 9 + "…"
    assert merge([("c1", "f"), ("c2", "f"), ("c3", "g")]) == ("c1; c2; c3", "f; g")
