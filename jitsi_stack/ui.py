"""Terminal output: messages on stderr, tables and results on stdout.

rich is imported on first use, so commands that print a line or two stay fast.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any


@cache
def _console(stderr: bool) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def __getattr__(name: str) -> Any:  # ui.out / ui.err, created when first used
    if name == "out":
        return _console(False)
    if name == "err":
        return _console(True)
    raise AttributeError(name)


def _line(text: str, style: str = "") -> None:
    if sys.stderr.isatty():
        _console(True).print(text, style=style or None, markup=False)
    else:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def info(message: str) -> None:
    _line(message)


def warn(message: str) -> None:
    _line(f"warning: {message}", "yellow")


def error(message: str) -> None:
    _line(f"error: {message}", "bold red")


def plain(message: str) -> None:
    """Unstyled text on stdout (diffs, JSON)."""
    sys.stdout.write(message if message.endswith("\n") else message + "\n")
    sys.stdout.flush()


class PlainTable:
    """A table as aligned text, for output that is not a terminal (logs, pipes, CI)."""

    def __init__(self, title: str | None, columns: list[str], rows: list[list[str]]) -> None:
        self.lines = [title] if title else []
        widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
        for row in [columns, *rows]:
            self.lines.append(
                "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )

    def __str__(self) -> str:
        return "\n".join(self.lines)


def show(renderable: Any, style: str = "") -> None:
    """Print a table or a line on stdout: rich on a terminal, plain text otherwise."""
    if sys.stdout.isatty():
        _console(False).print(renderable, style=style or None, markup=False)
    else:
        plain(str(renderable))


def table(
    title: str | None, columns: list[str], rows: list[list[str]], fancy: bool | None = None
) -> Any:
    """A rich table for a terminal (fancy=None: when stdout is one), else a PlainTable."""
    if not (sys.stdout.isatty() if fancy is None else fancy):
        return PlainTable(title, columns, rows)
    from rich.table import Table

    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*row)
    return grid


def report(err: Exception) -> int:
    """Print a StackError as one line (plus its detail); return its exit code."""
    for line in str(err).splitlines():
        error(line)
    detail = getattr(err, "detail", "")
    if detail:
        plain(detail)
    return getattr(err, "exit_code", 1)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()
