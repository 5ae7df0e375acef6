"""The one place that runs docker and docker compose.

Every command is an argv list built here and run by `Runner.run`, which honours
Invoke's `--dry` (print, run nothing) and `--echo` (print, then run), and turns a
failure into one DockerError subclass picked from stderr (errors.classify). Tests
have one seam: a Runner whose `execute` is replaced.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..errors import DockerError, DockerNotInstalled, DockerTimeout
from .engine import (
    COMPOSE_MISSING,
    NOT_INSTALLED,
    Container,
    Engine,
    Result,
    parse_ps,
    permission_message,
    unreachable_message,
)


@dataclass
class Runner:
    """Runs argv lists for every task. dry: print what would run, run nothing."""

    dry: bool = False
    echo: bool = False
    log: list[tuple[str, ...]] = field(default_factory=list)  # every command asked for
    _running: set = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_context(cls, c) -> Runner:
        """The runner for an Invoke task: its --dry and --echo flags."""
        run = getattr(getattr(c, "config", None), "run", None)
        return cls(dry=bool(getattr(run, "dry", False)), echo=bool(getattr(run, "echo", False)))

    def announce(self, text: str) -> None:
        from .. import ui

        ui.info(f"dry run: {text}" if self.dry else f"$ {text}")

    def run(
        self,
        argv: Iterable[str],
        *,
        capture: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        what: str = "",
        input: str | None = None,  # subprocess's name; secrets go here, not argv
    ) -> Result:
        """Run argv; on failure raise the classified DockerError unless check is False."""
        argv = tuple(argv)
        self.log.append(argv)
        if self.dry or self.echo:
            self.announce(shlex.join(argv))
        if self.dry:
            return Result(argv, 0)
        result = self.execute(
            argv, capture=capture, timeout=timeout, env=env, what=what, input=input
        )
        if check and not result.ok:
            raise failure(result, what or " ".join(argv[:3]))
        return result

    def stream(
        self,
        argv: Iterable[str],
        *,
        env: Mapping[str, str] | None = None,
        mask=lambda line: line,
        what: str = "",
    ) -> Result:
        """Run argv and copy its output to stdout line by line through `mask` (container
        logs may hold anything: no secret reaches the terminal). Ctrl-C stops it."""
        import subprocess
        import sys

        argv = tuple(argv)
        self.log.append(argv)
        if self.dry or self.echo:
            self.announce(shlex.join(argv))
        if self.dry:
            return Result(argv, 0)
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError as exc:
            raise DockerNotInstalled(NOT_INSTALLED, argv=argv) from exc
        tail: list[str] = []
        try:
            for line in proc.stdout or ():  # a stream: stdout=PIPE
                sys.stdout.write(mask(line))
                sys.stdout.flush()
                tail = [*tail[-20:], line]
        except KeyboardInterrupt:
            proc.terminate()
        code = proc.wait()
        result = Result(argv, code, "", "".join(tail))
        if code not in (0, -15):  # -15: our own terminate after Ctrl-C
            err = failure(result, what or " ".join(argv[:3]))
            err.stderr = mask(err.stderr)
            err.detail = err.stderr
            raise err
        return result

    def execute(
        self,
        argv: tuple[str, ...],
        *,
        capture: bool,
        timeout: float | None,
        env: Mapping[str, str] | None,
        what: str,
        input: str | None = None,
    ) -> Result:
        import subprocess  # here: a question the Engine answers starts no process

        pipe = subprocess.PIPE if capture else None
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL if capture else None
        try:
            proc = subprocess.Popen(
                argv,
                stdout=pipe,
                stderr=pipe,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=dict(env) if env is not None else None,
                stdin=stdin,
            )
        except FileNotFoundError as exc:
            raise DockerNotInstalled(NOT_INSTALLED, argv=argv) from exc
        with self._lock:
            self._running.add(proc)
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise DockerTimeout(
                f"{what or argv[0]} did not answer within {timeout:.0f}s: check that the Docker "
                "daemon is responsive (docker info) and re-run",
                argv=argv,
            ) from exc
        except BaseException:  # Ctrl-C in this thread: the command stops with us
            proc.terminate()
            proc.wait()
            raise
        finally:
            with self._lock:
                self._running.discard(proc)
        return Result(argv, proc.returncode, out or "", err or "")

    def stop_all(self) -> None:
        """Stop every command still running (from other threads) when the task is cut
        short: Ctrl-C stops `docker compose up` too, as in a terminal."""
        import subprocess

        with self._lock:
            running = list(self._running)
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def failure(result: Result, what: str) -> DockerError:
    """The DockerError for a failed command: its class from stderr, its last line as cause."""
    kind = errors.classify(result.stderr + "\n" + result.stdout)
    if kind is errors.DaemonUnreachable:
        denied = "permission denied" in result.stderr.lower()
        message = permission_message() if denied else unreachable_message()
    elif kind is errors.ComposeMissing:
        message = COMPOSE_MISSING
    else:
        message = f"{what} failed: {errors.last_line(result.stderr or result.stdout)}"
    err = kind(
        message,
        argv=result.argv,
        returncode=result.returncode,
        stderr=result.stderr,
    )
    if isinstance(err, errors.PortInUse):
        err.port = errors.port_in(result.stderr + result.stdout)
    return err


# -- Compose -------------------------------------------------------------------


@dataclass
class Compose:
    """`docker compose` for one project: always the same files, env file and name."""

    runner: Runner
    root: Path
    project: str
    files: tuple[Path, ...]
    env_file: Path
    managed_names: frozenset[str] = frozenset()  # names jitsi-meet/.env defines

    def argv(self, *args: str) -> list[str]:
        cmd = ["docker", "compose", "--project-directory", str(self.root)]
        cmd += ["--project-name", self.project, "--env-file", str(self.env_file)]
        for file in self.files:
            cmd += ["--file", str(file)]
        return [*cmd, *args]

    def child_env(self) -> dict[str, str]:
        """os.environ minus every name jitsi-meet/.env defines: a stale shell export
        (`export PUBLIC_URL=...`) must not override the rendered value."""
        return {k: v for k, v in os.environ.items() if k not in self.managed_names}

    def run(
        self,
        *args: str,
        capture: bool = True,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        return self.runner.run(
            self.argv(*args),
            capture=capture,
            timeout=timeout,
            env=self.child_env(),
            check=check,
            what=f"docker compose {args[0]}" if args else "docker compose",
        )

    def stream(self, *args: str, mask=lambda line: line) -> Result:
        """`docker compose ARGS` with its output masked line by line (logs)."""
        return self.runner.stream(
            self.argv(*args), env=self.child_env(), mask=mask, what=f"docker compose {args[0]}"
        )

    def ps(self) -> list[Container]:
        """Every container of the project, running or not (asked over the Engine API when
        the daemon is local: one request instead of a compose process)."""
        engine = Engine.local(self.runner)
        if engine.available():
            return engine.containers(self.project)
        for attempt in range(5):
            try:
                result = self.run("ps", "--all", "--format", "json", timeout=60)
            except errors.NoSuchContainer:
                # A container replaced between compose's list and inspect: ask again.
                time.sleep(0.2 * (attempt + 1))
                continue
            return parse_ps(result.stdout)
        return parse_ps(self.run("ps", "--all", "--format", "json", timeout=60).stdout)

    def running(self, service: str) -> Container | None:
        """The service's running container, if one runs."""
        for container in self.ps():
            if container.service == service and container.state == "running":
                return container
        return None

    def exec(
        self,
        service: str,
        *cmd: str,
        timeout: float | None = None,
        input: str | None = None,  # fed to cmd's stdin (passwords: never argv)
    ) -> Result:
        """Run cmd in the service's container with `docker exec` (one process, where
        `docker compose exec` costs a second, slower one). A service with no running
        container gives a failed Result saying so, as Compose would."""
        container = self.running(service)
        if container is None:
            return Result(("docker", "exec"), 1, "", f'service "{service}" is not running')
        engine = Engine.local(self.runner)
        if input is None and engine.available() and container.id:
            return engine.exec(container.id, list(cmd), timeout=timeout or 30.0)
        return docker_exec(self.runner, ["docker"], container.name, cmd, timeout, input)

    def services(self) -> list[str]:
        """Every service of the project files (Jitsi's and the platform's extra files)."""
        result = self.run("config", "--services", timeout=60)
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]


