"""Preflight: Docker availability through a stand-in `docker` on PATH, and real host ports
on IPv4 and IPv6."""
# ruff: noqa: E501 - tables of exact command lines and messages read best one per line

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from jitsi_stack.deployment import Port
from jitsi_stack.docker import Runner
from jitsi_stack.errors import ComposeMissing, DaemonUnreachable, DockerNotInstalled, StackError
from jitsi_stack.ops.preflight import check_docker, check_ports, published_ports

ANY = "0.0.0.0"  # noqa: S104 - the wildcard address Docker publishes on

FAKE = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "info --format") [ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
                   printf '%s' "${FAKE_INFO_OUT-\\"20.10.24\\"}"; printf '%s' "$FAKE_INFO_ERR" >&2
                   exit ${FAKE_INFO_RC:-0};;
  "compose version") printf '%s\\n' "${FAKE_COMPOSE_OUT-2.40.3}"; printf '%s' "$FAKE_COMPOSE_ERR" >&2
                   exit ${FAKE_COMPOSE_RC:-0};;
esac
exit 99
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A PATH holding only a stand-in `docker`; returns a function reading its call log."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text(FAKE)
    exe.chmod(0o755)
    log = tmp_path / "calls"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return lambda: log.read_text().splitlines()


def one_line(err: pytest.ExceptionInfo[StackError]) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_ok_returns_compose_version(fake) -> None:
    assert check_docker(Runner()) == "2.40.3"
    assert fake() == ["info --format {{json .ServerVersion}}", "compose version --short"]


