"""`inv adopt`: the .env reader (Compose's rules), the mapping through the schema, the
plan, the files it writes, and hostile inputs (one line, exit 2, nothing changed).

The reader's agreement with the real `docker compose config` is
tests/docker/test_adopt_dotenv.py; the adoption of a running stack is
tests/docker/test_adopt.py.
"""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from jitsi_stack.ops import adopt, compose_env
from jitsi_stack.settings.schema import FIELDS
from jitsi_stack.store import secrets as store
from tests.support.project import run_cli, tree_snapshot

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "adopt" / "docker-jitsi-meet.env"
PASSWORDS = {
    line.split("=", 1)[0]: line.split("=", 1)[1]
    for line in FIXTURE.read_text().splitlines()
    if line.split("=", 1)[0] in store.SECRET_NAMES
}
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # Docker is not asked here


def read(text: str) -> dict[str, str]:
    return compose_env.read(text.encode(), ".env").values()


# -- the reader -----------------------------------------------------------------------

# (line, expected value); the same lines tests/docker/test_adopt_dotenv.py holds against
# `docker compose config` (v2.40.3 agreed on every one)
READER = [
    ("A=plain", "plain"),
    ("export A=exported", "exported"),
    ("A = around ", "around"),
    ("A=value # a comment", "value"),
    ("A=a#b", "a#b"),
    ("A=x\t#tab", "x\t#tab"),
    ("P=p\nA='single $P \\\\ kept'", "single $P \\\\ kept"),
    ('P=p\nA="double $P \\\\ one"', "double p \\ one"),
    ('A="a\\"b \\$c"', 'a"b $c'),
    ('A="line1\\nline2"', "line1\nline2"),
    ("A='it\\'s'", "it's"),
    ("P=p\nA=${P}/x", "p/x"),
    ("P=p\nA=$P-x", "p-x"),
    ("A=${NOPE:-fallback}", "fallback"),
    ("E=\nA=${E:-d1}|${E-d2}", "d1|"),
    ("P=p\nA=${P:+alt}|${NOPE:+alt}", "alt|"),
    ("P=p\nA=${NOPE:-${P}}", "p"),
    ("A=a$$b", "a$b"),
    ("A=cost$", "cost$"),
    ("A=$1x", "$1x"),
    ("A: style", "style"),
    ("A=windows\r\n", "windows"),
    ('A="quoted"\r\n', "quoted"),
    ('A="first\nsecond"', "first\nsecond"),
    ('A="q" # comment', "q"),
    ("A=first\nA=second", "second"),
    ("A=${LATER}\nLATER=now", ""),
    ("P=p\nA=${P:-a}b}", "pb}"),
    ('A="\\0101"', "A"),
]


@pytest.mark.parametrize(("text", "expected"), READER, ids=[t for t, _ in READER])
def test_reader_reads_as_compose(text, expected):
    assert read(text)["A"] == expected


def test_reader_numbers_lines_and_warns_as_compose_would():
    env = compose_env.read(b"# c\n\nA=1\r\nB=${NOPE}\nA=2\nNAKED\n", ".env")
    assert [(e.name, e.line) for e in env.entries] == [("A", 3), ("B", 4), ("A", 5)]
    assert any(".env:4: $NOPE is not set above" in w for w in env.warnings)
    assert any(".env:5: A is set again (first on line 3)" in w for w in env.warnings)
    assert any(".env:6: NAKED has no `=`" in w for w in env.warnings)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'A="open\nB=1\n', ".env:1: a quoted value is not closed: add the closing quote"),
        (
            b"A=${B\n",
            ".env:1: '${B' is not a valid ${...}: write ${NAME} or ${NAME:-default}, or $$ for a literal $",
        ),
        (
            b"A=1\nB=${A:?needed}x${C?set it}\n",
            ".env:2: ${C?...}: C is required and not set: set it above this line",
        ),
        (b"A B=1\n", ".env:1: a variable name cannot hold a space: write NAME=value"),
        (b"A/B=1\n", ".env:1: unexpected character '/' in a variable name: write NAME=value"),
        (b"\xef\xbb\xbfA=1\n", ".env: starts with a byte-order mark: save it as UTF-8 without BOM"),
        (b"A=1\nB=\xff\n", ".env:2: is not UTF-8: save the file as UTF-8"),
    ],
)
def test_reader_refuses_in_one_line(data, line):
    with pytest.raises(compose_env.DotenvError) as err:
        compose_env.read(data, ".env")
    assert str(err.value) == line
    assert err.value.exit_code == 2