# -- the engine ------------------------------------------------------------------


def docker_exec(
    runner: Runner,
    docker: list[str],
    container: str,
    cmd: Iterable[str],
    timeout: float | None,
    input: str | None,
) -> Result:
    """`docker exec` of cmd in container (docker: `docker` and its host options), stdin
    fed from input when given (passwords: never argv); a failure is the Result's."""
    return runner.run(
        [*docker, "exec", *(["--interactive"] if input is not None else []), container, *cmd],
        timeout=timeout,
        check=False,
        what="docker exec",
        input=input,
    )


def images_present(runner: Runner, refs: Iterable[str]) -> set[str]:
    """The subset of image refs present locally (one API call, or one `docker image ls`)."""
    wanted = set(refs)
    if not wanted:
        return set()
    engine = Engine.local(runner)
    if engine.available():
        return wanted & set(engine.images())
    result = runner.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        timeout=60,
        what="docker image ls",
    )
    return wanted & set(result.stdout.split())


def image_ids(runner: Runner, containers: Iterable[Container]) -> dict[str, str]:
    """service -> image id of its container (one `docker inspect` for all)."""
    containers = list(containers)
    if containers and all(c.image_id for c in containers):
        return {c.service: c.image_id for c in containers}
    by_id = {c.id: c.service for c in containers if c.id}
    if not by_id:
        return {}
    result = runner.run(
        ["docker", "inspect", "--format", "{{.Id}} {{.Image}}", *by_id],
        timeout=60,
        check=False,
        what="docker inspect",
    )
    out = {}
    for line in result.stdout.splitlines():
        cid, _, image = line.partition(" ")
        for short, service in by_id.items():
            if cid.startswith(short):
                out[service] = image.strip()
    return out


