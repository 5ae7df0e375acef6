"""Benchmark the Swarm stack: `inv swarm.deploy` (checks, render, secrets, deploy, wait until
every task runs its current spec, healthy) against a bare `docker stack deploy` of the same
stack file polled until converged the same way, in one run on a real two-node Swarm.

Usage: python bench/swarm.py [--runs N] [--json]
Needs root, a Docker engine, debootstrap and Debian's docker-registry (the node image and
the stand-in images are built once, then cached). A warm-up deploy pulls the images on
every node first, so both sides start from the same cached images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STACK = "jssw"


def settings(cl, repo: str) -> str:
    return f"""
project_name: {STACK}
container_prefix: {STACK}
network: {{name: {STACK}-platform}}
public_url: http://{cl.ip("jssw-n1")}:19961
ports: {{http: 19961, jvb_media: 39100}}
images: {{repository: {repo}, tag: swarm}}
health: {{timeout: 120, interval: 2}}
swarm:
  docker_host: {cl.docker_host}
  nodes: {{jssw-n1: [{cl.ip("jssw-n1")}], jssw-n2: [{cl.ip("jssw-n2")}]}}
"""


def inv(base: Path, *args: str) -> float:
    env = {"JITSI_STACK_ROOT": str(base), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
        cwd=base,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def bare(base: Path) -> float:
    """`docker stack deploy` of the rendered file (its secrets written for it), then the
    same convergence poll as `inv swarm.deploy`."""
    from jitsi_stack import swarm
    from jitsi_stack.docker import Runner
    from jitsi_stack.store import files, safefs
    from jitsi_stack.swarm import cluster as swarm_cluster

    s, d, values, v = swarm.load(base)
    for rel, value in swarm.secret_files(v, d, values).items():
        files.write_atomic(base, rel, value, mode=0o600)
    sw = swarm_cluster.client(s, Runner(), v.stack)
    argv = sw.argv("stack", "deploy", "--compose-file", str(base / swarm.STACK_FILE), STACK)
    start = time.perf_counter()
    try:
        subprocess.run(argv, check=True, capture_output=True)
        swarm_cluster.wait(s, sw, v, 300)
        return time.perf_counter() - start
    finally:
        safefs.safe_remove(base, base / swarm.SECRETS_DIR)


def empty_nodes(cl) -> None:
    """Wait until the nodes hold no task container (stack rm finishes on each node)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not any(cl.on(n, "ps", "-aq").stdout.split() for n in cl.nodes):
            return
        time.sleep(0.3)
    raise RuntimeError("task containers still there 60 s after swarm.rm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import tempfile

    from tests.support.swarm.cluster import Cluster
    from tests.testbed.build import ensure_images

    ensure_images()
    rows = []
    with Cluster() as cl:
        repo = cl.push_testbed()
        base = Path(tempfile.mkdtemp(prefix="jssw-bench-"))
        (base / "jitsi-stack.yml").write_text(settings(cl, repo))
        inv(base, "swarm.deploy")  # warm-up: every node pulls the images
        inv(base, "swarm.rm")
        empty_nodes(cl)
        for run in range(args.runs):
            order = ("inv", "bare") if run % 2 == 0 else ("bare", "inv")
            took = {}
            for side in order:
                took[side] = inv(base, "swarm.deploy") if side == "inv" else bare(base)
                inv(base, "swarm.rm")
                empty_nodes(cl)
            rows.append(took)
        setup = dict(cl.timings)
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    inv_s = statistics.median(r["inv"] for r in rows)
    bare_s = statistics.median(r["bare"] for r in rows)
    if args.json:
        print(
            json.dumps({"runs": rows, "median_inv": inv_s, "median_bare": bare_s, "setup": setup})
        )
        return 0
    print(f"Swarm stack to converged, 2 nodes, {args.runs} runs (seconds; setup {setup})")
    print(f"{'run':<8}{'inv swarm.deploy':>18}{'bare stack deploy':>19}{'ratio':>8}")
    for number, r in enumerate(rows, 1):
        print(f"{number:<8}{r['inv']:>18.2f}{r['bare']:>19.2f}{r['inv'] / r['bare']:>8.2f}")
    print(f"{'median':<8}{inv_s:>18.2f}{bare_s:>19.2f}{inv_s / bare_s:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
