"""The wheel as users get it: built with `python -m build --wheel` from the files git tracks
(copied out, so a stale build/ or an untracked file in the checkout cannot hide a gap)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.project import REPO

# what the build reads: the project table, its readme, the package
BUILD_INPUTS = ("pyproject.toml", "README.md", "jitsi_stack")


def tracked(*paths: str) -> list[str]:
    """Files git tracks under paths (present in the work tree), without __pycache__."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", *paths],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(
        rel
        for rel in out.split("\0")
        if rel and "__pycache__" not in rel.split("/") and (REPO / rel).is_file()
    )


def build_wheel(dest: Path) -> Path:
    """Build the wheel of a copy of the tracked sources into dest; its path."""
    source = dest / "source"
    for rel in tracked(*BUILD_INPUTS):
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    out = dest / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("jitsi_stack-*.whl")
    return wheel


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return sorted(n for n in archive.namelist() if not n.endswith("/"))
