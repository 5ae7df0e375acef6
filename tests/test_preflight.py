"""Preflight checks: unit tests with a fake `run`, and real checks on this machine."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from jitsi_stack.errors import StackError
from jitsi_stack.preflight import PortSpec, check_docker, check_ports, published_ports

ANY = "0.0.0.0"  # noqa: S104 - the wildcard address Docker publishes on
REQUIRE_DOCKER = os.environ.get("JITSI_STACK_REQUIRE_DOCKER") == "1"


def _docker_or_skip() -> None:
    if shutil.which("docker") is None and not REQUIRE_DOCKER:
        pytest.skip("docker CLI not installed")


# --------------------------------------------------------------------------- fakes


class FakeRun:
    """Stands in for subprocess.run: answers by argv[1:], records every call."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs))
        key = " ".join(argv[1:])
        answer = self.answers[key]
        if isinstance(answer, BaseException):
            raise answer
        rc, out, err = answer
        return subprocess.CompletedProcess(argv, rc, out, err)


INFO = "info --format {{json .ServerVersion}}"
COMPOSE = "compose version --short"
OK = {INFO: (0, '"20.10.24"\n', ""), COMPOSE: (0, "2.40.3\n", "")}


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only an executable named docker; DOCKER_HOST unset."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text("#!/bin/sh\nexit 99\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return exe


def one_line(err: pytest.ExceptionInfo[StackError]) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


# --------------------------------------------------------------------------- check_docker (unit)


def test_ok_returns_compose_version_and_uses_timeouts(fake_docker: Path) -> None:
    run = FakeRun(OK)
    assert check_docker(run=run) == "2.40.3"
    assert [" ".join(argv[1:]) for argv, _ in run.calls] == [INFO, COMPOSE]
    for argv, kwargs in run.calls:
        assert argv[0] == str(fake_docker)
        assert kwargs["timeout"] == 10
        assert kwargs["capture_output"] is True


def test_compose_version_with_v_prefix(fake_docker: Path) -> None:
    assert check_docker(run=FakeRun({**OK, COMPOSE: (0, "v2.1.1\n", "")})) == "2.1.1"


def test_permission_denied(fake_docker: Path) -> None:
    err_text = (
        "permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock: ... connect: permission denied"
    )
    run = FakeRun({**OK, INFO: (1, '""\n', err_text)})
    with pytest.raises(StackError) as err:
        check_docker(run=run)
    assert one_line(err) == (
        "cannot talk to the Docker daemon: permission denied on /var/run/docker.sock: "
        "add your user to the 'docker' group (sudo usermod -aG docker $USER, then log in "
        "again) or run as root"
    )
    assert err.value.detail == err_text
    assert len(run.calls) == 1  # compose is not checked once the daemon failed


@pytest.mark.parametrize("docker_host", [None, "tcp://10.0.0.9:2375"])
def test_daemon_unreachable(
    fake_docker: Path, monkeypatch: pytest.MonkeyPatch, docker_host: str | None
) -> None:
    if docker_host:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    run = FakeRun({**OK, INFO: (1, '""\n', "Cannot connect to the Docker daemon at ...")})
    with pytest.raises(StackError) as err:
        check_docker(run=run)
    where = f" (DOCKER_HOST={docker_host})" if docker_host else ""
    assert one_line(err) == (
        f"the Docker daemon is not running or unreachable{where}: "
        "start it (sudo systemctl start docker) and re-run"
    )


