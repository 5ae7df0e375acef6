"""Which task runs, warns or refuses for each problem (issue 23: a problem blocks only the
tasks it makes worse).

- An expired (or soon-expiring) certificate is a warning for every task; `lint` calls an
  expired one an error; a task that would install an expired certificate (a render that
  changes jitsi-meet/web/keys/cert.crt: render, start, restart, rotate-secrets, update)
  refuses before anything changes. The same expired certificate already in place is no
  reason to refuse: the stack serves it either way.
- Settings that do not load (a typo, a certificate file holding its key): stop, logs,
  status and backup work on what was rendered, saying what is wrong in one line; every
  other task refuses with exit 2 and changes nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from invoke import Config, MockContext

from jitsi_stack.cli import tasks
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input_certs import _cert, _key_pem, _pem

BASE = (
    "public_url: https://meet.example.com\n"
    "https: {enabled: true, certificate: {cert: site.crt, key: site.key}}\n"
    "jvb: {advertise_ips: [203.0.113.10]}\n"
    "auth: {enabled: true, type: internal}\n"
)
ANY = "any"  # the task ran (its own verdict, e.g. no registry answer): not a refusal (2)
REFUSE = "refuse"

TASKS = {
    "stop": ("--dry", "stop"),
    "logs": ("--dry", "logs"),
    "status": ("status",),
    "backup": ("--dry", "backup"),
    "users.remove": ("--dry", "users.remove", "agent1"),
    "users.list": ("--dry", "users.list"),
    "config": ("config",),
    "clean": ("--dry", "clean", "--yes"),
    "smoke": ("smoke", "--timeout", "0.3", "--only", "web"),
    "rotate-secrets": ("--dry", "rotate-secrets", "--yes"),
    "update --check": ("update", "--check"),
    "render": ("render",),
    "start": ("--dry", "start"),
    "restart": ("--dry", "restart"),
    "lint": ("lint",),
}

# problem -> the words of its line, and per task: the exit code it runs with, or REFUSE
POLICY = {
    "expired-new": ("the certificate expired on", {
        "stop": 0, "logs": 0, "status": 1, "backup": 0, "users.remove": 0, "users.list": 0,
        "config": 0, "clean": 0, "smoke": 1, "rotate-secrets": REFUSE, "update --check": ANY,
        "render": REFUSE, "start": REFUSE, "restart": REFUSE, "lint": REFUSE,
    }),
    "expired-in-place": ("the certificate expired on", {
        "stop": 0, "logs": 0, "status": 1, "backup": 0, "users.remove": 0, "users.list": 0,
        "config": 0, "clean": 0, "smoke": 1, "rotate-secrets": 0, "update --check": ANY,
        "render": 0, "start": 0, "restart": 0, "lint": REFUSE,
    }),
    "expiring": ("the certificate expires in", {
        "stop": 0, "logs": 0, "status": 1, "backup": 0, "users.remove": 0, "users.list": 0,
        "config": 0, "clean": 0, "smoke": 1, "rotate-secrets": 0, "update --check": ANY,
        "render": 0, "start": 0, "restart": 0, "lint": 0,
    }),
    "settings-typo": ("unknown setting ports.htps", {
        "stop": 0, "logs": 0, "status": 1, "backup": 0, "users.remove": REFUSE,
        "users.list": REFUSE, "config": REFUSE, "clean": REFUSE, "smoke": REFUSE,
        "rotate-secrets": REFUSE, "update --check": REFUSE, "render": REFUSE, "start": REFUSE,
        "restart": REFUSE, "lint": REFUSE,
    }),
    "certificate-with-key": ("also holds a private key", {
        "stop": 0, "logs": 0, "status": 1, "backup": 0, "users.remove": REFUSE,
        "users.list": REFUSE, "config": REFUSE, "clean": REFUSE, "smoke": REFUSE,
        "rotate-secrets": REFUSE, "update --check": REFUSE, "render": REFUSE, "start": REFUSE,
        "restart": REFUSE, "lint": REFUSE,
    }),
}  # fmt: skip


def _project(base: Path, problem: str) -> Path:
    root = base / problem
    root.mkdir()
    write_settings(root, BASE)
    seed_secrets(root)
    good = _pem(_cert())
    (root / "site.crt").write_bytes(good)
    (root / "site.key").write_bytes(_key_pem())
    expires = time.monotonic() + 5
    if problem == "expired-in-place":  # rendered while valid, expired since: the usual way
        (root / "site.crt").write_bytes(_pem(_cert(start=-40, days=5 / 86400)))
    assert run_cli(root, "render").returncode == 0
    if problem == "expired-in-place":
        time.sleep(max(0.0, expires - time.monotonic()) + 1)
    elif problem == "expired-new":
        (root / "site.crt").write_bytes(_pem(_cert(start=-40, days=-3)))
    elif problem == "expiring":
        (root / "site.crt").write_bytes(_pem(_cert(days=5)))
    elif problem == "settings-typo":
        write_settings(root, BASE + "ports: {htps: 1}\n")
    elif problem == "certificate-with-key":
        (root / "site.crt").write_bytes(good + _key_pem())
    return root


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    base = tmp_path_factory.mktemp("policy")
    return {problem: _project(base, problem) for problem in POLICY}


CASES = [(p, t) for p in POLICY for t in TASKS]


def test_the_table_covers_every_task_for_every_problem():
    assert all(set(row) == set(TASKS) for _, row in POLICY.values())


@pytest.mark.parametrize(("problem", "task"), CASES, ids=[f"{p}:{t}" for p, t in CASES])
def test_a_problem_blocks_only_the_tasks_it_makes_worse(projects, problem, task):
    root = projects[problem]
    words, row = POLICY[problem]
    expected = row[task]
    before = tree_snapshot(root)
    proc = run_cli(root, *TASKS[task])
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    assert "PRIVATE KEY" not in text
    errors = [line for line in proc.lines if line.startswith("error: ") and words in line]
    warnings = [line for line in proc.lines if line.startswith("warning: ") and words in line]
    if expected == REFUSE:
        assert proc.returncode == 2, text
        assert len(errors) == 1, proc.lines
        assert tree_snapshot(root) == before  # refused before anything changed
        return
    if expected == ANY:
        assert proc.returncode != 2, text
    else:
        assert proc.returncode == expected, text
    assert len(warnings) == 1, proc.lines  # said once, in one line
    if problem in ("settings-typo", "certificate-with-key"):
        assert "the settings do not load" in warnings[0]
    else:
        assert not errors or task == "status", proc.lines  # status's own red verdict
    if task not in ("backup", "render", "start", "restart", "rotate-secrets", "status"):
        assert tree_snapshot(root) == before


def test_status_json_shows_the_expired_certificate_red(projects):
    proc = run_cli(projects["expired-new"], "status", "--json")
    shown = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert shown["ok"] is False
    cert = shown["certificates"][0]
    assert cert["source"] == "site.crt" and cert["level"] == "fail" and cert["days_left"] < 0


def test_status_json_says_why_the_settings_do_not_load(projects):
    proc = run_cli(projects["settings-typo"], "status", "--json")
    shown = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert shown["ok"] is False
    assert "unknown setting ports.htps" in shown["settings"]
    assert shown["project"] == "callcenter"  # read from the rendered docker-compose.yml
    assert [s["service"] for s in shown["services"]][:2] == ["jitsi-web", "jitsi-prosody"]


def test_a_backup_with_settings_that_do_not_load_holds_them_as_they_are(projects, tmp_path):
    import tarfile

    dest = tmp_path / "b.tar.gz"
    proc = run_cli(projects["settings-typo"], "backup", "--to", str(dest))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(dest) as tar:
        names = tar.getnames()
    assert {"jitsi-stack.yml", "site.crt", "site.key", ".jitsi-stack/secrets.env"} <= set(names)


def test_stop_through_invoke_finds_the_compose_project_on_disk(projects, monkeypatch, capsys):
    root = projects["settings-typo"]
    monkeypatch.setenv("JITSI_STACK_ROOT", str(root))
    c = MockContext(config=Config(overrides={"run": {"dry": True}}))
    tasks.stop_task(c, targets="web")
    err = capsys.readouterr().err
    assert "the settings do not load, so `stop` works on what was rendered" in err
    assert (
        f"--project-name callcenter --env-file {root}/jitsi-meet/.env --file "
        f"{root}/docker-compose.yml stop jitsi-web"
    ) in err


def test_settings_that_do_not_load_and_nothing_rendered_refuse_as_before(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    write_settings(root, "ports: {htps: 1}\n")
    for argv in (("--dry", "stop"), ("status",), ("--dry", "backup"), ("--dry", "logs")):
        proc = run_cli(root, *argv)
        assert proc.returncode == 2, proc.stderr
        assert proc.lines == [
            "error: jitsi-stack.yml: unknown setting ports.htps (did you mean ports.https?): "
            "fix or remove it"
        ]


def test_the_status_shortcut_follows_the_same_policy(projects, capsys):
    """`jitsi-stack status --json` without Invoke: the same on-disk view and warning."""
    from jitsi_stack import cli

    code = cli._status_shortcut(["--root", str(projects["settings-typo"]), "status", "--json"])
    out = capsys.readouterr()
    assert code == 1
    assert "unknown setting ports.htps" in json.loads(out.out)["settings"]
    assert "the settings do not load, so `status` works on what was rendered" in out.err
    code = cli._status_shortcut(["--root", str(projects["expired-new"]), "status"])
    out = capsys.readouterr()
    assert code == 1
    assert "warning: https.certificate.cert: the certificate expired on" in out.err
    assert "EXPIRED: renew it" in out.out


def test_a_certificate_row_is_red_when_it_expires_soon_or_has_expired():
    from jitsi_stack.ops.status import Certificate, certificate_table

    rows = [
        Certificate("127.0.0.1:443", "CN=a", "2026-01-01", days_left=-1),
        Certificate("site.crt", "CN=a", "2027-01-01", days_left=13),
        Certificate("other.crt", "CN=a", "2027-06-01", days_left=14),
        Certificate("broken.crt", problem="holds no PEM certificate"),
    ]
    assert [c.level for c in rows] == ["fail", "warn", "ok", "fail"]
    grid = certificate_table(rows, fancy=True)
    assert [r.style for r in grid.rows] == ["bold red", "bold red", "green", "bold red"]
    plain = str(certificate_table(rows, fancy=False)).splitlines()
    assert plain[1].split()[-3:] == ["EXPIRED:", "renew", "it"]
    assert plain[2].endswith("expires in 13 days: renew it")
    assert plain[4].endswith("unreadable")
