"""Terminal output: messages on stderr, tables and results on stdout."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def info(message: str) -> None:
    err.print(message, markup=False)


def warn(message: str) -> None:
    err.print(f"warning: {message}", style="yellow", markup=False)


def error(message: str) -> None:
    err.print(f"error: {message}", style="bold red", markup=False)


def plain(message: str) -> None:
    """Unstyled text on stdout (diffs, JSON)."""
    sys.stdout.write(message if message.endswith("\n") else message + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*row)
    return grid


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()
