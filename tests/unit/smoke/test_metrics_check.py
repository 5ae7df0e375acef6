"""The `metrics` smoke check's reading of Prometheus's /api/v1/targets (the shapes
Prometheus 2.x answers; the real one is exercised in tests/docker/test_metrics.py)."""

from __future__ import annotations

import json

from jitsi_stack.docker.engine import Result
from jitsi_stack.smoke.checks.metrics import check_metrics
from jitsi_stack.smoke.target import SmokeTarget
from jitsi_stack.smoke.xmpp import Deadline


def target_of(*answers: Result) -> tuple[SmokeTarget, list]:
    calls: list = []

    class Compose:
        def exec(self, service, *cmd, timeout=None, input=None):
            calls.append((service, cmd))
            return answers[min(len(calls), len(answers)) - 1]

    return SmokeTarget(
        "http://localhost:8443", compose=Compose(), prometheus_service="jitsi-prometheus"
    ), calls


def targets(*items: tuple[str, str, str]) -> Result:
    active = [
        {
            "labels": {"job": job, **({"bridge": bridge} if bridge else {})},
            "health": health,
            "lastError": "" if health == "up" else "connection refused",
            "scrapeUrl": f"http://jitsi-{bridge or job}:8080/metrics",
        }
        for job, bridge, health in items
    ]
    return Result(
        ("docker",), 0, json.dumps({"status": "success", "data": {"activeTargets": active}})
    )


UP = targets(
    ("jicofo", "", "up"), ("jvb", "jvb", "up"), ("jvb", "jvb2", "up"), ("prosody", "", "up")
)


def test_every_target_up_passes_and_names_them():
    target, calls = target_of(UP)
    outcome = check_metrics(target, Deadline(5))
    assert outcome.status == "pass"
    assert outcome.detail == "4 targets up: jicofo, jvb, jvb2, prosody"
    assert calls[0][0] == "jitsi-prometheus" and calls[0][1][0] == "wget"


def test_a_bridge_that_is_down_fails_naming_it():
    target, _ = target_of(targets(("jicofo", "", "up"), ("jvb", "jvb2", "down")))
    outcome = check_metrics(target, Deadline(5))
    assert outcome.status == "fail"
    assert outcome.detail == "jvb2 down: connection refused"
    assert "jitsi-jvb2:8080" in outcome.cause and outcome.fix.startswith("`inv logs jvb2`")


def test_not_scraped_yet_is_asked_again():
    first = targets(("jicofo", "", "unknown"), ("prosody", "", "up"))
    target, calls = target_of(first, UP)
    assert check_metrics(target, Deadline(10)).status == "pass"
    assert len(calls) == 2


def test_a_stopped_prometheus_and_a_strange_answer_fail():
    stopped = Result(("docker",), 1, "", 'service "jitsi-prometheus" is not running')
    outcome = check_metrics(target_of(stopped)[0], Deadline(5))
    assert outcome.status == "fail" and "not running" in outcome.cause
    outcome = check_metrics(target_of(Result(("docker",), 0, "<html>"))[0], Deadline(5))
    assert outcome.status == "fail" and "something else" in outcome.cause
    outcome = check_metrics(target_of(targets())[0], Deadline(5))
    assert outcome.status == "fail" and outcome.cause == "Prometheus scrapes nothing"


def test_skipped_without_metrics_or_compose():
    assert check_metrics(SmokeTarget("http://localhost:8443"), Deadline(5)).status == "skip"
    remote = SmokeTarget("https://meet.example.com", prometheus_service="jitsi-prometheus")
    assert check_metrics(remote, Deadline(5)).status == "skip"