def test_docker_host_password_is_masked(fake_docker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://ops:hunter2@10.0.0.9:2376")
    with pytest.raises(StackError) as err:
        check_docker(run=FakeRun({**OK, INFO: (1, "", "Cannot connect")}))
    assert "hunter2" not in one_line(err)
    assert "DOCKER_HOST=tcp://ops:***@10.0.0.9:2376" in str(err.value)


def test_timeout_is_unreachable(fake_docker: Path) -> None:
    run = FakeRun({**OK, INFO: subprocess.TimeoutExpired(["docker", "info"], 10)})
    with pytest.raises(StackError, match="not running or unreachable"):
        check_docker(run=run)


def test_empty_server_version_is_unreachable(fake_docker: Path) -> None:
    with pytest.raises(StackError, match="not running or unreachable"):
        check_docker(run=FakeRun({**OK, INFO: (0, '""\n', "")}))


COMPOSE_MISSING = (
    "Docker Compose v2 is missing: install the docker-compose-plugin package (or copy the "
    "docker-compose v2 binary to ~/.docker/cli-plugins/) and re-run"
)


@pytest.mark.parametrize(
    "answer",
    [
        (1, "", "docker: 'compose' is not a docker command."),
        (0, "1.29.2\n", ""),
        (0, "\n", ""),
        subprocess.TimeoutExpired(["docker", "compose"], 10),
    ],
)
def test_compose_v2_missing(fake_docker: Path, answer: object) -> None:
    with pytest.raises(StackError) as err:
        check_docker(run=FakeRun({**OK, COMPOSE: answer}))
    assert one_line(err) == COMPOSE_MISSING


def test_exec_failure_is_not_installed(fake_docker: Path) -> None:
    with pytest.raises(StackError, match="^Docker is not installed"):
        check_docker(run=FakeRun({**OK, INFO: FileNotFoundError(2, "No such file")}))


# --------------------------------------------------------------------------- check_docker (real)


def test_real_not_installed_with_empty_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(StackError) as err:
        check_docker()
    assert one_line(err) == (
        "Docker is not installed: install Docker Engine "
        "(https://docs.docker.com/engine/install/) and re-run"
    )


@pytest.mark.docker
def test_real_engine_passes() -> None:
    _docker_or_skip()
    version = check_docker()
    assert int(version.split(".")[0]) >= 2


@pytest.mark.docker
def test_real_unreachable_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    _docker_or_skip()
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    with pytest.raises(StackError) as err:
        check_docker()
    assert one_line(err) == (
        "the Docker daemon is not running or unreachable (DOCKER_HOST=unix:///nonexistent.sock): "
        "start it (sudo systemctl start docker) and re-run"
    )


@pytest.mark.docker
def test_real_permission_denied_as_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the docker CLI as user nobody against the root-owned default socket."""
    _docker_or_skip()
    sock = Path("/var/run/docker.sock")
    runuser = shutil.which("runuser")
    if os.geteuid() != 0 or runuser is None or not sock.is_socket():
        pytest.skip("needs root, runuser and /var/run/docker.sock")
    if sock.stat().st_mode & stat.S_IRWXO:
        pytest.skip("docker.sock is world-accessible here")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)

    def as_nobody(argv, **kwargs):
        wrapped = [runuser, "-u", "nobody", "--", "env", "HOME=/tmp", *argv]
        return subprocess.run(wrapped, **kwargs)

    with pytest.raises(StackError) as err:
        check_docker(run=as_nobody)
    assert one_line(err).startswith(
        "cannot talk to the Docker daemon: permission denied on /var/run/docker.sock: "
    )


# --------------------------------------------------------------------------- check_ports (real)


def _occupied(kind: int, *, reuse: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ANY, 0))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    return sock


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((ANY, 0))
        return sock.getsockname()[1]


def test_tcp_port_in_use() -> None:
    with _occupied(socket.SOCK_STREAM) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports([PortSpec("ports.http", port)])
    assert one_line(err) == (
        f"host port {port}/tcp is already in use (setting ports.http): stop what listens "
        f"there (sudo ss -ltnup 'sport = :{port}') or choose another port in jitsi-stack.yml"
    )


def test_tcp_listener_with_reuseaddr_is_still_a_clash() -> None:
    """Docker's proxy (Go) listens with SO_REUSEADDR set; the clash must still show."""
    with _occupied(socket.SOCK_STREAM, reuse=True) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError, match=f"host port {port}/tcp is already in use"):
            check_ports([PortSpec("ports.https", port)])


def test_udp_port_in_use() -> None:
    with _occupied(socket.SOCK_DGRAM) as held:
        port = held.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports([PortSpec("jvb.media_port", port, "udp")])
    msg = one_line(err)
    assert msg.startswith(f"host port {port}/udp is already in use (setting jvb.media_port): ")
    assert f"'sport = :{port}'" in msg


def test_free_ports_pass() -> None:
    check_ports(
        [
            PortSpec("ports.http", _free_port(socket.SOCK_STREAM)),
            PortSpec("jvb.media_port", _free_port(socket.SOCK_DGRAM), "udp"),
        ]
    )


def test_ports_of_our_own_stack_are_skipped() -> None:
    with _occupied(socket.SOCK_STREAM) as tcp, _occupied(socket.SOCK_DGRAM) as udp:
        tport, uport = tcp.getsockname()[1], udp.getsockname()[1]
        check_ports(
            [PortSpec("ports.https", tport), PortSpec("jvb.media_port", uport, "udp")],
            ours={("tcp", tport), ("udp", uport)},
        )
        # the protocol matters: our udp port does not excuse a tcp clash on that number
        with pytest.raises(StackError, match=f"{tport}/tcp"):
            check_ports([PortSpec("ports.https", tport)], ours={("udp", tport)})


def test_first_clash_is_reported_others_in_detail() -> None:
    free = _free_port(socket.SOCK_STREAM)
    with _occupied(socket.SOCK_STREAM) as a, _occupied(socket.SOCK_DGRAM) as b:
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        with pytest.raises(StackError) as err:
            check_ports(
                [
                    PortSpec("ports.http", free),
                    PortSpec("ports.https", pa),
                    PortSpec("jvb.media_port", pb, "udp"),
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
            check_ports([PortSpec("ports.http", port, host_ip="127.0.0.1")])
        # binding the wildcard also clashes with a listener on one address
        with pytest.raises(StackError, match=rf"^host port {port}/tcp is already"):
            check_ports([PortSpec("ports.http", port)])


# --------------------------------------------------------------------------- published_ports

# A row as printed by `docker compose ps --format json` (Compose v2.40.3), trimmed.
PS_ROW = {
    "Name": "jitsi-web-1",
    "Service": "web",
    "State": "running",
    "Publishers": [
        {"URL": ANY, "TargetPort": 80, "PublishedPort": 8000, "Protocol": "tcp"},
        {"URL": "::", "TargetPort": 80, "PublishedPort": 8000, "Protocol": "tcp"},
        {"URL": "127.0.0.1", "TargetPort": 443, "PublishedPort": 8443, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 8080, "PublishedPort": 0, "Protocol": "tcp"},
    ],
}
JVB_ROW = {
    "Service": "jvb",
    "Publishers": [
        {"URL": ANY, "TargetPort": 10000, "PublishedPort": 10000, "Protocol": "udp"},
    ],
}


def test_published_ports() -> None:
    rows = [PS_ROW, JVB_ROW, {"Service": "prosody", "Publishers": None}, {"Service": "x"}]
    assert published_ports(rows) == {("tcp", 8000), ("tcp", 8443), ("udp", 10000)}
    assert published_ports([]) == set()
