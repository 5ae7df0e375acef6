"""`inv status --watch N`: the view again every N seconds until Ctrl-C (which ends it with
exit 0); with --json one JSON document per line. (The real thing on a running stack:
tests/docker/test_bridges.py.)"""

from __future__ import annotations

import pytest

from jitsi_stack.ops import status
from tests.support.project import run_cli, write_settings


def test_watch_repeats_until_ctrl_c(monkeypatch, capsys):
    calls, sleeps = [], []
    monkeypatch.setattr(status, "run", lambda stack, **kw: calls.append(kw) or True)

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    status.watch(object(), 2.0)
    assert calls == [{}, {}, {}] and sleeps == [2.0, 2.0, 2.0]
    out = capsys.readouterr().out
    assert "\033[2J" not in out  # not a terminal: no screen clearing
    assert len([line for line in out.splitlines() if line.count(":") == 2]) == 3  # HH:MM:SS


def test_watch_json_asks_for_one_line_documents(monkeypatch):
    calls = []
    monkeypatch.setattr(status, "run", lambda stack, **kw: calls.append(kw) or True)
    monkeypatch.setattr("time.sleep", lambda s: (_ for _ in ()).throw(KeyboardInterrupt))
    status.watch(object(), 1.0, as_json=True)
    assert calls == [{"as_json": True, "one_line": True}]


@pytest.mark.parametrize("value", ["0", "-1", "soon", "1e9x"])
def test_a_bad_interval_is_one_line(root, value):
    write_settings(root, "timezone: UTC\n")
    proc = run_cli(root, "status", "--watch", value)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.lines) == 1 and "--watch" in proc.lines[0], proc.lines