# -- the mapping ----------------------------------------------------------------------


def old_deployment(base: Path, text: str | None = None) -> Path:
    """A folder shaped like docker-jitsi-meet's: .env, and CONFIG=./cfg holding prosody's
    data, Let's Encrypt's folder and a recording."""
    old = base / "docker-jitsi-meet"
    (old / "cfg" / "storage" / "prosody" / "meet%2ejitsi" / "accounts").mkdir(parents=True)
    (old / "cfg" / "storage" / "prosody" / "meet%2ejitsi" / "accounts" / "agent1.dat").write_text(
        'return {\n\t["password"] = "old-agent-password";\n};\n'
    )
    (old / "cfg" / "web" / "acme.sh").mkdir(parents=True)
    (old / "cfg" / "web" / "acme.sh" / "account.conf").write_text(
        "ACCOUNT_EMAIL='ops@example.com'\n"
    )
    (old / "cfg" / "storage" / "jibri" / "recordings").mkdir(parents=True)
    (old / "cfg" / "storage" / "jibri" / "recordings" / "call.mp4").write_bytes(b"\0" * 16)
    (old / ".env").write_text(FIXTURE.read_text() if text is None else text)
    return old / ".env"


def test_the_fixture_maps_through_the_schema(tmp_path):
    env_file = old_deployment(tmp_path)
    p = adopt.plan(env_file, tmp_path / "project")
    s = p.settings
    assert s["public_url"] == "https://meet.example.com"  # ${SITE} interpolated
    assert s["ports.http"] == 80 and s["ports.https"] == 443
    assert s["timezone"] == "Europe/Berlin"
    assert s["jvb.advertise_ips"] == ["203.0.113.10", "192.168.1.10"]
    assert s["https.letsencrypt.enabled"] is True
    assert s["https.letsencrypt.domain"] == "meet.example.com"
    assert s["auth.enabled"] is True and s["auth.guests"] is True
    assert s["features.welcome_page"] is False and s["features.prejoin_page"] is True
    assert s["images.tag"] == "stable-11146-2"
    # DISABLE_HTTPS is not in the file: docker-jitsi-meet serves HTTPS, jitsi-stack's
    # default would not
    assert s["https.enabled"] is True
    assert s["env"] == {
        "JICOFO_MAX_MEMORY": "3072m",
        "VIDEOBRIDGE_MAX_MEMORY": "3072m",
        "LETSENCRYPT_ACME_SERVER": "letsencrypt",
        "DEFAULT_LANGUAGE": "de",
        "TOOLBAR_BUTTONS": "microphone,camera,desktop,chat,hangup",
    }
    assert p.secrets == PASSWORDS and len(PASSWORDS) == 6
    assert p.config == (tmp_path / "docker-jitsi-meet" / "cfg")


def test_every_line_of_the_file_has_a_row(tmp_path):
    env_file = old_deployment(tmp_path)
    p = adopt.plan(env_file, tmp_path / "project")
    names = [e.name for e in compose_env.read(FIXTURE.read_bytes(), ".env").entries]
    assert [r.variable for r in p.rows if r.line] == names
    rows = {r.variable: r for r in p.rows}
    assert rows["SITE"].target == "-" and "not carried" in rows["SITE"].why
    assert rows["DOCKER_HOST_ADDRESS"].target == "-"
    assert "jvb.advertise_ips" in rows["DOCKER_HOST_ADDRESS"].why
    assert rows["CONFIG"].target == "jitsi-meet"
    assert rows["DISABLE_HTTPS"].line == 0 and rows["DISABLE_HTTPS"].target == "https.enabled"
    for name in store.SECRET_NAMES:
        assert rows[name].value == "********" and rows[name].target == ".jitsi-stack/secrets.env"
    shown = p.as_json()
    for value in PASSWORDS.values():
        assert value not in shown
    assert json.loads(shown)["rows"][0]["variable"] == "SITE"


def _plan(tmp_path: Path, extra: str) -> adopt.Plan:
    text = FIXTURE.read_text() + extra
    return adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")


def test_docker_host_address_alone_becomes_the_advertised_address(tmp_path):
    text = FIXTURE.read_text().replace("JVB_ADVERTISE_IPS=203.0.113.10,192.168.1.10\n", "")
    p = adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")
    assert p.settings["jvb.advertise_ips"] == ["203.0.113.10"]
    assert p.origin["jvb.advertise_ips"].endswith("DOCKER_HOST_ADDRESS")


