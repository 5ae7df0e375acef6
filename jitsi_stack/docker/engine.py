"""The Docker Engine API over the local socket, and what Docker's answers look like.

Read-only questions (the project's containers, the local images) and `exec` go to the
daemon's unix socket when it is local and plain: a few milliseconds, where the docker CLI
costs a process start. Callers fall back to the CLI (docker/__init__.py) otherwise. This
module is a leaf: docker/__init__.py builds on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import errors
from ..errors import DockerError, DockerTimeout, NoSuchContainer

NOT_INSTALLED = (
    "Docker is not installed: install Docker Engine "
    "(https://docs.docker.com/engine/install/) and re-run"
)
COMPOSE_MISSING = (
    "Docker Compose v2 is missing: install the docker-compose-plugin package "
    "(or copy the docker-compose v2 binary to ~/.docker/cli-plugins/) and re-run"
)
DEFAULT_SOCKET = "/var/run/docker.sock"


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


def unreachable_message() -> str:
    host = _docker_host()
    where = f" (DOCKER_HOST={host})" if host else ""
    return (
        f"the Docker daemon is not running or unreachable{where}: "
        "start it (sudo systemctl start docker) and re-run"
    )


def permission_message() -> str:
    host = _docker_host()
    sock = host.removeprefix("unix://") if host.startswith("unix://") else DEFAULT_SOCKET
    return (
        f"cannot talk to the Docker daemon: permission denied on {sock}: "
        "add your user to the 'docker' group (sudo usermod -aG docker $USER, "
        "then log in again) or run as root"
    )


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Container:
    """One row of `docker compose ps --all --format json`."""

    service: str
    name: str
    id: str
    state: str  # running, exited, restarting, created, ...
    health: str  # healthy, unhealthy, starting, '' (no healthcheck)
    image: str
    status: str  # "Up 5 minutes (healthy)"
    publishers: tuple[tuple[str, int, int, str], ...]  # (url, target, published, proto)
    image_id: str = ""
    config_hash: str = ""  # Compose's com.docker.compose.config-hash label

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")

    @property
    def label(self) -> str:
        return f"{self.state} ({self.health})" if self.health else self.state

    @classmethod
    def from_api(cls, row: Mapping) -> Container:
        """A container as the Engine API's /containers/json lists it."""
        labels = row.get("Labels") or {}
        status = str(row.get("Status") or "")
        health = ""
        for word, value in (
            ("(healthy)", "healthy"),
            ("(unhealthy)", "unhealthy"),
            ("(health: starting)", "starting"),
        ):
            if word in status:
                health = value
        pubs = tuple(
            (
                str(p.get("IP") or ""),
                int(p.get("PrivatePort") or 0),
                int(p.get("PublicPort") or 0),
                str(p.get("Type") or "tcp"),
            )
            for p in row.get("Ports") or ()
        )
        names = row.get("Names") or [""]
        return cls(
            service=str(labels.get("com.docker.compose.service", "")),
            name=str(names[0]).lstrip("/"),
            id=str(row.get("Id") or ""),
            state=str(row.get("State") or ""),
            health=health,
            image=str(row.get("Image") or ""),
            status=status,
            publishers=pubs,
            image_id=str(row.get("ImageID") or ""),
            config_hash=str(labels.get("com.docker.compose.config-hash", "")),
        )

    @classmethod
    def from_row(cls, row: Mapping) -> Container:
        pubs = []
        for pub in row.get("Publishers") or ():
            try:
                published = int(pub.get("PublishedPort") or 0)
                target = int(pub.get("TargetPort") or 0)
            except (TypeError, ValueError):
                continue
            proto = str(pub.get("Protocol") or "tcp").lower()
            pubs.append((str(pub.get("URL") or ""), target, published, proto))
        return cls(
            service=str(row.get("Service") or ""),
            name=str(row.get("Name") or ""),
            id=str(row.get("ID") or ""),
            state=str(row.get("State") or ""),
            health=str(row.get("Health") or ""),
            image=str(row.get("Image") or ""),
            status=str(row.get("Status") or ""),
            publishers=tuple(pubs),
            config_hash=_label(row.get("Labels"), "com.docker.compose.config-hash"),
        )


def _label(labels, name: str) -> str:
    """A label from `ps --format json`'s "k=v,k=v" text (or a mapping)."""
    if isinstance(labels, Mapping):
        return str(labels.get(name, ""))
    for item in str(labels or "").split(","):
        key, _, value = item.partition("=")
        if key == name:
            return value
    return ""


def parse_ps(stdout: str) -> list[Container]:
    """Rows of `ps --format json`: one JSON array (Compose < 2.21) or JSON Lines."""
    rows: list[Container] = []
    for line in filter(None, (ln.strip() for ln in stdout.splitlines())):
        data = json.loads(line)
        rows.extend(Container.from_row(r) for r in (data if isinstance(data, list) else [data]))
    return rows


# -- the Engine API --------------------------------------------------------------------


