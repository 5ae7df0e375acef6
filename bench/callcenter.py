"""Benchmark the call-center tasks on the testbed (real prosody, real coturn).

Usage: python bench/callcenter.py [--agents N] [--baseline M] [--json]
Needs a Docker engine, Compose v2 and the stand-in images (nox -s testbed).
Prints, in one run on one stack:
  `inv users.import` of N agents (one CSV)        vs  M x the raw way the upstream handbook
                                                      gives: `docker compose exec prosody
                                                      prosodyctl register NAME DOMAIN PASSWORD`
                                                      (per agent; the ratio is per agent)
  one TURN allocation per transport (udp, tcp, tls) with credentials prosody handed out,
  and the whole smoke `turn` check, vs a `docker compose ps` in the same run
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

PROJECT = "jsbenchcc"
PORT = 29643
SETTINGS = (
    stand_in_settings(
        PROJECT,
        29680,
        29610,
        29681,
        29688,
        https=PORT,
        images={"coturn": '"jitsi-stack-testbed/coturn:good"'},
    )
    + """
auth: {enabled: true, type: internal, guests: true}
turn: {enabled: true, host: localhost, port: 29678, tls_port: 29649, relay_min: 29650,
        relay_max: 29659}
"""
)


def timed(argv: list[str], base: Path, env: dict, stdin: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=base, env=env, check=True, capture_output=True, input=stdin, text=True)
    return time.perf_counter() - start


def allocations(base: Path, ca: Path) -> dict[str, float]:
    """Seconds per TURN allocation, by transport, as the smoke check makes them."""
    import asyncio
    import dataclasses

    from jitsi_stack.smoke.checks.access import _allocate, _label, _login_for_services
    from jitsi_stack.smoke.target import from_deployment
    from jitsi_stack.smoke.xmpp import Deadline
    from tests.support.project import deployment

    target = dataclasses.replace(
        from_deployment(deployment(base), None, cafile=str(ca)), anonymous_domain="guest.meet.jitsi"
    )
    client = _login_for_services(target, Deadline(10))
    try:
        entries = [e for e in client.external_services() if e.get("type") in ("turn", "turns")]
    finally:
        client.terminate()
    seconds = {}
    for entry in entries:
        start = time.perf_counter()
        asyncio.run(_allocate(entry, 10, target))
        seconds[_label(entry).rsplit("/", 1)[-1]] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.docker.test_callcenter import make_ca_and_leaf
    from tests.testbed.build import ensure_images

    ensure_images()
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-cc-") as scratch:
        base = Path(scratch)
        ca = make_ca_and_leaf(base / "certs")
        (base / "jitsi-stack.yml").write_text(SETTINGS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
        env["JITSI_STACK_ROOT"] = str(base)
        inv = [sys.executable, "-m", "invoke", "-r", str(REPO)]
        raw = ["docker", "compose"]
        try:
            subprocess.run([*inv, "start"], cwd=base, env=env, check=True, capture_output=True)
            csv = base / "agents.csv"
            lines = ["name,password"] + [
                f"agent{i:05d},Bench-pass-{i:05d}" for i in range(args.agents)
            ]
            csv.write_text("\n".join(lines) + "\n")
            imported = timed([*inv, "users.import", str(csv)], base, env)
            again = timed([*inv, "users.import", str(csv)], base, env)  # all exist: idempotent
            per_raw = []
            for i in range(args.baseline):
                argv = [*raw, "exec", "-T", "jitsi-prosody", "prosodyctl", "--config",
                        "/run/prosody/config/prosody.cfg.lua", "register", f"raw{i:04d}",
                        "meet.jitsi", f"Raw-pass-{i:04d}"]  # fmt: skip
                per_raw.append(timed(argv, base, env))
            ps = statistics.median(timed([*raw, "ps"], base, env) for _ in range(5))
            turn = allocations(base, ca)
            smoke = []
            for _ in range(3):
                out = subprocess.run(
                    [*inv, "smoke", "--json", "--only", "turn", "--cafile", str(ca)],
                    cwd=base, env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                smoke.append(json.loads(out.stdout)[0]["latency_ms"] / 1000)
        finally:
            subprocess.run([*inv, "clean", "--all", "--yes"], cwd=base, env=env,
                           capture_output=True, check=False)  # fmt: skip
    raw_each = statistics.median(per_raw)
    ours_each = imported / args.agents
    figures = {
        "agents": args.agents,
        "users.import seconds": round(imported, 2),
        "users.import again (all exist) seconds": round(again, 2),
        "per agent, users.import ms": round(ours_each * 1000, 2),
        "per agent, raw compose exec prosodyctl register ms": round(raw_each * 1000, 1),
        "ratio per agent (ours / raw)": round(ours_each / raw_each, 3),
        "turn allocation ms": {k: round(v * 1000, 1) for k, v in turn.items()},
        "smoke turn check ms (median)": round(statistics.median(smoke) * 1000, 1),
        "compose ps ms (median)": round(ps * 1000, 1),
        "smoke turn / compose ps": round(statistics.median(smoke) / ps, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:55} {value}")


if __name__ == "__main__":
    main()
