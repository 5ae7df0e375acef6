"""Results and how they are shown: a rich table, JSON, JUnit XML, a verdict, an exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATUSES = ("pass", "warn", "fail", "skip")
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@dataclass
class CheckResult:
    name: str  # stable id, one of CHECK_NAMES
    status: str  # "pass" | "warn" | "fail" | "skip"
    latency_ms: float
    detail: str  # one line: what was seen
    cause: str = ""  # for warn/fail: the likely cause
    fix: str = ""  # for warn/fail: what to do


def verdict(results: list[CheckResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    word = "FAIL" if counts["fail"] else ("PASS with warnings" if counts["warn"] else "PASS")
    parts = [f"{counts['fail']} failed", f"{counts['warn']} warned", f"{counts['pass']} passed"]
    if counts["skip"]:
        parts.append(f"{counts['skip']} skipped")
    return f"smoke: {word} — {', '.join(parts)}"


def render_table(results: list[CheckResult], console: Any = None) -> None:
    """Print a rich table (check, result, latency, detail / cause + fix) and a verdict line."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    table = Table(title="jitsi-stack smoke checks", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("detail / cause + fix", overflow="fold")
    for r in results:
        info = Text(r.detail)
        if r.status in ("warn", "fail"):
            if r.cause:
                info.append("\ncause: ", style="bold").append(r.cause)
            if r.fix:
                info.append("\nfix: ", style="bold").append(r.fix)
        table.add_row(
            r.name,
            Text(r.status.upper(), style=_STYLE.get(r.status, "")),
            f"{r.latency_ms:.0f} ms",
            info,
        )
    console.print(table)
    failed = any(r.status == "fail" for r in results)
    warned = any(r.status == "warn" for r in results)
    style = "bold red" if failed else ("yellow" if warned else "bold green")
    console.print(Text(verdict(results), style=style))


def to_json(results: list[CheckResult]) -> str:
    """A JSON list of result objects; ``CheckResult(**item)`` rebuilds each one."""
    return json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False)


def write_junit(results: list[CheckResult], path: str | Path) -> None:
    """JUnit XML: one <testcase> per check; fail -> <failure>, skip -> <skipped>.

    A warning counts as passed and carries its cause and fix in <system-out>.
    """
    suite = ET.Element(
        "testsuite",
        {
            "name": "jitsi-stack smoke",
            "tests": str(len(results)),
            "failures": str(sum(r.status == "fail" for r in results)),
            "errors": "0",
            "skipped": str(sum(r.status == "skip" for r in results)),
            "time": f"{sum(r.latency_ms for r in results) / 1000:.3f}",
        },
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": "jitsi_stack.smoke",
                "name": r.name,
                "time": f"{r.latency_ms / 1000:.3f}",
            },
        )
        if r.status == "fail":
            failure = ET.SubElement(
                case, "failure", {"message": r.cause or r.detail, "type": "fail"}
            )
            failure.text = f"{r.detail}\ncause: {r.cause}\nfix: {r.fix}"
        elif r.status == "skip":
            ET.SubElement(case, "skipped", {"message": r.detail})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (
                f"WARN: {r.detail}\ncause: {r.cause}\nfix: {r.fix}"
                if r.status == "warn"
                else r.detail
            )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def exit_code(results: list[CheckResult]) -> int:
    """1 if any check failed, else 0 (warnings and skips do not fail the run)."""
    return 1 if any(r.status == "fail" for r in results) else 0