def test_compose_version_with_v_prefix(fake, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_COMPOSE_OUT", "v2.1.1")
    assert check_docker(Runner()) == "2.1.1"


def test_permission_denied(fake, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_INFO_RC", "1")
    monkeypatch.setenv("FAKE_INFO_OUT", '""')
    monkeypatch.setenv(
        "FAKE_INFO_ERR",
        "permission denied while trying to connect to the "
        "Docker daemon socket at unix:///var/run/docker.sock",
    )
    with pytest.raises(DaemonUnreachable) as err:
        check_docker(Runner())
    assert one_line(err) == (
        "cannot talk to the Docker daemon: permission denied on /var/run/docker.sock: "
        "add your user to the 'docker' group (sudo usermod -aG docker $USER, then log in "
        "again) or run as root"
    )
    assert len(fake()) == 1  # compose is not asked once the daemon failed


@pytest.mark.parametrize("docker_host", [None, "tcp://10.0.0.9:2375"])
def test_daemon_unreachable(fake, monkeypatch, docker_host) -> None:
    if docker_host:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    monkeypatch.setenv("FAKE_INFO_RC", "1")
    monkeypatch.setenv("FAKE_INFO_ERR", "Cannot connect to the Docker daemon at ...")
    with pytest.raises(DaemonUnreachable) as err:
        check_docker(Runner())
    where = f" (DOCKER_HOST={docker_host})" if docker_host else ""
    assert one_line(err) == (
        f"the Docker daemon is not running or unreachable{where}: "
        "start it (sudo systemctl start docker) and re-run"
    )


def test_docker_host_password_is_masked(fake, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://ops:hunter2@10.0.0.9:2376")
    monkeypatch.setenv("FAKE_INFO_RC", "1")
    with pytest.raises(StackError) as err:
        check_docker(Runner())
    assert "hunter2" not in one_line(err)
    assert "DOCKER_HOST=tcp://ops:***@10.0.0.9:2376" in str(err.value)


def test_timeout_is_unreachable(fake, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_SLEEP", "3")
    monkeypatch.setattr("jitsi_stack.ops.preflight.TIMEOUT", 0.5)
    with pytest.raises(DaemonUnreachable, match="not running or unreachable"):
        check_docker(Runner())


def test_empty_server_version_is_unreachable(fake, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_INFO_OUT", '""')
    with pytest.raises(DaemonUnreachable, match="not running or unreachable"):
        check_docker(Runner())


COMPOSE_MISSING = (
    "Docker Compose v2 is missing: install the docker-compose-plugin package (or copy the "
    "docker-compose v2 binary to ~/.docker/cli-plugins/) and re-run"
)


@pytest.mark.parametrize(
    ("rc", "out", "err"),
    [("1", "", "docker: 'compose' is not a docker command."), ("0", "1.29.2", ""), ("0", "", "")],
)
def test_compose_v2_missing(fake, monkeypatch, rc, out, err) -> None:
    monkeypatch.setenv("FAKE_COMPOSE_RC", rc)
    monkeypatch.setenv("FAKE_COMPOSE_OUT", out)
    monkeypatch.setenv("FAKE_COMPOSE_ERR", err)
    with pytest.raises(ComposeMissing) as exc:
        check_docker(Runner())
    assert one_line(exc) == COMPOSE_MISSING


def test_not_installed_with_empty_path(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(DockerNotInstalled) as err:
        check_docker(Runner())
    assert one_line(err) == (
        "Docker is not installed: install Docker Engine "
        "(https://docs.docker.com/engine/install/) and re-run"
    )


def test_dry_runner_asks_nothing(fake) -> None:
    runner = Runner(dry=True)
    check_docker(runner)
    assert fake() == []
    assert [a[1] for a in runner.log] == ["info", "compose"]


# -- ports (real sockets) -------------------------------------------------------------


def _occupied(kind: int, *, family=socket.AF_INET, reuse: bool = False) -> socket.socket:
    sock = socket.socket(family, kind)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::" if family == socket.AF_INET6 else ANY, 0))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    return sock


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((ANY, 0))
        return sock.getsockname()[1]


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_tcp_port_in_use() -> None:
    with _occupied(socket.SOCK_STREAM) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports([Port("ports.http", port, 8000)])
    assert one_line(err) == (
        f"host port {port}/tcp is already in use (setting ports.http): stop what listens "
        f"there (sudo ss -ltnup 'sport = :{port}') or choose another port in jitsi-stack.yml"
    )


@pytest.mark.skipif(not _ipv6(), reason="no IPv6 on this host")
def test_an_ipv6_only_listener_is_a_clash_too() -> None:
    """Docker publishes on 0.0.0.0 and [::]: a listener on [::] alone breaks `up` half way."""
    with _occupied(socket.SOCK_STREAM, family=socket.AF_INET6) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports([Port("ports.http", port, 8000)])
    assert one_line(err).startswith(
        f"host port {port} (IPv6)/tcp is already in use (setting ports.http)"
    )


def test_tcp_listener_with_reuseaddr_is_still_a_clash() -> None:
    """Docker's proxy (Go) listens with SO_REUSEADDR set; the clash must still show."""
    with _occupied(socket.SOCK_STREAM, reuse=True) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError, match=f"host port {port}/tcp is already in use"):
            check_ports([Port("ports.https", port, 8443)])


def test_udp_port_in_use() -> None:
    with _occupied(socket.SOCK_DGRAM) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports([Port("ports.jvb_media", port, port, "udp")])
    assert one_line(err).startswith(
        f"host port {port}/udp is already in use (setting ports.jvb_media): "
    )


def test_a_port_range_is_checked_port_by_port() -> None:
    with _occupied(socket.SOCK_DGRAM) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError, match=f"host port {port}/udp .* ports.jigasi_min"):
            check_ports([Port("ports.jigasi_min", port - 2, port - 2, "udp", count=5)])


def test_free_ports_pass() -> None:
    check_ports(
        [
            Port("ports.http", _free_port(socket.SOCK_STREAM), 8000),
            Port("ports.jvb_media", _free_port(socket.SOCK_DGRAM), 10000, "udp"),
        ]
    )


def test_ports_of_our_own_stack_are_skipped() -> None:
    with _occupied(socket.SOCK_STREAM) as tcp, _occupied(socket.SOCK_DGRAM) as udp:
        tport, uport = tcp.getsockname()[1], udp.getsockname()[1]
        check_ports(
            [Port("ports.https", tport, 8443), Port("ports.jvb_media", uport, uport, "udp")],
            ours={("tcp", tport), ("udp", uport)},
        )
        with pytest.raises(StackError, match=f"{tport}/tcp"):
            check_ports([Port("ports.https", tport, 8443)], ours={("udp", tport)})


def test_first_clash_is_reported_others_in_detail() -> None:
    free = _free_port(socket.SOCK_STREAM)
    with _occupied(socket.SOCK_STREAM) as a, _occupied(socket.SOCK_DGRAM) as b:
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports(
                [
                    Port("ports.http", free, 8000),
                    Port("ports.https", pa, 8443),
                    Port("ports.jvb_media", pb, pb, "udp"),
                ]
            )
    assert one_line(err).startswith(f"host port {pa}/tcp is already in use (setting ports.https)")
    assert err.value.detail.startswith(f"host port {pb}/udp is already in use")


def test_specific_host_ip_is_named() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(StackError, match=rf"^host port 127\.0\.0\.1:{port}/tcp is already"):
            check_ports([Port("ports.jicofo_rest", port, 8888, bind="127.0.0.1")])
        with pytest.raises(StackError, match=rf"^host port {port}/tcp is already"):
            check_ports([Port("ports.http", port, 8000)])


def test_published_ports() -> None:
    from jitsi_stack.docker import Container

    rows = [
        Container(
            "jitsi-web",
            "w",
            "1",
            "running",
            "",
            "i",
            "Up",
            (
                (ANY, 8000, 8443, "tcp"),
                ("::", 8000, 8443, "tcp"),
                ("", 8080, 0, "tcp"),
            ),
        ),
        Container("jitsi-jvb", "j", "2", "running", "", "i", "Up", ((ANY, 10000, 10000, "udp"),)),
    ]
    assert published_ports(rows) == {("tcp", 8443), ("udp", 10000)}
    assert published_ports([]) == set()
    assert os.environ.get("PATH")  # the fixtures above restore PATH


@pytest.mark.parametrize(
    ("kind", "setting"),
    [
        (socket.SOCK_DGRAM, "turn.port"),
        (socket.SOCK_STREAM, "turn.port"),
        (socket.SOCK_DGRAM, "turn.relay_min"),
    ],
)
def test_the_bundled_turn_servers_ports_are_checked(tmp_path, kind, setting) -> None:
    """The Deployment's coturn ports (STUN/TURN on UDP and TCP, the relay range) go
    through the same preflight as the web and bridge ports."""
    from tests.support.project import deployment, write_settings

    with _occupied(kind) as held:
        port = held.getsockname()[1]
        turn_port = port if setting == "turn.port" else port + 20
        relay = port - 3 if setting == "turn.relay_min" else port + 30
        write_settings(
            tmp_path,
            f"turn: {{enabled: true, tls: false, port: {turn_port}, relay_min: {relay}, "
            f"relay_max: {relay + 9}}}\n",
        )
        d = deployment(tmp_path, environ={})
        proto = "udp" if kind == socket.SOCK_DGRAM else "tcp"
        with pytest.raises(StackError) as err:
            check_ports(d.ports([d.service("coturn").name]))
    # the held port is named with its setting; a port near it that something else on this
    # machine happens to hold may be listed before it (the rest of the clashes: detail)
    clashes = [one_line(err), *err.value.detail.splitlines()]
    wanted = f"host port {port}/{proto} is already in use (setting {setting})"
    assert any(line.startswith(wanted) for line in clashes), clashes
