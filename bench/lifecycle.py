"""Benchmark the lifecycle tasks against the raw `docker compose` commands, on the testbed.

Usage: python bench/lifecycle.py [--runs N] [--json]
Needs a Docker engine, Compose v2 and the stand-in images (nox -s testbed).
Prints medians (seconds) and ratios, in one run on the same rendered files:
  cold `inv start` to healthy          vs  `docker compose up -d --wait`
  no-op `inv start`                    vs  no-op `docker compose up -d`
  `inv status`, `jitsi-stack status`   vs  `docker compose ps`
  `inv update --tag broken` (rolls back by itself): seconds past health.timeout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.support.project import stand_in_settings  # noqa: E402 - after the path

HEALTH_TIMEOUT = 30
SETTINGS = stand_in_settings("jsbench", 28443, 10210, 28080, 28888, timeout=HEALTH_TIMEOUT)


def timed(argv: list[str], base: Path, env: dict, check: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=base, env=env, check=check, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.testbed.build import ensure_images

    ensure_images()
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-") as scratch:
        base = Path(scratch)
        (base / "jitsi-stack.yml").write_text(SETTINGS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
        env["JITSI_STACK_ROOT"] = str(base)
        inv = [sys.executable, "-m", "invoke", "-r", str(REPO)]
        cli = [sys.executable, "-m", "jitsi_stack"]
        raw = ["docker", "compose"]  # plain, in the project root: reads ./.env
        down = [*raw, "down", "--remove-orphans"]
        subprocess.run([*inv, "render"], cwd=base, env=env, check=True, capture_output=True)
        names = (
            "cold inv start",
            "cold up -d --wait",
            "no-op inv start",
            "no-op up -d",
            "inv status",
            "jitsi-stack status",
            "compose ps",
            "broken update, past timeout",
        )
        figures: dict[str, list[float]] = {k: [] for k in names}
        try:
            for _ in range(args.runs):
                subprocess.run(down, cwd=base, env=env, check=True, capture_output=True)
                figures["cold inv start"].append(timed([*inv, "start"], base, env))
                for _ in range(3):
                    figures["no-op inv start"].append(timed([*inv, "start"], base, env))
                    figures["no-op up -d"].append(timed([*raw, "up", "-d"], base, env))
                    figures["inv status"].append(timed([*inv, "status"], base, env))
                    figures["jitsi-stack status"].append(timed([*cli, "status"], base, env))
                    figures["compose ps"].append(timed([*raw, "ps"], base, env))
                subprocess.run(down, cwd=base, env=env, check=True, capture_output=True)
                figures["cold up -d --wait"].append(timed([*raw, "up", "-d", "--wait"], base, env))
            subprocess.run([*inv, "start"], cwd=base, env=env, check=True, capture_output=True)
            took = timed([*inv, "update", "--tag", "broken"], base, env, check=False)
            figures["broken update, past timeout"].append(took - HEALTH_TIMEOUT)
        finally:
            subprocess.run(
                [*inv, "clean", "--all", "--yes"],
                cwd=base,
                env=env,
                capture_output=True,
                check=False,
            )
    med = {k: statistics.median(v) for k, v in figures.items()}
    pairs = (
        ("cold inv start", "cold up -d --wait"),
        ("no-op inv start", "no-op up -d"),
        ("inv status", "compose ps"),
        ("jitsi-stack status", "compose ps"),
    )
    if args.json:
        print(
            json.dumps(
                {"median_s": med, "ratios": {a: med[a] / med[b] for a, b in pairs}}, indent=2
            )
        )
        return
    print(
        f"median of {args.runs} runs (status and no-op start: {3 * args.runs}), "
        "testbed stack (4 services), seconds"
    )
    for ours, theirs in pairs:
        print(
            f"  {ours:<20} {med[ours]:7.3f}   {theirs:<20} {med[theirs]:7.3f}   "
            f"ratio x{med[ours] / med[theirs]:.2f}"
        )
    print(
        f"  a broken update (health.timeout {HEALTH_TIMEOUT}s) was rolled back and healthy "
        f"{med['broken update, past timeout']:.1f}s after the timeout"
    )


if __name__ == "__main__":
    main()
