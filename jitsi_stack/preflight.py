"""Checks run before touching Docker: the engine, Compose v2 and the host ports.

Every failure is a StackError whose message is one line naming the fix.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jitsi_stack.errors import StackError

TIMEOUT = 10  # seconds for each docker CLI call; a timeout means "unreachable"
DEFAULT_SOCKET = "/var/run/docker.sock"

NOT_INSTALLED = (
    "Docker is not installed: install Docker Engine "
    "(https://docs.docker.com/engine/install/) and re-run"
)
COMPOSE_MISSING = (
    "Docker Compose v2 is missing: install the docker-compose-plugin package "
    "(or copy the docker-compose v2 binary to ~/.docker/cli-plugins/) and re-run"
)


# --------------------------------------------------------------------------- docker


def check_docker(run: Callable[..., Any] = subprocess.run) -> str:
    """Verify the docker CLI, the daemon and Compose v2; return the Compose version.

    `run` has the signature of subprocess.run (injectable for tests). It is called
    with an argv list whose first element is the resolved docker binary.
    """
    docker = shutil.which("docker")
    if docker is None:
        raise StackError(NOT_INSTALLED)

    info = _call(run, [docker, "info", "--format", "{{json .ServerVersion}}"])
    if info is None:
        raise StackError(_unreachable_message(), detail=f"`docker info` timed out after {TIMEOUT}s")
    if info.returncode != 0 or not _server_version(info.stdout):
        stderr = (info.stderr or "").strip()
        if "permission denied" in stderr.lower():
            raise StackError(_permission_message(), detail=stderr)
        raise StackError(_unreachable_message(), detail=stderr)

    compose = _call(run, [docker, "compose", "version", "--short"])
    if compose is None:
        raise StackError(
            COMPOSE_MISSING, detail=f"`docker compose version` timed out after {TIMEOUT}s"
        )
    version = (compose.stdout or "").strip().removeprefix("v")
    if compose.returncode != 0 or _major(version) < 2:
        detail = (compose.stderr or "").strip() or f"docker compose version: {version or '?'}"
        raise StackError(COMPOSE_MISSING, detail=detail)
    return version


def _call(run: Callable[..., Any], argv: list[str]) -> Any | None:
    """Run argv with a timeout; None on timeout. A missing/unrunnable binary is 'not installed'."""
    try:
        return run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError as exc:  # vanished between which() and exec, or not executable
        raise StackError(NOT_INSTALLED, detail=f"{argv[0]}: {exc}") from exc


def _server_version(stdout: str | None) -> str:
    """The daemon version printed by `docker info --format {{json .ServerVersion}}`."""
    return (stdout or "").strip().strip('"')


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _docker_host() -> str:
    """DOCKER_HOST as set, with any password in it masked."""
    host = os.environ.get("DOCKER_HOST", "").strip()
    if not host:
        return ""
    try:
        parts = urlsplit(host)
        if parts.password is not None:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            host = urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return host


def _unreachable_message() -> str:
    host = _docker_host()
    where = f" (DOCKER_HOST={host})" if host else ""
    return (
        f"the Docker daemon is not running or unreachable{where}: "
        "start it (sudo systemctl start docker) and re-run"
    )


def _permission_message() -> str:
    host = _docker_host()
    sock = host.removeprefix("unix://") if host.startswith("unix://") else DEFAULT_SOCKET
    return (
        f"cannot talk to the Docker daemon: permission denied on {sock}: "
        "add your user to the 'docker' group (sudo usermod -aG docker $USER, "
        "then log in again) or run as root"
    )


# --------------------------------------------------------------------------- ports


@dataclass(frozen=True)
class PortSpec:
    """A host port the stack will publish; `setting` names it in jitsi-stack.yml."""

    setting: str
    port: int
    protocol: str = "tcp"
    host_ip: str = "0.0.0.0"  # noqa: S104 - the address Docker publishes on by default


def check_ports(specs: list[PortSpec], ours: Set[tuple[str, int]] = frozenset()) -> None:
    """Raise StackError naming the first spec whose host port cannot be bound.

    Specs whose (protocol, port) is in `ours` (published by this stack's own running
    containers, see published_ports) are skipped. All specs are tried in the order
    given; the message names the first clash, `detail` lists any others.
    """
    clashes: list[str] = []
    for spec in specs:
        protocol = spec.protocol.lower()
        if (protocol, spec.port) in ours:
            continue
        problem = _bind_problem(spec, protocol)
        if problem:
            clashes.append(problem)
    if clashes:
        raise StackError(clashes[0], detail="\n".join(clashes[1:]))


def _bind_problem(spec: PortSpec, protocol: str) -> str:
    """'' when spec.host_ip:spec.port can be bound now, else the one-line message."""
    if protocol not in ("tcp", "udp"):
        return (
            f"unknown protocol {spec.protocol!r} for host port {spec.port} "
            f"(setting {spec.setting}): use tcp or udp in jitsi-stack.yml"
        )
    family = socket.AF_INET6 if ":" in spec.host_ip else socket.AF_INET
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    try:
        with socket.socket(family, kind) as sock:
            if protocol == "tcp":
                # As Docker (Go) binds: TIME_WAIT leftovers are no clash, a listener is.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((spec.host_ip, spec.port))
    except OSError as exc:
        where = _where(spec)
        if exc.errno == errno.EADDRINUSE:
            return (
                f"host port {where}/{protocol} is already in use (setting {spec.setting}): "
                f"stop what listens there (sudo ss -ltnup 'sport = :{spec.port}') "
                "or choose another port in jitsi-stack.yml"
            )
        if exc.errno == errno.EACCES:
            # Unprivileged callers cannot bind ports < 1024, but dockerd (root) can:
            # this says nothing about whether the port is free.
            return ""
        if exc.errno == errno.EADDRNOTAVAIL:
            return (
                f"host address {spec.host_ip} for port {spec.port}/{protocol} "
                f"(setting {spec.setting}) is not an address of this machine: "
                "use one of its addresses or 0.0.0.0 in jitsi-stack.yml"
            )
        return (
            f"cannot check host port {where}/{protocol} (setting {spec.setting}): "
            f"{exc.strerror or exc}: fix the port or address in jitsi-stack.yml"
        )
    return ""


def _where(spec: PortSpec) -> str:
    if spec.host_ip in ("0.0.0.0", "::", ""):  # noqa: S104
        return str(spec.port)
    host = f"[{spec.host_ip}]" if ":" in spec.host_ip else spec.host_ip
    return f"{host}:{spec.port}"


def published_ports(ps_rows: Iterable[Mapping[str, Any]]) -> set[tuple[str, int]]:
    """{(protocol, host_port)} published by the rows of `docker compose ps --format json`.

    Each row carries "Publishers": [{"URL", "TargetPort", "PublishedPort", "Protocol"}];
    PublishedPort 0 means the container port is exposed but not published.
    """
    ports: set[tuple[str, int]] = set()
    for row in ps_rows:
        for pub in row.get("Publishers") or ():
            try:
                port = int(pub.get("PublishedPort") or 0)
            except (TypeError, ValueError):
                continue
            if port > 0:
                ports.add((str(pub.get("Protocol") or "tcp").lower(), port))
    return ports