class Engine:
    """Read-only questions to the Docker Engine API over its unix socket (a few ms each,
    where the docker CLI costs a process start). Used when the daemon is local and plain
    (no DOCKER_HOST other than unix://, no docker context); `available()` says so, and the
    callers fall back to the CLI otherwise. Honours --dry and --echo like the Runner."""

    def __init__(self, runner: Any, socket_path: str | None) -> None:
        self.runner = runner
        self.socket_path = socket_path

    @classmethod
    def local(cls, runner: Any) -> Engine:
        host = os.environ.get("DOCKER_HOST", "")
        path: str | None = DEFAULT_SOCKET
        if host:
            path = host.removeprefix("unix://") if host.startswith("unix://") else None
        if os.environ.get("DOCKER_CONTEXT", "default") != "default" or _context_in_use():
            path = None
        return cls(runner, path)

    def available(self) -> bool:
        return self.socket_path is not None and os.path.exists(self.socket_path)

    def request(
        self, method: str, path: str, body: dict | None = None, timeout: float = 10.0
    ) -> bytes:
        """The raw answer body of one request; DockerError for a failure status."""
        import socket

        # HTTP/1.0 over the socket: the daemon answers with a plain body and closes, so a
        # few lines do what http.client (and its email-parsing imports) would.
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        chunks = []
        if self.socket_path is None:  # a remote daemon: the callers ask available() first
            raise errors.DaemonUnreachable(unreachable_message(), detail="no local Docker socket")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(self.socket_path)
                sock.sendall(head.encode() + data)
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except PermissionError as exc:
            raise errors.DaemonUnreachable(permission_message()) from exc
        except TimeoutError as exc:
            raise DockerTimeout(
                f"the Docker daemon did not answer {method} {path} within {timeout:.0f}s"
            ) from exc
        except OSError as exc:
            raise errors.DaemonUnreachable(unreachable_message(), detail=str(exc)) from exc
        head_bytes, _, answer = b"".join(chunks).partition(b"\r\n\r\n")
        status_line = head_bytes.split(b"\r\n", 1)[0].split()
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
        if not 200 <= status < 300:
            text = answer[:300].decode("utf-8", "replace")
            kind = NoSuchContainer if status == 404 and "container" in text else DockerError
            raise kind(f"Docker API {method} {path} answered {status}: {text.strip()}")
        return answer

    def get(self, path: str, timeout: float = 10.0):
        """The decoded JSON of GET path; DockerError when the daemon does not answer."""
        if self.runner.dry or self.runner.echo:
            self.runner.announce(f"GET {path} (Docker Engine API, {self.socket_path})")
        if self.runner.dry:
            return []
        body = self.request("GET", path, timeout=timeout)
        try:
            return json.loads(body or b"null")
        except ValueError as exc:
            raise DockerError(f"Docker API {path}: an answer that is not JSON") from exc

    def exec(self, container_id: str, cmd: list[str], timeout: float = 30.0) -> Result:
        """Run cmd in a container (exec create, start, inspect): what `docker exec` does,
        without starting a docker process."""
        argv = ("docker", "exec", container_id, *cmd)
        if self.runner.dry or self.runner.echo:
            self.runner.announce(f"{' '.join(argv)} (Docker Engine API)")
        if self.runner.dry:
            return Result(argv, 0)
        created = json.loads(
            self.request(
                "POST",
                f"/containers/{container_id}/exec",
                {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True},
                timeout,
            )
        )
        raw = self.request("POST", f"/exec/{created['Id']}/start", {"Detach": False}, timeout)
        out, err = _demux(raw)
        code = json.loads(self.request("GET", f"/exec/{created['Id']}/json", timeout=timeout))
        return Result(argv, int(code.get("ExitCode") or 0), out, err)

    def containers(self, project: str) -> list[Container]:
        """The project's containers, as `docker compose ps --all` lists them."""
        query = json.dumps({"label": [f"com.docker.compose.project={project}"]})
        from urllib.parse import quote

        rows = self.get(f"/containers/json?all=1&filters={quote(query)}")
        return [
            Container.from_api(r)
            for r in rows
            if (r.get("Labels") or {}).get("com.docker.compose.oneoff", "False") != "True"
        ]

    def images(self) -> dict[str, str]:
        """Every local image ref (repo:tag) and its image id."""
        return {
            tag: str(img.get("Id") or "")
            for img in self.get("/images/json") or ()
            for tag in img.get("RepoTags") or ()
        }


def _demux(raw: bytes) -> tuple[str, str]:
    """stdout and stderr of Docker's multiplexed stream (8-byte frame headers)."""
    streams = {1: bytearray(), 2: bytearray()}
    at = 0
    while at + 8 <= len(raw):
        kind, size = raw[at], int.from_bytes(raw[at + 4 : at + 8], "big")
        streams.get(kind, streams[1]).extend(raw[at + 8 : at + 8 + size])
        at += 8 + size
    return (
        streams[1].decode("utf-8", "replace"),
        streams[2].decode("utf-8", "replace"),
    )


def _context_in_use() -> bool:
    """Whether the docker CLI is set to a context other than the default one."""
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("currentContext", "default") not in ("", "default")