# -- Docker Swarm --------------------------------------------------------------------


@dataclass
class Swarm:
    """`docker [-H host] ...` against a Swarm manager (swarm.docker_host; "" = the CLI's own
    DOCKER_HOST or context) for one stack."""

    runner: Runner
    stack: str
    host: str = ""

    def argv(self, *args: str) -> list[str]:
        return ["docker", *(["--host", self.host] if self.host else []), *args]

    def run(self, *args: str, timeout: float | None = 120, check: bool = True) -> Result:
        return self.runner.run(
            self.argv(*args), timeout=timeout, check=check, what=f"docker {' '.join(args[:2])}"
        )

    def json_lines(self, *args: str, timeout: float | None = 60) -> list[dict]:
        """Rows of a `--format '{{json .}}'` listing (read-only: runs in --dry too)."""
        import json

        argv = self.argv(*args, "--format", "{{json .}}")
        result = self.runner.execute(
            tuple(argv), capture=True, timeout=timeout, env=None, what=f"docker {args[0]}"
        )
        if not result.ok:
            raise failure(result, f"docker {' '.join(args[:2])}")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def inspect(self, kind: str, ids: Iterable[str], *options: str) -> list[dict]:
        """`docker <kind> inspect` of ids (kind "inspect": `docker inspect`), parsed
        (read-only)."""
        import json

        ids = list(ids)
        if not ids:
            return []
        command = (kind,) if kind == "inspect" else (kind, "inspect")
        result = self.runner.execute(
            tuple(self.argv(*command, *options, *ids)),
            capture=True,
            timeout=60,
            env=None,
            what=f"docker {kind} inspect",
        )
        if not result.ok:
            raise failure(result, f"docker {kind} inspect")
        return json.loads(result.stdout or "[]")

    def exec(
        self,
        service: str,
        *cmd: str,
        timeout: float | None = None,
        input: str | None = None,  # fed to cmd's stdin (passwords: never argv)
    ) -> Result:
        """Run cmd in the running task of the stack's service on the engine this client
        reaches (a manager): `docker exec` cannot reach a task on another node. No such
        task gives a failed Result saying so, as Compose.exec does."""
        label = f"label=com.docker.swarm.service.name={self.stack}_{service}"
        rows = self.json_lines("ps", "--filter", label, "--filter", "status=running")
        if not rows:
            return Result(("docker", "exec"), 1, "", f'service "{service}" is not running here')
        return docker_exec(self.runner, self.argv(), rows[0]["ID"], cmd, timeout, input)

    def deploy(self, stack_file: Path) -> Result:
        return self.run(
            "stack", "deploy", "--prune", "--compose-file", str(stack_file), self.stack, timeout=300
        )

    def remove(self) -> Result:
        return self.run("stack", "rm", self.stack, timeout=120)
