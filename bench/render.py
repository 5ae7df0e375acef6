"""Benchmark: a full render and `inv --list`, against `docker compose config` in the same run.

Usage: python bench/render.py [--runs N]
Prints medians in milliseconds and the ratios to the raw Compose command that
reads the same files (when Compose v2 is installed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jitsi_stack.deployment import build  # noqa: E402
from jitsi_stack.render import apply  # noqa: E402
from jitsi_stack.settings import project  # noqa: E402
from jitsi_stack.store import paths  # noqa: E402


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-") as scratch:
        base = Path(scratch)
        shutil.copy(REPO / "examples" / "all-services.yml", base / "jitsi-stack.yml")
        env = {**os.environ, "JITSI_STACK_ROOT": str(base)}
        apply.apply(build(project.load(base)))  # warm: templates compiled, secrets made

        def full_render_in_process() -> None:
            # a fresh tree each time: every file written, not a no-op
            for rel in (paths.COMPOSE_FILE, paths.ENV_FILE, paths.CUSTOM_CONFIG):
                (base / rel).unlink(missing_ok=True)
            apply.apply(build(project.load(base)))

        def cli(*argv: str) -> None:
            subprocess.run(
                [sys.executable, "-m", "invoke", "-r", str(REPO), *argv],
                env=env,
                cwd=base,
                check=True,
                capture_output=True,
            )

        results = {
            "render, in process (full write)": median_ms(full_render_in_process, args.runs),
            "render, in process (no change)": median_ms(
                lambda: apply.apply(build(project.load(base))), args.runs
            ),
            "inv render (CLI, no change)": median_ms(lambda: cli("render"), args.runs),
            "inv --list": median_ms(lambda: cli("--list"), args.runs),
        }
        raw = None
        if shutil.which("docker"):
            probe = subprocess.run(
                ["docker", "compose", "version"], capture_output=True, check=False
            )
            if probe.returncode == 0:
                raw = median_ms(
                    lambda: subprocess.run(
                        ["docker", "compose", "config", "--quiet"],
                        cwd=base,
                        check=True,
                        capture_output=True,
                    ),
                    args.runs,
                )
        print(f"median of {args.runs} runs (all-services example)")
        for name, value in results.items():
            ratio = f"  x{value / raw:.2f} of docker compose config" if raw else ""
            print(f"  {name:<34} {value:8.1f} ms{ratio}")
        if raw:
            print(f"  {'docker compose config --quiet':<34} {raw:8.1f} ms  (reference)")


if __name__ == "__main__":
    main()
