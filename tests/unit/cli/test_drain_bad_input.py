"""Bad jvb.drain_timeout and jvb.drain_on_timeout, through the same harness as
test_bad_input: one error line naming the setting and the fix, exit 2, no secret in the
output, nothing changed on disk; for each task that drains (update, restart, stop reads
what was rendered, so start and render stand for it)."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import pytest

from tests.support.project import FIXED_SECRETS, run_cli, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input import SECRET, Case, _copy

RANGE = "seconds: use 1 to 86400 (jvb's graceful-shutdown-max-duration, 24 hours)"
CASES = [
    Case("negative", "jvb: {drain_timeout: -1}\n"),
    Case("zero", "jvb: {drain_timeout: 0}\n", argv=("start",)),
    Case("above-a-day", "jvb: {drain_timeout: 86401}\n"),
    Case("huge", "jvb: {drain_timeout: 99999999999999999999999}\n", argv=("restart", "jvb")),
    Case("text", "jvb: {drain_timeout: soon}\n", argv=("update",)),
    Case("bool", "jvb: {drain_timeout: true}\n"),
    Case("fraction", "jvb: {drain_timeout: 1.5}\n", argv=("start",)),
    Case("env-exponent", "", env={"JITSI_STACK_JVB__DRAIN_TIMEOUT": "1e9"}),
    Case("choice", "jvb: {drain_on_timeout: wait}\n", argv=("restart",)),
    Case("choice-list", "jvb: {drain_on_timeout: [stop]}\n"),
    Case("choice-case", "", env={"JITSI_STACK_JVB__DRAIN_ON_TIMEOUT": "Stop"}, argv=("update",)),
]
EXPECTED = {
    "negative": "error: jvb.drain_timeout: -1 must be greater than 0",
    "zero": "error: jvb.drain_timeout: 0 must be greater than 0",
    "above-a-day": f"error: jvb.drain_timeout: 86401 {RANGE}",
    "huge": f"error: jvb.drain_timeout: 99999999999999999999999 {RANGE}",
    "text": "error: jvb.drain_timeout: 'soon' is not a whole number: write a number like 900",
    "bool": "error: jvb.drain_timeout: true is not a whole number: write a number like 900",
    "fraction": "error: jvb.drain_timeout: 1.5 is not a whole number: write a number like 900",
    "env-exponent": "error: jvb.drain_timeout: '1e9' is not a whole number: write a number like 900",
    "choice": "error: jvb.drain_on_timeout: unknown value 'wait': use one of continue, stop",
    "choice-list": "error: jvb.drain_on_timeout: unknown value ['stop'] (did you mean stop?): use one of continue, stop",
    "choice-case": "error: jvb.drain_on_timeout: unknown value 'Stop' (did you mean stop?): use one of continue, stop",
}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_drain_setting_is_one_line_exit_2_and_changes_nothing(case, good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    if case.settings:
        write_settings(root, case.settings)
    before = tree_snapshot(root)
    proc = run_cli(root, *case.argv, env=case.env)
    assert proc.returncode == 2, proc.stderr
    assert proc.lines == [EXPECTED[case.id]]
    assert "Traceback" not in proc.stderr + proc.stdout
    for secret in (SECRET, *FIXED_SECRETS.values()):
        assert secret not in proc.stdout + proc.stderr
    assert tree_snapshot(root) == before


def test_every_case_has_its_line():
    assert set(EXPECTED) == {c.id for c in CASES}


def test_the_bounds_themselves_are_accepted(good_tree, tmp_path):
    for value in (1, 86400):
        root = tmp_path / f"p{value}"
        _copy(good_tree, root)
        write_settings(root, f"jvb: {{drain_timeout: {value}, drain_on_timeout: stop}}\n")
        proc = run_cli(root, "render")
        assert proc.returncode == 0, proc.stderr
