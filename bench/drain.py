"""Benchmark: the drain protocol's cost with nothing to drain, rolling N = 1, 2, 4 bridges.

Usage: python bench/drain.py [--runs N] [--counts 1,2,4]   (needs the testbed images)

For each N, one testbed stack (project jsdrainb, host ports 24500-24599, UDP 12450-12499)
with jvb.count N and no call, then, alternately in the same run:

- `inv restart jvb`: per bridge, drain (POST /colibri/drain/enable, read /metrics: 0
  endpoints), `docker compose up -d --force-recreate --no-deps` of it, wait for its health;
- raw, one at a time: the same `docker compose up -d --force-recreate --no-deps BRIDGE` and
  a wait for Docker's health status `healthy` (docker inspect every 0.2 s), bridge by bridge;
- raw, all at once: one `docker compose up -d --force-recreate --no-deps` of every bridge and
  the same wait (what a restart without drain would do).

Prints the median seconds of each, the ratio of `inv restart jvb` to the raw one-at-a-time
roll (the target: at most 1.2, the health waits being the same), and the drain's own share
(the seconds between the first and the last "drained" line of each bridge, from the task's
output).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.docker.test_drain import own_tags  # noqa: E402
from tests.support.project import clean_environ, force_down, stand_in_settings  # noqa: E402

PROJECT = "jsdrainb"
TAG = "jsdrainb"  # the testbed images, the bridge from this tree's stand-in
HTTP, MEDIA, COLIBRI, JICOFO = 24543, 12450, 24580, 24598


def inv(base: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_environ(JITSI_STACK_ROOT=str(base))
    return subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def compose(base: Path, *args: str) -> None:
    subprocess.run(
        ["docker", "compose", "--project-directory", str(base), "-p", PROJECT, *args],
        cwd=base,
        env=clean_environ(),
        capture_output=True,
        check=True,
    )


def healthy(containers: list[str]) -> bool:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Health.Status}}", *containers],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return len(out) == len(containers) and all(s == "healthy" for s in out)


def wait_healthy(containers: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(containers):
        if time.monotonic() > deadline:
            raise SystemExit(f"not healthy after {timeout}s: {containers}")
        time.sleep(0.2)


def names(count: int) -> list[tuple[str, str]]:
    """(compose service, container) of each bridge."""
    return [
        (f"jitsi-jvb{'' if n == 1 else n}", f"{PROJECT}-jvb{'' if n == 1 else n}")
        for n in range(1, count + 1)
    ]


def raw_one_at_a_time(base: Path, count: int) -> float:
    start = time.monotonic()
    for service, container in names(count):
        compose(base, "up", "-d", "--force-recreate", "--no-deps", service)
        wait_healthy([container])
    return time.monotonic() - start


def raw_all(base: Path, count: int) -> float:
    bridges = names(count)
    start = time.monotonic()
    compose(base, "up", "-d", "--force-recreate", "--no-deps", *(s for s, _ in bridges))
    wait_healthy([c for _, c in bridges])
    return time.monotonic() - start


def drained(base: Path, count: int) -> tuple[float, float]:
    """(seconds of `inv restart jvb`, seconds the drain lines report in total)."""
    start = time.monotonic()
    proc = inv(base, "restart", "jvb")
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"inv restart jvb failed:\n{proc.stderr}")
    spent = [float(s) for s in re.findall(r": drained after ([\d.]+)s", proc.stderr)]
    if len(spent) != count:
        raise SystemExit(f"expected {count} drained lines:\n{proc.stderr}")
    return seconds, sum(spent)


def show(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--counts", default="1,2,4")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    made = own_tags(TAG)
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-drain-") as scratch:
            base = Path(scratch)
            (base / "jitsi-stack.yml").write_text(
                stand_in_settings(PROJECT, HTTP, MEDIA, COLIBRI, JICOFO).replace(
                    "tag: good", f"tag: {TAG}"
                )
                + f"jvb: {{count: {count}}}\n",
                encoding="utf-8",
            )
            force_down(PROJECT)
            try:
                proc = inv(base, "start")
                if proc.returncode != 0:
                    raise SystemExit(f"inv start failed:\n{proc.stderr}")
                rolls, plain, together, drains = [], [], [], []
                for _ in range(args.runs):  # alternate, so drift hits all three alike
                    seconds, spent = drained(base, count)
                    rolls.append(seconds)
                    drains.append(spent)
                    plain.append(raw_one_at_a_time(base, count))
                    together.append(raw_all(base, count))
            finally:
                inv(base, "clean", "--all", "--yes")
                force_down(PROJECT)
        roll, raw, at_once = (statistics.median(x) for x in (rolls, plain, together))
        rows.append((count, roll, raw, at_once, statistics.median(drains)))
        print(
            f"N={count}: inv restart jvb {show(rolls)}, raw one at a time {show(plain)}, "
            f"raw all at once {show(together)}, drain lines {show(drains)}",
            flush=True,
        )
    subprocess.run(["docker", "image", "rm", *made], capture_output=True, check=False)
    print(f"\nmedian of {args.runs} runs, seconds")
    print("bridges  inv restart jvb  raw one at a time  ratio  raw all at once  drain share")
    for count, roll, raw, at_once, share in rows:
        verdict = "ok" if roll / raw <= 1.2 else "ABOVE 1.2"
        print(
            f"{count:>7}  {roll:>15.2f}  {raw:>17.2f}  {roll / raw:>5.2f}  {at_once:>15.2f}  "
            f"{share:>11.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
