"""Benchmark the lifecycle tasks against the raw `docker compose` commands, on the testbed.

Usage: python bench/lifecycle.py [--runs N]
Needs a Docker engine, Compose v2 and the stand-in images (python tests/testbed/build.py).
Prints medians (seconds) and ratios for, in one run on the same rendered files:
  cold `inv start` to healthy      vs  `docker compose up -d --wait`
  no-op `inv start`                vs  no-op `docker compose up -d`
  `inv status`                     vs  `docker compose ps`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SETTINGS = """
project_name: jsbench
container_prefix: jsbench
network: {name: jsbench-network}
public_url: http://localhost:28443
ports: {http: 28443, jvb_media: 10210, jvb_colibri: 28080, jicofo_rest: 28888}
images: {repository: jitsi-stack-testbed, tag: good}
health: {interval: 2}
"""


def timed(argv: list[str], base: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=base, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from tests.testbed.build import ensure_images

    ensure_images()
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-") as scratch:
        base = Path(scratch)
        (base / "jitsi-stack.yml").write_text(SETTINGS)
        env = {**os.environ, "JITSI_STACK_ROOT": str(base)}
        inv = [sys.executable, "-m", "invoke", "-r", str(REPO)]
        raw = ["docker", "compose"]  # plain, in the project root: reads ./.env
        down = [*raw, "down", "--remove-orphans"]
        subprocess.run([*inv, "render"], cwd=base, env=env, check=True, capture_output=True)
        figures: dict[str, list[float]] = {
            k: []
            for k in (
                "cold inv start",
                "cold up -d --wait",
                "no-op inv start",
                "no-op up -d",
                "inv status",
                "compose ps",
            )
        }
        try:
            for _ in range(args.runs):
                subprocess.run(down, cwd=base, env=env, check=True, capture_output=True)
                figures["cold inv start"].append(timed([*inv, "start"], base, env))
                figures["no-op inv start"].append(timed([*inv, "start"], base, env))
                figures["inv status"].append(timed([*inv, "status"], base, env))
                subprocess.run(down, cwd=base, env=env, check=True, capture_output=True)
                figures["cold up -d --wait"].append(timed([*raw, "up", "-d", "--wait"], base, env))
                figures["no-op up -d"].append(timed([*raw, "up", "-d"], base, env))
                figures["compose ps"].append(timed([*raw, "ps"], base, env))
        finally:
            subprocess.run(
                [*inv, "clean", "--all", "--yes"],
                cwd=base,
                env=env,
                capture_output=True,
                check=False,
            )
    med = {k: statistics.median(v) for k, v in figures.items()}
    print(f"median of {args.runs} runs, testbed stack (4 services), seconds")
    for ours, theirs in (
        ("cold inv start", "cold up -d --wait"),
        ("no-op inv start", "no-op up -d"),
        ("inv status", "compose ps"),
    ):
        print(
            f"  {ours:<18} {med[ours]:7.2f}   {theirs:<20} {med[theirs]:7.2f}   "
            f"ratio x{med[ours] / med[theirs]:.2f}"
        )


if __name__ == "__main__":
    main()
