"""`inv users.*` without Docker: names, passwords and import files are refused before
prosody is asked, with one line naming the fix; the shell's answers are read right.

The prosody path itself runs in tests/docker/test_users.py against real prosody.
"""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from jitsi_stack.access.users import (
    check_name,
    check_password,
    lua_string,
    parse_answers,
    read_import,
)
from jitsi_stack.errors import UsageError
from tests.support.project import run_cli, seed_secrets, tree_snapshot, write_settings

DOMAIN = "meet.jitsi"

BAD_NAMES = [
    ("", "user name: empty: give the agent's login name, e.g. agent042"),
    ("Alice", "user name 'Alice': prosody stores names in lower case: use 'alice'"),
    (
        "alice@example.com",
        "user name 'alice@example.com': accounts live on meet.jitsi: give the name without @example.com",
    ),
    (
        "al ice",
        "user name 'al ice': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "-alice",
        "user name '-alice': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        ".hidden",
        "user name '.hidden': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "a/b",
        "user name 'a/b': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "a'b",
        "user name \"a'b\": use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        'a"b',
        "user name 'a\"b': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "agent\n42",
        "user name 'agent\\n42': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "agént",
        "user name 'agént': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "a" * 65,
        "user name '"
        + "a" * 65
        + "': use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    (
        "focus",
        "user name 'focus': is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another",
    ),
    (
        "jvb@meet.jitsi",
        "user name 'jvb': is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another",
    ),
    ("x@", "user name 'x@': accounts live on meet.jitsi: give the name without @"),
]


@pytest.mark.parametrize(("name", "line"), BAD_NAMES, ids=[repr(n)[:20] for n, _ in BAD_NAMES])
def test_bad_names_are_refused_with_the_fix(name, line):
    with pytest.raises(UsageError) as err:
        check_name(name, DOMAIN)
    assert str(err.value) == line


@pytest.mark.parametrize("name", ["agent042", "j.smith", "a", "x_y-z.9", "0day", "a" * 64])
def test_good_names_pass_unchanged(name):
    assert check_name(name, DOMAIN) == name
    assert check_name(f"{name}@{DOMAIN}", DOMAIN) == name


BAD_PASSWORDS = [
    ("tiny-pw", "password for alice: shorter than 8 characters: use a longer one"),
    ("", "password for alice: shorter than 8 characters: use a longer one"),
    ("x" * 1025, "password for alice: longer than 1024 characters"),
    (
        "line1\nline2xx",
        "password for alice: has a control character (newline, tab, ...): remove it",
    ),
    ("tab\there-xx", "password for alice: has a control character (newline, tab, ...): remove it"),
    ("nul\0nul-xxxx", "password for alice: has a control character (newline, tab, ...): remove it"),
    (
        "del\x7fdel-xxx",
        "password for alice: has a control character (newline, tab, ...): remove it",
    ),
    (
        " leading-space",
        "password for alice: starts or ends with a space (a copy-paste slip?): remove it",
    ),
    (
        "trailing-space ",
        "password for alice: starts or ends with a space (a copy-paste slip?): remove it",
    ),
    ("ALICEALICE", "password for alicealice: is the user name: pick another"),
]


@pytest.mark.parametrize(("password", "line"), BAD_PASSWORDS, ids=range(len(BAD_PASSWORDS)))
def test_bad_passwords_are_refused_without_showing_them(password, line):
    name = "alicealice" if "user name" in line else "alice"
    with pytest.raises(UsageError) as err:
        check_password(password, name)
    assert str(err.value) == line
    if len(password) >= 4:
        assert password not in str(err.value)


@pytest.mark.skipif(not shutil.which("lua5.4"), reason="needs lua5.4 (Debian package lua5.4)")
@pytest.mark.parametrize(
    "text",
    [
        "plain-pass",
        'quo"te',
        "back\\slash",
        'both\\"end\\',
        "ünïcødé-€",
        "tab\tand\nnewline",
        "]]==]",
        "%q%s",
    ],
)
def test_lua_string_reads_back_byte_for_byte_in_real_lua(text):
    """The admin shell evaluates each line as Lua: the literal must give the very bytes."""
    literal = lua_string(text)
    assert "\n" not in literal and "\t" not in literal  # one line of the REPL
    script = f"io.write({literal})"
    out = subprocess.run(["lua5.4", "-e", script], capture_output=True, check=True).stdout
    assert out == text.encode("utf-8")


def test_shell_answers_are_read_after_the_prompt():
    # Recorded from prosody 0.12's `prosodyctl shell --quiet` with commands on stdin.
    output = (
        "prosody> ! Error: User exists\n"
        "prosody> ! Error: No such user\n"
        "prosody> | OK: User password changed\n"
        "prosody> | zed@meet.jitsi\n"
        "| OK: Showing all 1 users\n"
        "prosody> ! Sorry, I couldn't understand that... console:1: unexpected symbol\n"
        "prosody> \n"
    )
    answers = [(a.ok, a.text) for a in parse_answers(output)]
    assert answers == [
        (False, "User exists"),
        (False, "No such user"),
        (True, "User password changed"),
        (True, "zed@meet.jitsi"),
        (True, "Showing all 1 users"),
        (False, "Sorry, I couldn't understand that... console:1: unexpected symbol"),
    ]


