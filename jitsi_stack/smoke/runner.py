"""Run the checks concurrently, each bounded by target.timeout, results in CHECK_NAMES order."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from .checks.access import check_auth, check_turn
from .checks.host import (
    check_advertise_ips,
    check_jicofo_health,
    check_jvb_health,
    check_jvb_udp,
    check_prosody_health,
)
from .checks.metrics import check_metrics
from .checks.web import check_config_js, check_tls_cert, check_web
from .checks.xmpp import check_bosh, check_focus, check_websocket
from .explain import Outcome, explain, one_line
from .report import CheckResult
from .target import SmokeTarget, display, origin
from .xmpp import Deadline

TIMEOUT_GRACE = 0.25  # seconds a check may overrun its own deadline while reporting it

CHECKS: dict[str, Callable[[SmokeTarget, Deadline], Outcome]] = {
    "web": check_web,
    "config-js": check_config_js,
    "bosh": check_bosh,
    "websocket": check_websocket,
    "focus": check_focus,
    "jvb-health": check_jvb_health,
    "jicofo-health": check_jicofo_health,
    "prosody-health": check_prosody_health,
    "jvb-udp": check_jvb_udp,
    "advertise-ips": check_advertise_ips,
    "tls-cert": check_tls_cert,
    "auth": check_auth,
    "turn": check_turn,
    "metrics": check_metrics,
}
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
# Started first when run concurrently: the checks that wait on another process or a longer
# exchange, so the quick ones run in their shadow (results still come in CHECK_NAMES order).
SLOW_FIRST = ("prosody-health", "bosh", "focus", "websocket", "auth", "turn", "metrics")


def run_one(name: str, target: SmokeTarget) -> CheckResult:
    """One check, in the calling thread; every failure becomes a result, never an exception."""
    started = time.perf_counter()
    deadline = Deadline(target.timeout)
    try:
        outcome = CHECKS[name](target, deadline)
    except Exception as exc:
        outcome = explain(name, exc, target)
    latency = (time.perf_counter() - started) * 1000
    keep = outcome.status in ("warn", "fail")
    return CheckResult(
        name=name,
        status=outcome.status,
        latency_ms=round(latency, 1),
        detail=one_line(outcome.detail, 300),
        cause=outcome.cause if keep else "",
        fix=outcome.fix if keep else "",
    )


def _collect(name: str, future: Future, started: float, target: SmokeTarget) -> CheckResult:
    budget = started + target.timeout + TIMEOUT_GRACE - time.perf_counter()
    try:
        return future.result(timeout=max(0.0, budget))
    except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError since 3.11
        future.cancel()
        late = explain(name, TimeoutError(), target)
        return CheckResult(
            name=name,
            status="fail",
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            detail=f"no result within {target.timeout:g}s",
            cause=late.cause,
            fix=late.fix,
        )


def _select(only: list[str] | None) -> list[str]:
    if not only:
        return list(CHECK_NAMES)
    unknown = [n for n in only if n not in CHECKS]
    if unknown:
        raise ValueError(
            f"unknown check(s) {', '.join(unknown)}; choose from {', '.join(CHECK_NAMES)}"
        )
    wanted = set(only)
    return [n for n in CHECK_NAMES if n in wanted]


def run_checks(
    target: SmokeTarget, *, only: list[str] | None = None, concurrent: bool = True
) -> list[CheckResult]:
    """Run the selected checks (all by default) and return results in CHECK_NAMES order.

    Every check gets ``target.timeout`` seconds; one that overruns is reported as failed
    ("timed out after Ns") while its thread finishes in the background. Raises ValueError
    for an unknown check name or a public_url that is not an http(s) URL.
    """
    scheme, host, port = origin(target.public_url)
    if scheme not in ("http", "https") or not host or port < 1:
        raise ValueError(f"public_url must be an http(s) URL, got {display(target.public_url)}")
    names = _select(only)
    if not target.verify_tls:
        # the caller opted out of verification (tls-cert still reports it): no per-request noise
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    results: dict[str, CheckResult] = {}
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="smoke")
    try:
        if concurrent:
            order = sorted(names, key=lambda n: SLOW_FIRST.index(n) if n in SLOW_FIRST else 99)
            started = {n: (time.perf_counter(), pool.submit(run_one, n, target)) for n in order}
            for n, (t0, fut) in started.items():
                results[n] = _collect(n, fut, t0, target)
        else:
            for n in names:
                t0 = time.perf_counter()
                results[n] = _collect(n, pool.submit(run_one, n, target), t0, target)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [results[n] for n in names]
