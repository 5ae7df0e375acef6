"""Reporting: JSON, JUnit XML, the rich table, the verdict and the exit code."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from jitsi_stack.smoke import (
    CHECK_NAMES,
    CheckResult,
    exit_code,
    render_table,
    run_checks,
    to_json,
    verdict,
    write_junit,
)

from .helpers import free_port, local_target

SAMPLE = [
    CheckResult("web", "pass", 12.5, "HTTP 200, 5000 bytes"),
    CheckResult("config-js", "fail", 3.25, "websocket=wss://http://x", "the [bug]", "override"),
    CheckResult("advertise-ips", "warn", 0.1, "none", "media will fail", "set it"),
    CheckResult("tls-cert", "skip", 0.0, "plain http"),
]


def test_json_round_trips() -> None:
    text = to_json(SAMPLE)
    assert [CheckResult(**item) for item in json.loads(text)] == SAMPLE


def test_exit_code() -> None:
    assert exit_code(SAMPLE) == 1
    assert exit_code([r for r in SAMPLE if r.status != "fail"]) == 0
    assert exit_code([]) == 0


def test_verdict() -> None:
    assert verdict(SAMPLE) == "smoke: FAIL — 1 failed, 1 warned, 1 passed, 1 skipped"
    assert verdict(SAMPLE[2:3]) == "smoke: PASS with warnings — 0 failed, 1 warned, 0 passed"
    assert verdict(SAMPLE[:1]) == "smoke: PASS — 0 failed, 0 warned, 1 passed"


def test_junit_lists_every_check(tmp_path: Path) -> None:
    results = run_checks(local_target(f"http://127.0.0.1:{free_port()}"))
    path = tmp_path / "reports" / "smoke.xml"
    write_junit(results + SAMPLE[2:3], path)
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [*CHECK_NAMES, "advertise-ips"]
    assert int(suite.get("tests", "0")) == len(cases)
    for case, result in zip(cases, [*results, SAMPLE[2]], strict=True):
        failure, skipped = case.find("failure"), case.find("skipped")
        assert (failure is not None) == (result.status == "fail")
        assert (skipped is not None) == (result.status == "skip")
        if result.status == "warn":
            assert "WARN" in (case.findtext("system-out") or "")
            assert result.fix in (case.findtext("system-out") or "")
        if failure is not None:
            assert failure.get("message") == result.cause
    assert int(suite.get("failures", "0")) == sum(r.status == "fail" for r in results)
    assert any(r.status == "fail" for r in results)  # nothing listens: the fail path is covered


def test_render_table_prints_causes_and_verdict() -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    render_table(SAMPLE, console=console)
    text = console.export_text()
    for name in ("web", "config-js", "advertise-ips", "tls-cert"):
        assert name in text
    assert "cause: the [bug]" in text  # markup characters are printed, not interpreted
    assert "fix: override" in text
    assert "cause: media will fail" in text
    assert "smoke: FAIL — 1 failed, 1 warned, 1 passed, 1 skipped" in text
