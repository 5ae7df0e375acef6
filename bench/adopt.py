"""Benchmark `jitsi-stack adopt` against `docker compose config` reading the same .env.

Usage: python bench/adopt.py [--runs R] [--json]
Two files: the fixture (tests/data/adopt/docker-jitsi-meet.env, 33 variables) and one of
500 variables (the fixture, every upstream variable `env:` takes with a value the rules
accept, then names no service reads). Each run copies a docker-jitsi-meet-shaped folder
(the .env, CONFIG=./cfg with prosody's data) and a new project folder, then times:
  `jitsi-stack adopt FILE` (the whole command: read, map, rules, Docker's container list,
  the rename, the writes)  vs  `docker compose config --environment` on the same .env
  (Compose reading the file: the raw command that does the least of the same work).
Prints medians (seconds) and the ratio; the goal is each adopt under one second.
"""

from __future__ import annotations

import argparse
import json
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

FIXTURE = REPO / "tests" / "data" / "adopt" / "docker-jitsi-meet.env"


def five_hundred() -> str:
    from jitsi_stack.errors import StackError
    from jitsi_stack.ops import adopt
    from jitsi_stack.settings.rules import DOMAIN_VARS
    from jitsi_stack.settings.upstream import variables

    text = FIXTURE.read_text()
    given = {
        line.split("=", 1)[0]
        for line in text.splitlines()
        if "=" in line and not line.startswith("#")
    }
    lines = []
    for name in sorted(variables()):
        target, _ = adopt.destination(name)
        if name in given or not target.startswith("env."):
            continue
        value = "x.meet.jitsi" if name in DOMAIN_VARS else "1"
        lines.append(f"{name}={value}")
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "docker-jitsi-meet" / ".env"
        (env.parent / "cfg").mkdir(parents=True)
        keep = []
        for line in lines:  # only what the rules take, as an operator's working file
            env.write_text(text + "\n".join([*keep, line]) + "\n")
            try:
                adopt.plan(env, Path(tmp) / "project")
            except StackError:
                continue  # a value the rules refuse: left out
            keep.append(line)
    count = len(given) + len(keep)
    extra = [f"SITE_NOTE_{i:03d}=kept by the operator {i}" for i in range(max(0, 500 - count))]
    return text + "\n".join([*keep, *extra]) + "\n"


def layout(base: Path, text: str) -> tuple[Path, Path]:
    old = base / "docker-jitsi-meet"
    data = old / "cfg" / "storage" / "prosody" / "data" / "meet%2ejitsi" / "accounts"
    data.mkdir(parents=True)
    (data / "agent1.dat").write_text('return {\n\t["password"] = "x";\n};\n')
    (old / ".env").write_text(text)
    (old / "compose.yml").write_text("services: {probe: {image: busybox}}\n")
    root = base / "project"
    root.mkdir()
    return old / ".env", root


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr[-500:]}")
    return took


def measure(text: str, runs: int) -> dict[str, float]:
    tool = shutil.which("jitsi-stack") or str(Path(sys.executable).parent / "jitsi-stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
    ours, theirs = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env_file, root = layout(Path(tmp), text)
            ours.append(
                timed([tool, "adopt", str(env_file)], root, {**env, "JITSI_STACK_ROOT": str(root)})
            )
            theirs.append(
                timed(
                    ["docker", "compose", "-p", "jsadoptbench", "config", "--environment"],
                    env_file.parent,
                    env,
                )
            )
    a, b = statistics.median(ours), statistics.median(theirs)
    return {"adopt_s": round(a, 3), "compose_config_s": round(b, 3), "ratio": round(a / b, 2)}


def variables_in(text: str) -> int:
    return sum(1 for ln in text.splitlines() if "=" in ln and not ln.startswith("#"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    big = five_hundred()
    fixture = FIXTURE.read_text()
    results = {
        f"fixture ({variables_in(fixture)} variables)": measure(fixture, args.runs),
        f"{variables_in(big)} variables": measure(big, args.runs),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'file':<26} {'adopt (s)':>10} {'compose config (s)':>19} {'ratio':>6}")
    for name, row in results.items():
        print(f"{name:<26} {row['adopt_s']:>10} {row['compose_config_s']:>19} {row['ratio']:>6}")
    slow = [name for name, row in results.items() if row["adopt_s"] >= 1.0]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