def test_a_turn_server_named_upstream_is_external(tmp_path):
    p = _plan(
        tmp_path,
        "TURN_HOST=turn.example.com\nTURNS_HOST=turn.example.com\nTURN_CREDENTIALS=s3cr3t-turn-value\nTURN_PORT=3478\n",
    )
    assert p.settings["turn.enabled"] is True and p.settings["turn.server"] == "external"
    assert p.settings["turn.host"] == "turn.example.com"
    assert p.settings["turn.secret"] == "s3cr3t-turn-value"
    assert p.settings["turn.port"] == 3478
    # left out: docker-jitsi-meet's defaults (TURNS_PORT 443, TURN_TRANSPORT tcp), not ours
    assert p.settings["turn.tls_port"] == 443
    assert p.settings["turn.transports"] == ["tcp"]
    row = next(r for r in p.rows if r.variable == "TURN_CREDENTIALS")
    assert row.value == "********"


def test_recording_brings_jibri_and_the_jwt_secret_goes_to_secrets_env(tmp_path):
    secret = "A" * 20 + "b" * 20
    text = FIXTURE.read_text().replace("ENABLE_RECORDING=0", "ENABLE_RECORDING=1")
    text = text.replace(
        "AUTH_TYPE=internal", f"AUTH_TYPE=jwt\nJWT_APP_ID=callcenter\nJWT_APP_SECRET={secret}"
    )
    p = adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")
    assert p.settings["services.jibri"] is True
    assert p.secrets["JWT_APP_SECRET"] == secret
    assert "auth.jwt.app_secret" not in p.settings


def test_jwt_keeps_upstreams_roles_and_says_that_customers_are_moderators(tmp_path):
    """docker-jitsi-meet's JWT makes every token holder moderator (jicofo's own
    authentication): adopt keeps it, and says so, with the setting that changes it."""
    text = FIXTURE.read_text().replace(
        "AUTH_TYPE=internal", f"AUTH_TYPE=jwt\nJWT_APP_ID=callcenter\nJWT_APP_SECRET={'c' * 40}"
    )
    p = adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")
    assert p.settings["auth.jwt.moderator_from_token"] is False
    (warning,) = [w for w in p.warnings if "moderator_from_token" in w]
    assert "customers too, is moderator" in warning and "set it to true" in warning
    assert not [w for w in _plan(tmp_path / "internal", "").warnings if "moderator" in w]


def test_the_settings_file_reads_back_with_a_comment_per_value(tmp_path):
    p = adopt.plan(old_deployment(tmp_path), tmp_path / "project")
    text = adopt.yaml_text(p, "now")
    loaded = yaml.safe_load(text)
    assert loaded["public_url"] == "https://meet.example.com"
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    for ln in lines:
        if ln.rstrip().endswith(":"):
            continue  # a section
        assert "# adopted from .env:" in ln or "# not in the file" in ln, ln
    assert "public_url: https://meet.example.com  # adopted from .env:25 PUBLIC_URL" in text


def test_holders_are_the_old_project_its_mounts_and_the_new_names(tmp_path):
    p = adopt.plan(old_deployment(tmp_path), tmp_path / "project")
    rows = [
        {
            "Names": ["/docker-jitsi-meet-web-1"],
            "Labels": {
                "com.docker.compose.project": "docker-jitsi-meet",
                "com.docker.compose.project.working_dir": str(
                    (tmp_path / "docker-jitsi-meet").resolve()
                ),
            },
        },
        {"Names": ["/someone"], "Mounts": [{"Source": str(p.config / "storage" / "prosody")}]},
        {"Names": ["/callcenter-jitsi-web"]},
        {"Names": ["/unrelated"], "Mounts": [{"Source": str(p.config) + "-other"}]},
    ]
    names = adopt.new_containers(p)
    assert "callcenter-jitsi-web" in names and "callcenter-jitsi-prosody" in names
    assert adopt.holders(p, rows, names) == [
        "docker-jitsi-meet-web-1",
        "someone",
        "callcenter-jitsi-web",
    ]


# -- the command -----------------------------------------------------------------------


