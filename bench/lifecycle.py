"""Benchmark the lifecycle tasks against the raw `docker compose` commands, on the testbed.

Usage: python bench/lifecycle.py [--runs N] [--json] [--source]
Needs a Docker engine, Compose v2 and the stand-in images (nox -s testbed).
Prints medians (seconds) and ratios, in one run on the same rendered files:
  cold `inv start` to healthy          vs  `docker compose up -d --wait`
  no-op `inv start`                    vs  no-op `docker compose up -d`
  `inv status`, `jitsi-stack status`   vs  `docker compose ps`
  `inv update --tag broken` (rolls back by itself): seconds past health.timeout
  Invoke's own floor: `inv` on an empty tasks.py, vs `docker compose ps`

The package's bytecode is compiled first (as pip does when it installs the wheel, and as
Python does on a checkout's first run): with PYTHONDONTWRITEBYTECODE set and no
__pycache__, every run would compile the package from source, which no operator's run
does. --source skips that, to measure the worst case.
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
    parser.add_argument("--source", action="store_true", help="do not compile the bytecode")
    args = parser.parse_args()
    from tests.testbed.build import ensure_images

    ensure_images()
    if not args.source:
        import compileall

        compileall.compile_dir(REPO / "jitsi_stack", quiet=1)
        compileall.compile_file(REPO / "tasks.py", quiet=1)
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-") as scratch:
        base = Path(scratch)
        (base / "jitsi-stack.yml").write_text(SETTINGS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
        env["JITSI_STACK_ROOT"] = str(base)
        inv = [sys.executable, "-m", "invoke", "-r", str(REPO)]
        cli = [sys.executable, "-m", "jitsi_stack"]
        raw = ["docker", "compose"]  # plain, in the project root: reads ./.env
        empty = base / "invoke-floor"  # Invoke's own cost: its import, one empty task
        empty.mkdir()
        (empty / "tasks.py").write_text(
            "from invoke import task\n\n\n@task\ndef status(c):\n    pass\n"
        )
        floor = [sys.executable, "-m", "invoke", "-r", str(empty), "status"]
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
            "inv, empty tasks.py",
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
                    figures["inv, empty tasks.py"].append(timed(floor, base, env))
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
        ("inv, empty tasks.py", "compose ps"),
    )
    if args.json:
        print(
            json.dumps(
                {
                    "median_s": med,
                    "ratios": {a: med[a] / med[b] for a, b in pairs},
                    "samples_s": figures,
                },
                indent=2,
            )
        )
        return
    print(
        f"median of {args.runs} runs (status and no-op start: {3 * args.runs}), "
        f"testbed stack (4 services), seconds, bytecode "
        f"{'not compiled (--source)' if args.source else 'compiled'}"
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
