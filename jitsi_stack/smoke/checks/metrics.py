"""metrics: every target Prometheus scrapes is up (metrics.enabled).

Asks Prometheus's own API from inside its container (`docker exec ... wget`), so it works
when Prometheus is not published. A target it has not scraped yet ("unknown", right after
a start) is asked again until the check's deadline.
"""

from __future__ import annotations

import json
import time

from ..explain import Outcome, one_line
from ..target import SmokeTarget
from ..xmpp import Deadline

TARGETS = "http://127.0.0.1:9090/api/v1/targets?state=active"


def _targets(target: SmokeTarget, deadline: Deadline) -> list[dict] | Outcome:
    svc = target.prometheus_service
    logs = f"`inv logs {svc}`"
    if target.compose is None:
        return Outcome("skip", "no compose project (remote deployment)")
    result = target.compose.exec(
        svc, "wget", "-q", "-O", "-", TARGETS, timeout=deadline.left("asking Prometheus")
    )
    if not result.ok:
        text = one_line(f"{result.stdout} {result.stderr}", 120)
        if "not running" in text.lower():
            return Outcome(
                "fail", text, f"the {svc} container is not running", f"`inv start`; {logs}"
            )
        return Outcome(
            "fail", f"exit {result.returncode}: {text}", "Prometheus does not answer", logs
        )
    try:
        return json.loads(result.stdout)["data"]["activeTargets"]
    except (ValueError, KeyError, TypeError):
        return Outcome(
            "fail", one_line(result.stdout, 120), "Prometheus answered something else", logs
        )


def _name(t: dict) -> str:
    """The job, or for a bridge its name (jvb, jvb2, ...)."""
    labels = t.get("labels") or {}
    return labels.get("bridge") or labels.get("job", "?")


def check_metrics(target: SmokeTarget, deadline: Deadline) -> Outcome:
    if not target.prometheus_service:
        return Outcome("skip", "metrics not enabled")
    while True:
        found = _targets(target, deadline)
        if isinstance(found, Outcome):
            return found
        pending = [t for t in found if t.get("health") == "unknown"]
        if not pending or deadline.left("waiting for Prometheus's first scrape") < 2:
            break
        time.sleep(1)
    if not found:
        fix = "`inv render`, then `inv restart prometheus`"
        return Outcome("fail", "no target", "Prometheus scrapes nothing", fix)
    down = [t for t in found if t.get("health") != "up"]
    if down:
        detail = ", ".join(
            f"{_name(t)} {t.get('health')}: {one_line(t.get('lastError') or '-', 60)}" for t in down
        )
        cause = f"Prometheus cannot scrape {_name(down[0])} ({down[0].get('scrapeUrl', '')})"
        return Outcome("fail", detail, cause, f"`inv logs {_name(down[0])}`; `inv status`")
    return Outcome("pass", f"{len(found)} targets up: {', '.join(sorted(map(_name, found)))}")
