"""Errors an operator can fix. Each one prints as a single line naming the fix."""


class StackError(Exception):
    """A failure the operator can act on; str(err) is one line, never a secret."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # extra lines (a diff, log tail) printed after the message


class SettingsError(StackError):
    """Invalid settings: nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
