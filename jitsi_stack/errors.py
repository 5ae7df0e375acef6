"""Errors an operator can fix. Each one prints as a single line naming the fix.

Exit codes: 2 for input the operator gave (settings, flags), 1 for everything
that went wrong at run time (Docker, the network, the disk).
"""

from __future__ import annotations

import re


class StackError(Exception):
    """A failure the operator can act on; str(err) is one line, never a secret."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # extra lines (a diff, log tail) printed after the message


class UsageError(StackError):
    """A bad flag or argument: nothing was done."""

    exit_code = 2


class SettingsError(StackError):
    """Invalid settings: nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class DockerError(StackError):
    """A docker or docker compose command failed; `argv`, `returncode`, `stderr` say how."""

    def __init__(
        self,
        message: str,
        *,
        argv: list[str] | tuple[str, ...] = (),
        returncode: int | None = None,
        stderr: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(message, detail=detail or stderr)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


class DockerNotInstalled(DockerError):
    pass


class DaemonUnreachable(DockerError):
    pass


class ComposeMissing(DockerError):
    pass


class PortInUse(DockerError):
    port: int | None = None


class ImageMissing(DockerError):
    pass


class NameConflict(DockerError):
    pass


class NoSuchContainer(DockerError):
    pass


class DockerTimeout(DockerError):
    pass


_CLASSES: tuple[tuple[re.Pattern[str], type[DockerError]], ...] = (
    (
        re.compile(
            r"cannot connect to the docker daemon|is the docker daemon running|"
            r"error during connect|permission denied while trying to connect",
            re.I,
        ),
        DaemonUnreachable,
    ),
    (
        re.compile(r"'compose' is not a docker command|unknown command.*compose", re.I),
        ComposeMissing,
    ),
    (
        re.compile(r"address already in use|port is already allocated|bind for .* failed", re.I),
        PortInUse,
    ),
    (
        re.compile(
            r"pull access denied|manifest unknown|manifest for .* not found|"
            r"repository does not exist|no such image|failed to resolve reference|"
            r"toomanyrequests|unauthorized: ",
            re.I,
        ),
        ImageMissing,
    ),
    (re.compile(r"conflict: .*(name|in use)|is already in use by container", re.I), NameConflict),
    (re.compile(r"no such container|no container found", re.I), NoSuchContainer),
)

_PORT = (
    re.compile(r"bind for [^ ]*?:(\d+) failed", re.I),
    re.compile(r":(\d+)(?::\d+)? failed: port is already allocated", re.I),
    re.compile(r"listen (?:tcp|udp)6? [^ ]*?:(\d+): bind: address already in use", re.I),
    re.compile(r"[: ](\d+): bind: address already in use", re.I),
)


def classify(stderr: str) -> type[DockerError]:
    """The most specific DockerError class for a command's stderr."""
    for pattern, kind in _CLASSES:
        if pattern.search(stderr or ""):
            return kind
    return DockerError


def port_in(stderr: str) -> int | None:
    """The host port a 'port in use' failure names, when it names one."""
    for pattern in _PORT:
        match = pattern.search(stderr or "")
        if match:
            return int(match.group(1))
    return None


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
