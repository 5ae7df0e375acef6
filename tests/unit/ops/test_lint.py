"""`nox -s lint` passes on the repo's settings and fails, with the rule's message, on each
broken settings file under tests/lint_cases/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jitsi_stack.ops import lint
from tests.support.project import REPO, clean_environ

CASES = sorted((Path(__file__).resolve().parents[2] / "data" / "lint_cases").glob("*.yml"))
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))


def expected(path: Path, use_compose: bool) -> str:
    """The words the file's failure must contain: `# expect:`, or `# expect-schema:` when
    the compose files are checked against the JSON schema (no Compose v2 here)."""
    text = path.read_text(encoding="utf-8")
    match = (not use_compose and re.search(r"^# expect-schema: (.+)$", text, re.M)) or re.search(
        r"^# expect: (.+)$", text, re.M
    )
    assert match, f"{path.name} has no '# expect:' line"
    return match.group(1).strip()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_settings_fail_with_the_rule(case):
    problems, _ = lint.lint_file(case, use_compose=False)
    assert problems, f"{case.name} passed lint"
    assert any(expected(case, False) in p for p in problems), problems


@pytest.mark.docker
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_settings_fail_with_the_rule_under_compose(case):
    problems, _ = lint.lint_file(case, use_compose=True)
    assert any(expected(case, True) in p for p in problems), problems


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_shipped_examples_render_strictly(example):
    problems, warnings = lint.lint_file(example, use_compose=False)
    assert problems == []


def test_defaults_pass():
    assert lint.lint_file(None, use_compose=False)[0] == []


def test_private_only_advertise_ips_are_an_error_in_production(tmp_path):
    settings = tmp_path / "jitsi-stack.yml"
    settings.write_text(
        "public_url: https://meet.example.com\nhttps: {enabled: true}\n"
        "jvb: {advertise_ips: [192.168.1.10]}\n"
    )
    problems, warnings = lint.lint_file(settings, use_compose=False)
    assert any("only private addresses" in p for p in problems)  # production: an error


def test_schema_fallback_without_compose():
    """Without Compose v2 the compose files are checked against the compose JSON schema."""
    for example in EXAMPLES:
        assert lint.lint_file(example, use_compose=False)[0] == []
    broken = Path(__file__).resolve().parents[2] / "data" / "lint_cases" / "bad-extra-compose.yml"
    problems, _ = lint.lint_file(broken, use_compose=False)
    assert any("compose schema: services.backend.image" in p for p in problems), problems


def test_settings_reference_is_current():
    proc = subprocess.run(
        [sys.executable, "tools/gen_settings_doc.py", "--check"],
        cwd=REPO,
        env=clean_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


def test_nox_lint_session_fails_on_every_broken_file():
    """The real session, with the broken files as its arguments."""
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "settings", "--", *[str(c) for c in CASES]],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env=clean_environ(),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for case in CASES:
        assert expected(case, True) in output or expected(case, False) in output, case.name
    assert f"0 of {len(CASES)} settings file(s) pass" in output


def test_upstream_table_is_current():
    proc = subprocess.run(
        [sys.executable, "tools/gen_upstream.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
