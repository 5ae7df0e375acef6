"""Benchmark the smoke checks: concurrent versus one-by-one wall time.

    python bench/smoke.py -n 5                      # the project's own deployment
    python bench/smoke.py --url https://meet.example.com --remote -n 5

Runs every check N times concurrently and N times one by one (alternating, after one
warm-up round) and prints the median wall time of the concurrent run, the slowest single
check's median latency (measured in the one-by-one runs, where checks do not compete), the
one-by-one median, and the ratios concurrent/slowest (1.0 = perfectly parallel) and
sequential/concurrent (the speed-up concurrency buys).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

try:
    from jitsi_stack import smoke
except ImportError:  # `python bench/smoke.py` from a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from jitsi_stack import smoke
from jitsi_stack.smoke.target import display


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--url",
        default="",
        help="public URL (default: the project's settings, "
        "JITSI_STACK_ROOT, with every local check)",
    )
    p.add_argument("-n", "--runs", type=int, default=5, help="runs per mode (default 5)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-check timeout, seconds")
    p.add_argument("--xmpp-domain", default="meet.jitsi")
    p.add_argument("--muc-domain", default="muc.meet.jitsi")
    p.add_argument("--anonymous-domain", default="meet.jitsi", help="'' when guests are off")
    p.add_argument("--remote", action="store_true", help="skip the jicofo/jvb loopback checks")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--only", action="append", choices=smoke.CHECK_NAMES, help="repeatable")
    p.add_argument("--no-warmup", action="store_true", help="skip the warm-up round")
    p.add_argument("--per-check", action="store_true", help="also print each check's medians")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    return p


def _timed(target: smoke.SmokeTarget, only: list[str] | None, concurrent: bool):
    started = time.perf_counter()
    results = smoke.run_checks(target, only=only, concurrent=concurrent)
    return (time.perf_counter() - started) * 1000, results


def _target_from_args(args) -> smoke.SmokeTarget:
    return smoke.SmokeTarget(
        public_url=args.url,
        xmpp_domain=args.xmpp_domain,
        muc_domain=args.muc_domain,
        anonymous_domain=args.anonymous_domain or None,
        jicofo_url=None if args.remote else "http://127.0.0.1:8888",
        jvb_url=None if args.remote else "http://127.0.0.1:8080",
        timeout=args.timeout,
        verify_tls=not args.insecure,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    if not args.url:
        from jitsi_stack.ops.stack import Stack
        from jitsi_stack.settings import project
        from jitsi_stack.smoke.target import from_deployment

        stack = Stack.load(project.root())
        target = from_deployment(stack.d, stack.compose, timeout=args.timeout)
    else:
        target = _target_from_args(args)
    if not args.no_warmup:
        _timed(target, args.only, concurrent=True)  # DNS, TLS session, JIT-ish server caches

    concurrent_wall: list[float] = []
    sequential_wall: list[float] = []
    isolated: dict[str, list[float]] = {}
    together: dict[str, list[float]] = {}
    last: list[smoke.CheckResult] = []
    for _ in range(args.runs):
        wall, last = _timed(target, args.only, concurrent=True)
        concurrent_wall.append(wall)
        for r in last:
            together.setdefault(r.name, []).append(r.latency_ms)
        wall, results = _timed(target, args.only, concurrent=False)
        sequential_wall.append(wall)
        for r in results:
            isolated.setdefault(r.name, []).append(r.latency_ms)

    per_check = {name: statistics.median(v) for name, v in isolated.items()}
    slowest = max(per_check, key=per_check.__getitem__)
    conc = statistics.median(concurrent_wall)
    seq = statistics.median(sequential_wall)
    numbers = {
        "url": display(target.public_url),
        "runs": args.runs,
        "checks": len(per_check),
        "concurrent_median_ms": round(conc, 1),
        "slowest_check": slowest,
        "slowest_check_median_ms": round(per_check[slowest], 1),
        "sequential_median_ms": round(seq, 1),
        "ratio_concurrent_to_slowest": round(conc / per_check[slowest], 2)
        if per_check[slowest]
        else None,
        "ratio_sequential_to_concurrent": round(seq / conc, 2) if conc else None,
        "statuses": {r.name: r.status for r in last},
    }
    if args.json:
        numbers["per_check_isolated_median_ms"] = {k: round(v, 1) for k, v in per_check.items()}
        numbers["per_check_concurrent_median_ms"] = {
            k: round(statistics.median(v), 1) for k, v in together.items()
        }
        print(json.dumps(numbers, indent=2))
        return 0

    def ratio(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    print(
        f"target {numbers['url']}: {numbers['checks']} checks, {args.runs} runs per mode, "
        f"timeout {args.timeout:g}s"
    )
    rows = [
        ("concurrent run, median wall time", f"{conc:9.1f} ms"),
        (f"slowest single check ({slowest}), median", f"{per_check[slowest]:9.1f} ms"),
        ("one-by-one run, median wall time", f"{seq:9.1f} ms"),
        (
            "ratio concurrent / slowest check",
            f"{ratio(numbers['ratio_concurrent_to_slowest']):>9}"
            "    (1.00 = as fast as the slowest check alone)",
        ),
        (
            "ratio one-by-one / concurrent",
            f"{ratio(numbers['ratio_sequential_to_concurrent']):>9}"
            "    (speed-up from running concurrently)",
        ),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label + ':':<{width}}{value}")
    if args.per_check:
        print("\nper check (median ms)      one-by-one  concurrent")
        for name in per_check:
            print(
                f"  {name:<24} {per_check[name]:10.1f}  {statistics.median(together[name]):10.1f}"
            )
    failed = [r.name for r in last if r.status == "fail"]
    if failed:
        print(
            f"\nnote: {', '.join(failed)} failed in the last run; a failing check is usually "
            "faster than a passing one, so these numbers describe a broken deployment."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
