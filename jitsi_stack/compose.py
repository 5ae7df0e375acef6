"""The one place that builds `docker compose` command lines, and runs them.

Every command carries the project directory, name, env file and compose files
explicitly, so it works from any working directory. The variables rendered
into jitsi-meet/.env are removed from the child's environment: a stale
`export PUBLIC_URL=...` in the operator's shell must not override the render.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .render import COMPOSE_FILE, ENV_FILE
from .settings import Settings


def files(s: Settings) -> list[Path]:
    extra = [Path(f) if Path(f).is_absolute() else s.root / f for f in s["compose.extra_files"]]
    return [s.root / COMPOSE_FILE, *extra]


def argv(s: Settings, *args: str) -> list[str]:
    """Full argv of `docker compose <args>` for this project."""
    cmd = [
        "docker",
        "compose",
        "--project-directory",
        str(s.root),
        "--project-name",
        s["project_name"],
    ]
    env_file = s.root / ENV_FILE
    if env_file.exists():
        cmd += ["--env-file", str(env_file)]
    for file in files(s):
        if file.exists():
            cmd += ["--file", str(file)]
    return [*cmd, *args]


def cmd(s: Settings, *args: str) -> str:
    """argv as one shell-safe string (for invoke's c.run)."""
    return shlex.join(argv(s, *args))


def child_env(s: Settings) -> dict[str, str]:
    """os.environ minus every name jitsi-meet/.env defines."""
    defined = set()
    env_file = s.root / ENV_FILE
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            name, sep, _ = line.partition("=")
            if sep and not line.startswith("#"):
                defined.add(name.strip())
    return {k: v for k, v in os.environ.items() if k not in defined}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(s: Settings, *args: str, capture: bool = True, timeout: float | None = None) -> Result:
    """Run `docker compose <args>`; capture=False streams to the terminal."""
    try:
        proc = subprocess.run(
            argv(s, *args),
            env=child_env(s),
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        return Result(124, "", f"timed out after {timeout}s: {err.cmd}")
    except FileNotFoundError:
        from .preflight import check_docker

        check_docker()  # raises the one-line "Docker is not installed" error
        raise
    return Result(proc.returncode, proc.stdout or "", proc.stderr or "")


def parse_ps(stdout: str) -> list[dict]:
    """Rows of `ps --format json`: one JSON array (Compose < 2.21) or JSON Lines."""
    rows: list[dict] = []
    for line in filter(None, (ln.strip() for ln in stdout.splitlines())):
        data = json.loads(line)
        rows.extend(data if isinstance(data, list) else [data])
    return rows


def explain_failure(result: Result, what: str) -> None:
    """A failed compose call: say why in one line (Docker missing or down first)."""
    from .errors import StackError
    from .preflight import check_docker

    check_docker()
    last = [line for line in result.stderr.strip().splitlines() if line.strip()]
    raise StackError(
        f"docker compose {what} failed: {last[-1] if last else 'no output'}", detail=result.stderr
    )


def ps(s: Settings) -> list[dict]:
    """Rows of `docker compose ps --all`; [] before the first render."""
    if not (s.root / COMPOSE_FILE).exists():
        return []
    for attempt in range(5):
        result = run(s, "ps", "--all", "--format", "json", timeout=60)
        if result.ok:
            return parse_ps(result.stdout)
        # A container replaced between compose's list and inspect: transient, ask again.
        if "No such container" not in result.stderr:
            break
        time.sleep(0.2 * (attempt + 1))
    explain_failure(result, "ps")
    return []


def services(s: Settings) -> list[str]:
    """Every service of the project (Jitsi's and the platform's extra files)."""
    result = run(s, "config", "--services", timeout=60)
    if not result.ok:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]