def test_adopt_writes_settings_and_secrets_and_moves_the_data(tmp_path):
    env_file = old_deployment(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    proc = run_cli(root, "adopt", str(env_file), env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    assert "JICOFO_AUTH_PASSWORD" in proc.stdout  # the plan
    for value in PASSWORDS.values():
        assert value not in proc.stdout + proc.stderr
    secrets = root / ".jitsi-stack" / "secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert store.read(root) == PASSWORDS  # exactly the old values
    assert (root / "jitsi-stack.yml").read_text().startswith("# Adopted by `inv adopt`")
    account = root / "jitsi-meet/storage/prosody/meet%2ejitsi/accounts/agent1.dat"
    assert "old-agent-password" in account.read_text()
    assert (root / "jitsi-meet/web/acme.sh/account.conf").is_file()
    assert (root / "jitsi-meet/storage/jibri/recordings/call.mp4").is_file()
    assert not (tmp_path / "docker-jitsi-meet" / "cfg").exists()
    # the project renders as it is, with the settings adopt wrote
    proc = run_cli(root, "render", env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    rendered = (root / "jitsi-meet" / ".env").read_text()
    assert f"JVB_AUTH_PASSWORD={PASSWORDS['JVB_AUTH_PASSWORD']}" in rendered
    assert "PUBLIC_URL=https://meet.example.com" in rendered


def test_dry_writes_nothing(tmp_path):
    env_file = old_deployment(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    before = tree_snapshot(tmp_path)
    proc = run_cli(root, "--dry", "adopt", str(env_file), "--json", env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert {r["target"] for r in plan["rows"]} >= {"public_url", ".jitsi-stack/secrets.env"}
    assert tree_snapshot(tmp_path) == before


# -- hostile input: one line, exit 2, nothing changed ----------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    env: bytes | Callable[[], bytes]
    line: str
    setup: Callable[[Path, Path], None] | None = None  # (old folder, project root)
    argv: tuple[str, ...] = ()


def _fixture(old: str = "", new: str = "") -> bytes:
    return FIXTURE.read_text().replace(old, new).encode() if old else FIXTURE.read_bytes()


def _config_link(old: Path, root: Path) -> None:
    outside = old.parent / "elsewhere"
    (old / "cfg").rename(outside)
    (old / "cfg").symlink_to(outside, target_is_directory=True)


def _settings_there(old: Path, root: Path) -> None:
    (root / "jitsi-stack.yml").write_text("public_url: https://meet.example.com\n")


def _link_inside(old: Path, root: Path) -> None:
    outside = old.parent / "recordings-elsewhere"
    outside.mkdir()
    (old / "cfg" / "storage" / "jibri" / "recordings").rename(outside / "recordings")
    (old / "cfg" / "storage" / "jibri" / "recordings").symlink_to(outside / "recordings")


def _tree_there(old: Path, root: Path) -> None:
    (root / "jitsi-meet" / "web").mkdir(parents=True)
    (root / "jitsi-meet" / "web" / "config.js").write_text("// someone's\n")


JWT = "AUTH_TYPE=jwt\nJWT_APP_ID=callcenter\n"
CASES = [
    Case(
        "unterminated-quote",
        lambda: _fixture(
            "JITSI_IMAGE_VERSION=stable-11146-2", 'JITSI_IMAGE_VERSION="stable-11146-2'
        ),
        "error: .env:156: a quoted value is not closed: add the closing quote",
    ),
    Case(
        "duplicate-key",
        lambda: _fixture("TZ=Europe/Berlin", "TZ=Europe/Berlin\nTZ=UTC"),
        "error: .env:23: TZ is set again (first on line 22): Compose uses the last one; delete the line you do not mean",
    ),
    Case(
        "bom",
        lambda: b"\xef\xbb\xbf" + _fixture(),
        "error: .env: starts with a byte-order mark: save it as UTF-8 without BOM",
    ),
    Case(
        "not-utf8",
        lambda: _fixture().replace(b"TZ=Europe/Berlin", b"TZ=Europe/Berl\xefn"),
        "error: .env:22: is not UTF-8: save the file as UTF-8",
    ),
    Case(
        "ten-megabytes",
        lambda: _fixture() + b"# " + b"x" * (10 << 20) + b"\n",
        "error: .env: is more than the 1 MiB a .env file may have here: give docker-jitsi-meet's .env",
    ),
    Case(
        "secret-dollar",
        lambda: _fixture(
            "JVB_AUTH_PASSWORD=9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
            "JVB_AUTH_PASSWORD='9c8b7a6f$e4d3c2b1a0f9e8d7c6b5a49'",
        ),
        "error: .env:137: JVB_AUTH_PASSWORD: is not 32-128 letters and digits (what gen-passwords.sh writes), the form .jitsi-stack/secrets.env keeps: delete the line, adopt, then run `inv rotate-secrets --yes` (prosody's internal accounts are made anew)",
    ),
    Case(
        "secret-quote",
        lambda: _fixture("AUTH_TYPE=internal", JWT + "JWT_APP_SECRET='Sup3r\"S3cret-Value-4711'"),
        'error: .env:96: auth.jwt.app_secret: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    ),
    Case(
        "secret-backslash",
        lambda: _fixture("AUTH_TYPE=internal", JWT + "JWT_APP_SECRET='Sup3r\\S3cret-Value-4711'"),
        "error: .env:96: auth.jwt.app_secret: contains \\, which prosody's config (a Lua string) cannot hold: choose a value without \\",
    ),
    Case(
        "secret-newline",
        lambda: _fixture(
            "JVB_AUTH_PASSWORD=9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
            'JVB_AUTH_PASSWORD="9c8b7a6f5e4d3c2b\\n1a0f9e8d7c6b5a49"',
        ),
        "error: .env:137: JVB_AUTH_PASSWORD: is not 32-128 letters and digits (what gen-passwords.sh writes), the form .jitsi-stack/secrets.env keeps: delete the line, adopt, then run `inv rotate-secrets --yes` (prosody's internal accounts are made anew)",
    ),
    Case(
        "config-link-out",
        _fixture,
        "error: .env:13: CONFIG: ./cfg is a link to {tmp}/elsewhere: give the folder itself with --config {tmp}/elsewhere",
        setup=_config_link,
    ),
    Case(
        "link-inside-config",
        _fixture,
        "error: CONFIG: {old}/cfg/storage/jibri/recordings is a link out of the folder (to {tmp}/recordings-elsewhere/recordings): the new stack writes its tree without following links; put the folder itself there",
        setup=_link_inside,
    ),
    Case(
        "settings-there",
        _fixture,
        "error: jitsi-stack.yml: already exists: adopt writes a new one; move it away, or run with --force to replace it",
        setup=_settings_there,
    ),
    Case(
        "tree-there",
        _fixture,
        "error: jitsi-meet: already exists in {root}: adopt moves {old}/cfg there; move jitsi-meet away first",
        setup=_tree_there,
    ),
    Case(
        "config-unset",
        lambda: _fixture("CONFIG=./cfg\n", ""),
        "error: .env: CONFIG is not set: give the data folder with --config DIR (upstream's env.example uses ~/.jitsi-meet-cfg)",
    ),
    Case(
        "config-missing",
        _fixture,
        "error: --config: /nonexistent/cfg does not exist: give the data folder with --config DIR",
        argv=("--config", "/nonexistent/cfg"),
    ),
    Case(
        "latest-tag",
        lambda: _fixture("JITSI_IMAGE_VERSION=stable-11146-2", "JITSI_IMAGE_VERSION=latest"),
        "error: .env:156: images.tag: 'latest' floats between releases and breaks upgrades: pin a release such as stable-11146-2",
    ),
    Case(
        "port-not-number",
        lambda: _fixture("HTTP_PORT=80", "HTTP_PORT=eighty"),
        "error: .env:16: HTTP_PORT: 'eighty' is not a number: e.g. 8443",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_one_line_and_changes_nothing(case, tmp_path):
    env_file = old_deployment(tmp_path)
    env_file.write_bytes(case.env() if callable(case.env) else case.env)
    root = tmp_path / "project"
    root.mkdir()
    if case.setup:
        case.setup(env_file.parent, root)
    before = tree_snapshot(tmp_path)
    proc = run_cli(root, "adopt", str(env_file), *case.argv, env=NO_DOCKER)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert len(proc.lines) == 1, proc.lines
    expected = case.line.format(old=env_file.parent, root=root, tmp=tmp_path)
    assert proc.lines[0] == expected
    assert "Traceback" not in text
    for secret in (*PASSWORDS.values(), "Sup3r"):
        assert secret not in text
    assert tree_snapshot(tmp_path) == before


def test_every_setting_with_an_upstream_variable_is_reachable():
    """The mapping is the schema's fact: each Field.upstream maps back to its setting."""
    for key, spec in FIELDS.items():
        if spec.upstream:
            assert adopt.BY_VARIABLE[spec.upstream] == key


def test_the_variables_doc_is_current():
    import importlib.util

    repo = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location(
        "gen_adopt_doc", repo / "tools" / "gen_adopt_doc.py"
    )
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    doc = repo / "docs" / "adopt-variables.md"
    assert doc.read_text() == tool.render(), "run python tools/gen_adopt_doc.py"
    assert len(tool.ENV_EXAMPLE) == 56  # env.example at 738058b4: 56 distinct NAME= lines


def test_the_doc_says_what_the_plan_does(tmp_path):
    """destination() (the doc's table) and plan() (what adopt does) agree on the fixture."""
    p = adopt.plan(old_deployment(tmp_path), tmp_path / "project")
    for row in p.rows:
        if row.line and row.value and row.target != "-":
            assert row.target in adopt.destination(row.variable)[0], row


def test_secret_mode_holds_without_a_secret(tmp_path):
    env_file = old_deployment(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    assert run_cli(root, "adopt", str(env_file), env=NO_DOCKER).returncode == 0
    assert stat.S_IMODE(os.stat(root / "jitsi-stack.yml").st_mode) == 0o644


def test_config_names_the_adopted_line(tmp_path):
    env_file = old_deployment(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    assert run_cli(root, "adopt", str(env_file), env=NO_DOCKER).returncode == 0
    proc = run_cli(root, "config", "--json", env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["settings"]
    assert shown["public_url"]["source"] == "file:jitsi-stack.yml, adopted from .env:25 PUBLIC_URL"
    assert shown["https.enabled"]["source"] == "file:jitsi-stack.yml"  # upstream's default
    assert shown["project_name"]["source"] == "default"
    # an edited value keeps its comment only if the operator keeps it: the file decides
    text = (root / "jitsi-stack.yml").read_text().replace("  # adopted from .env:22 TZ", "")
    (root / "jitsi-stack.yml").write_text(text)
    shown = json.loads(run_cli(root, "config", "--json", env=NO_DOCKER).stdout)["settings"]
    assert shown["timezone"]["source"] == "file:jitsi-stack.yml"


def test_force_replaces_the_settings_file_and_keeps_the_old_one(tmp_path):
    env_file = old_deployment(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    (root / "jitsi-stack.yml").write_text("timezone: UTC\n")
    proc = run_cli(root, "adopt", str(env_file), "--force", env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    assert "Europe/Berlin" in (root / "jitsi-stack.yml").read_text()
    kept = list((root / ".jitsi-stack" / "backups").glob("adopt-*/jitsi-stack.yml"))
    assert [k.read_text() for k in kept] == ["timezone: UTC\n"]


def test_home_is_expanded_as_compose_does(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / ".jitsi-meet-cfg").mkdir(parents=True)
    text = FIXTURE.read_text().replace("CONFIG=./cfg", "CONFIG=~/.jitsi-meet-cfg")
    p = adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")
    assert p.config == tmp_path / "home" / ".jitsi-meet-cfg"


def test_a_secret_upstream_accepts_is_kept_exactly_even_with_a_dollar(tmp_path):
    """JWT_APP_SECRET of another form than secrets.env keeps goes to its setting (the file
    is then 0600), and the rendered jitsi-meet/.env gives Compose back the same value."""
    secret = "my$jwt secret#1"
    text = FIXTURE.read_text().replace(
        "AUTH_TYPE=internal", f"AUTH_TYPE=jwt\nJWT_APP_ID=callcenter\nJWT_APP_SECRET='{secret}'"
    )
    env_file = old_deployment(tmp_path, text)
    root = tmp_path / "project"
    root.mkdir()
    proc = run_cli(root, "adopt", str(env_file), env=NO_DOCKER)
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert stat.S_IMODE(os.stat(root / "jitsi-stack.yml").st_mode) == 0o600
    assert run_cli(root, "render", env=NO_DOCKER).returncode == 0
    rendered = compose_env.read((root / "jitsi-meet" / ".env").read_bytes(), ".env").values()
    assert rendered["JWT_APP_SECRET"] == secret
    assert rendered["JVB_AUTH_PASSWORD"] == PASSWORDS["JVB_AUTH_PASSWORD"]


def test_guests_left_out_with_auth_follow_upstream(tmp_path):
    """ENABLE_GUESTS left out: docker-jitsi-meet lets no guest in (its default 0), so the
    adopted settings say auth.guests: false, not jitsi-stack's default true."""
    text = FIXTURE.read_text().replace("ENABLE_GUESTS=1\n", "")
    p = adopt.plan(old_deployment(tmp_path, text), tmp_path / "project")
    assert p.settings["auth.guests"] is False
    row = next(r for r in p.rows if r.variable == "ENABLE_GUESTS")
    assert row.line == 0 and "docker-jitsi-meet's default ENABLE_GUESTS=0" in row.why