# -- import files ---------------------------------------------------------------------

GOOD_CSV = 'name,password\nagent1,Passw0rd-1\nagent2,"with,comma-2"\n\nagent3,"quo""te-pass3"\n'


def test_an_import_file_gives_every_account_with_its_line(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text(GOOD_CSV)
    accounts = read_import(path, DOMAIN)
    assert [(a.name, a.password, a.line) for a in accounts] == [
        ("agent1", "Passw0rd-1", 2),
        ("agent2", "with,comma-2", 3),
        ("agent3", 'quo"te-pass3', 5),
    ]


def test_a_spreadsheet_export_with_bom_and_crlf_reads(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_bytes("\ufeffName,Password\r\nagent1,Passw0rd-1\r\n".encode())
    assert [a.name for a in read_import(path, DOMAIN)] == ["agent1"]


BAD_IMPORTS = [
    ("", "{p}: is empty: the first line is the header name,password"),
    ("\n\n", "{p}: is empty: the first line is the header name,password"),
    ("name,password\n", "{p}: has a header but no accounts"),
    (
        "user,pass\nagent1,Passw0rd-1\n",
        "{p}:1: the first line must be the header name,password (it has 2 other field(s))",
    ),
    (
        "agent1,Passw0rd-1\n",
        "{p}:1: the first line must be the header name,password (it has 2 other field(s))",
    ),
    (
        "name,password,email\na,b,c\n",
        "{p}:1: the first line must be the header name,password (it has 3 other field(s))",
    ),
    (
        "name,password\nagent1,Passw0rd-1\nagent1,Other-pass-2\n",
        "{p}:3: column name: the same user as line 2: list each user once\n{p}: 1 bad line(s): nothing was imported",
    ),
    (
        "name,password\nAgent1,Passw0rd-1\n",
        "{p}:2: column name: has upper-case letters, and prosody stores names in lower case: write it in lower case\n{p}: 1 bad line(s): nothing was imported",
    ),
    (
        "name,password\nagent1,short\n",
        "{p}:2: column password: shorter than 8 characters: use a longer one\n{p}: 1 bad line(s): nothing was imported",
    ),
    (
        "name,password\nagent1,with,comma\n",
        "{p}:2: column name: 3 fields, expected 2 (name,password): quote a password with a comma in double quotes\n{p}: 1 bad line(s): nothing was imported",
    ),
    (
        "name,password\nagent1\n",
        "{p}:2: column name: 1 fields, expected 2 (name,password): quote a password with a comma in double quotes\n{p}: 1 bad line(s): nothing was imported",
    ),
    (
        "name,password\nfocus,Passw0rd-1\nok1,Passw0rd-1\njvb,Passw0rd-2\n",
        "{p}:2: column name: is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another\n{p}:4: column name: is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another\n{p}: 2 bad line(s): nothing was imported",
    ),
    (
        'name,password\nagent1,"unclosed\n',
        "{p}:2: not valid CSV (unexpected end of data): check the quotes on that line",
    ),
    (
        "name,password\nagent1,pass\x00word-1\n",
        "{p}: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_IMPORTS, ids=range(len(BAD_IMPORTS)))
def test_bad_import_files_name_the_line_and_import_nothing(tmp_path, text, message):
    path = tmp_path / "agents.csv"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        read_import(path, DOMAIN)
    expected = message.format(p=path)
    assert str(err.value).startswith(expected)
    for secret in ("Passw0rd-1", "Other-pass-2"):
        assert secret not in str(err.value)


def test_an_import_file_that_is_not_text_or_not_there(tmp_path):
    binary = tmp_path / "agents.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    cases = {
        binary: f"{binary}: is not UTF-8 text: save it as UTF-8 CSV",
        tmp_path
        / "missing.csv": f"{tmp_path / 'missing.csv'}: no such file: give the CSV of agents (name,password)",
        tmp_path: f"{tmp_path}: is a directory, not a regular file: give the CSV file",
    }
    for path, line in cases.items():
        with pytest.raises(UsageError) as err:
            read_import(path, DOMAIN)
        assert str(err.value) == line


def test_many_bad_lines_are_cut_with_a_count(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text("name,password\n" + "".join(f"Agent{i},Passw0rd-{i}\n" for i in range(30)))
    with pytest.raises(UsageError) as err:
        read_import(path, DOMAIN)
    lines = str(err.value).splitlines()
    assert len(lines) == 22
    assert lines[-2] == "... and 10 more"
    assert lines[-1] == f"{path}: 30 bad line(s): nothing was imported"


# -- the tasks, before Docker -------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    def make(auth: str) -> Path:
        base = tmp_path / "p"
        base.mkdir(exist_ok=True)
        write_settings(base, f"public_url: https://meet.example.com\n{auth}")
        seed_secrets(base)
        return base

    return make


@pytest.mark.parametrize(
    ("auth", "line"),
    [
        (
            "",
            "error: users: prosody keeps accounts only with internal auth (off): set auth.enabled: true and auth.type: internal in jitsi-stack.yml, then inv start",
        ),
        (
            "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: callcenter}}\n",
            "error: users: prosody keeps accounts only with internal auth (auth.type: jwt): with JWT, agents get tokens: inv token --room ROOM --name NAME",
        ),
    ],
)
def test_users_need_internal_auth(project, auth, line):
    base = project(auth)
    before = tree_snapshot(base)
    for argv in (("users.list",), ("users.add", "alice"), ("users.remove", "alice")):
        out = run_cli(base, *argv, stdin="Passw0rd-1\n")
        assert (out.returncode, out.lines) == (2, [line])
    assert tree_snapshot(base) == before


INTERNAL = "auth: {enabled: true, type: internal}\n"


@pytest.mark.parametrize(
    ("argv", "stdin", "line"),
    [
        (
            ("users.add", "Alice", "--password-stdin"),
            "Passw0rd-1\n",
            "error: user name 'Alice': prosody stores names in lower case: use 'alice'",
        ),
        (
            ("users.add", "alice", "--password-stdin"),
            "short\n",
            "error: password for alice: shorter than 8 characters: use a longer one",
        ),
        (
            ("users.add", "alice", "--password-stdin"),
            "Passw0rd-1\nsecond line\n",
            "error: password for alice: stdin has more than one line: give one",
        ),
        (
            ("users.add", "alice", "--password-stdin"),
            "",
            "error: password for alice: shorter than 8 characters: use a longer one",
        ),
        (
            ("users.add", "alice"),
            "Passw0rd-1\n",
            "error: password for alice: no terminal to ask on: pipe it in with --password-stdin",
        ),
        (
            ("users.passwd", "alice"),
            "Passw0rd-1\n",
            "error: password for alice: no terminal to ask on: pipe it in with --password-stdin",
        ),
        (
            ("users.remove", "focus"),
            "",
            "error: user name 'focus': is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another",
        ),
        (
            ("users.add",),
            "",
            "error: 'users.add' did not receive required positional arguments: 'name' (see --help)",
        ),
        (
            ("users.add", "alice", "--password", "x"),
            "",
            "error: No idea what '--password' is! (see --help)",
        ),
    ],
    ids=range(9),
)
def test_users_bad_input_is_one_line_before_docker(project, argv, stdin, line):
    base = project(INTERNAL)
    before = tree_snapshot(base)
    out = run_cli(base, *argv, stdin=stdin)
    assert (out.returncode, out.lines) == (2, [line])
    assert "Passw0rd-1" not in out.stdout + out.stderr
    assert tree_snapshot(base) == before


def test_import_of_a_bad_file_changes_nothing(project, tmp_path):
    base = project(INTERNAL)
    path = tmp_path / "agents.csv"
    path.write_text("name,password\nagent1,Passw0rd-1\nAgent2,Passw0rd-2\n")
    before = tree_snapshot(base)
    out = run_cli(base, "users.import", str(path))
    assert out.returncode == 2
    assert out.lines == [
        f"error: {path}:3: column name: has upper-case letters, and prosody stores names in "
        "lower case: write it in lower case",
        f"error: {path}: 1 bad line(s): nothing was imported",
    ]
    assert "Passw0rd" not in out.stdout + out.stderr
    assert tree_snapshot(base) == before


def test_an_answer_quoting_the_command_never_shows_the_password():
    """Prosody's syntax-error answer quotes the line it got: the password in its Lua
    spelling (\\ddd escapes) is masked as well as the plain value."""
    from types import SimpleNamespace

    from jitsi_stack.access.users import Account, Accounts
    from jitsi_stack.deployment import Auth
    from jitsi_stack.docker.engine import Result

    password = "p€ss-word-1"
    quoted = lua_string(password)
    answer = f"prosody> ! Sorry, I couldn't understand that... near {quoted} and {password}\n"

    class Compose:
        def exec(self, *args, **kwargs):
            assert password not in " ".join(args)  # never in the argv
            assert password.encode() not in kwargs["input"].encode()  # only its Lua spelling
            return Result(("docker", "exec", "x"), 0, answer, "")

    stack = SimpleNamespace(
        d=SimpleNamespace(
            auth=Auth(type="internal"),
            domains=SimpleNamespace(xmpp="meet.jitsi"),
            service=lambda key: SimpleNamespace(name="jitsi-prosody"),
        ),
        compose=Compose(),
        runner=SimpleNamespace(dry=False),
        hidden=lambda: set(),
    )
    (outcome,) = Accounts(stack).change([Account("alice", password)], "create")
    assert outcome.action == "failed"
    assert password not in outcome.message and quoted[1:-1] not in outcome.message
    assert "Sorry, I couldn't understand that" in outcome.message
