"""Checks run before touching Docker: the engine, Compose v2 and the host ports.

Every failure is a StackError whose message is one line naming the fix.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable, Set

from ..deployment import Port
from ..docker import (
    COMPOSE_MISSING,
    NOT_INSTALLED,
    Runner,
    permission_message,
    unreachable_message,
)
from ..errors import ComposeMissing, DaemonUnreachable, DockerError, DockerNotInstalled, StackError

TIMEOUT = 10  # seconds for each docker CLI call; a timeout means "unreachable"


# --------------------------------------------------------------------------- docker


def check_docker(runner: Runner | None = None) -> str:
    """Verify the docker CLI, the daemon and Compose v2; return the Compose version.

    The one availability check: tasks, lint, the test suite and the testbed call it.
    """
    import shutil

    runner = runner or Runner()
    if shutil.which("docker") is None:
        raise DockerNotInstalled(NOT_INSTALLED)
    try:
        info = runner.run(
            ["docker", "info", "--format", "{{json .ServerVersion}}"],
            timeout=TIMEOUT,
            check=False,
            what="docker info",
        )
    except DockerError as exc:
        if isinstance(exc, DockerNotInstalled):
            raise
        raise DaemonUnreachable(unreachable_message(), detail=str(exc)) from None
    if not runner.dry and (not info.ok or not info.stdout.strip().strip('"')):
        stderr = info.stderr.strip()
        if "permission denied" in stderr.lower():
            raise DaemonUnreachable(permission_message(), detail=stderr)
        raise DaemonUnreachable(unreachable_message(), detail=stderr)
    try:
        compose = runner.run(
            ["docker", "compose", "version", "--short"],
            timeout=TIMEOUT,
            check=False,
            what="docker compose version",
        )
    except DockerError as exc:
        raise ComposeMissing(COMPOSE_MISSING, detail=str(exc)) from None
    if runner.dry:
        return "2"
    version = compose.stdout.strip().removeprefix("v")
    if not compose.ok or _major(version) < 2:
        detail = compose.stderr.strip() or f"docker compose version: {version or '?'}"
        raise ComposeMissing(COMPOSE_MISSING, detail=detail)
    return version


def check_engine(runner: Runner) -> None:
    """The daemon answers (before anything changes). A local daemon is asked over its
    socket (about a millisecond); otherwise the full check runs. A missing Compose v2 then
    shows in the first compose command's error, classified the same way."""
    from ..docker import Engine

    engine = Engine.local(runner)
    if engine.available() and not runner.dry:
        import shutil  # here: `inv status` loads this module and checks nothing

        if shutil.which("docker") is None:
            raise DockerNotInstalled(NOT_INSTALLED)
        engine.get("/version")
        return
    check_docker(runner)


def docker_problem() -> str | None:
    """None when Docker and Compose v2 answer, else the one-line reason (for tests, lint)."""
    try:
        check_docker()
    except StackError as err:
        return str(err)
    return None


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


# --------------------------------------------------------------------------- networks


def subnet_clash(subnet: str, own_network: str, networks: Iterable[dict]) -> str | None:
    """The one-line problem when `subnet` (metrics.subnet) overlaps a Docker network other
    than our own metrics network (Docker would refuse it half way: "Pool overlaps")."""
    import ipaddress

    wanted = ipaddress.ip_network(subnet)
    for net in networks:
        if net.get("Name") == own_network:
            continue
        for config in (net.get("IPAM") or {}).get("Config") or ():
            try:
                other = ipaddress.ip_network(str(config.get("Subnet") or ""), strict=False)
            except ValueError:
                continue
            if other.version == wanted.version and other.overlaps(wanted):
                return (
                    f"metrics.subnet: {subnet} overlaps the Docker network {net.get('Name')} "
                    f"({other}): choose another private subnet, e.g. a free /28 of 10.213.0.0/16"
                )
    return None


def check_subnets(d, runner: Runner) -> None:
    """metrics.enabled: the metrics network's subnet is free (read over the Engine API;
    skipped when the daemon is not local, where Docker itself will say)."""
    if d.metrics is None or runner.dry:
        return
    from ..docker.engine import Engine

    engine = Engine.local(runner)
    if not engine.available():
        return
    problem = subnet_clash(d.metrics.subnet, d.metrics.network, engine.get("/networks") or ())
    if problem:
        raise StackError(problem)


# --------------------------------------------------------------------------- ports


def check_ports(ports: Iterable[Port], ours: Set[tuple[str, int]] = frozenset()) -> None:
    """Raise StackError naming the first published port that cannot be bound now.

    Ports in `ours` (published by this stack's own running containers) are skipped.
    A port published on every address is tried on IPv4 and on IPv6, as Docker binds
    both: a listener on either makes `docker compose up` fail half way.
    """
    clashes: list[str] = []
    for port in ports:
        for number in port.host_ports:
            if (port.protocol, number) in ours:
                continue
            problem = _bind_problem(port, number)
            if problem:
                clashes.append(problem)
    if clashes:
        raise StackError(clashes[0], detail="\n".join(clashes[1:]))


def _bind_problem(port: Port, number: int) -> str:
    """'' when the host port can be bound now, else the one-line message."""
    if port.protocol not in ("tcp", "udp"):
        return f"unknown protocol {port.protocol!r} for host port {number} ({port.setting})"
    binds = [port.bind] if port.bind else ["0.0.0.0", "::"]  # noqa: S104 - what Docker binds
    for address in binds:
        problem = _try_bind(port, number, address)
        if problem:
            return problem
    return ""


def _try_bind(port: Port, number: int, address: str) -> str:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_STREAM if port.protocol == "tcp" else socket.SOCK_DGRAM
    try:
        sock = socket.socket(family, kind)
    except OSError:
        return ""  # no IPv6 on this host: Docker will not bind it either
    try:
        with sock:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port.protocol == "tcp":
                # As Docker (Go) binds: TIME_WAIT leftovers are no clash, a listener is.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, number))
    except OSError as exc:
        where = _where(address, number, bool(port.bind))
        if exc.errno == errno.EADDRINUSE:
            return (
                f"host port {where}/{port.protocol} is already in use (setting {port.setting}): "
                f"stop what listens there (sudo ss -ltnup 'sport = :{number}') "
                "or choose another port in jitsi-stack.yml"
            )
        if exc.errno in (errno.EACCES, errno.EAFNOSUPPORT):
            # Unprivileged callers cannot bind ports < 1024, but dockerd (root) can.
            return ""
        if exc.errno == errno.EADDRNOTAVAIL:
            if not port.bind:
                return ""  # no IPv6 address here
            return (
                f"host address {address} for port {number}/{port.protocol} "
                f"(setting {port.setting}) is not an address of this machine"
            )
        return (
            f"cannot check host port {where}/{port.protocol} (setting {port.setting}): "
            f"{exc.strerror or exc}: fix the port or address in jitsi-stack.yml"
        )
    return ""


def _where(address: str, number: int, explicit: bool) -> str:
    if not explicit:
        return f"{number} (IPv6)" if ":" in address else str(number)
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{number}"


def published_ports(containers) -> set[tuple[str, int]]:
    """{(protocol, host_port)} published by this project's containers (docker.Container)."""
    return {
        (proto, published)
        for c in containers
        for _, _, published, proto in c.publishers
        if published > 0
    }
