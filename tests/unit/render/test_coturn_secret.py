"""The bundled TURN server's shared secret: which values coturn's config file holds as
written (the rule, a table), that the render puts it there and on no command line, and
the test-bed coturn entrypoint (our code for the official image's rule: coturn/coturn
8024aa63 docker/coturn/rootfs/usr/local/bin/docker-entrypoint.sh lines 3-14) run for real
with hostile secrets: the old render's `--static-auth-secret=${TURN_CREDENTIALS}` comes
out changed, the new render's command has nothing to change."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from jitsi_stack.deployment import build
from jitsi_stack.errors import SettingsError, StackError
from jitsi_stack.render import COTURN_CONF, NOBODY, apply, yaml_str
from jitsi_stack.settings import project
from jitsi_stack.settings import view as config_view
from jitsi_stack.settings.rules.media import coturn_value_problem
from jitsi_stack.store import secrets
from tests.support.project import REPO, seed_secrets, write_settings

ENTRYPOINT = REPO / "tests/testbed/images/coturn/docker-entrypoint.sh"
# The compose command of the renders before this change, as Compose hands it to the
# entrypoint ($$ -> $).
OLD_COMMAND = ["-c", "/etc/coturn/turnserver.conf", "--static-auth-secret=${TURN_CREDENTIALS}"]


def coturn_reads(conf: str) -> list[str]:
    """The static-auth-secret values coturn takes from a config file: our model of
    coturn/coturn 8024aa63 src/apps/relay/mainrelay.c read_config_file (2872-2975: fgets of
    at most 1023 bytes, skip_blanks, '#' comments, trailing isspace() stripped) and
    parse_arg_string (2832-2857: the name ends at ' ', '=' or TAB, all of them after it
    skipped; a leading '"' dropped with trailing blanks and a closing '"')."""
    found = []
    data = conf.encode("utf-8")
    lines, rest = [], data
    while rest:  # fgets(sbuf, 1024): a line of more than 1023 bytes arrives in pieces
        cut = rest.find(b"\n")
        cut = len(rest) if cut < 0 else cut + 1
        cut = min(cut, 1023)
        lines.append(rest[:cut])
        rest = rest[cut:]
    for raw in lines:
        s = raw.lstrip(b" \t\n")
        if not s or s.startswith(b"#"):
            continue
        s = s.rstrip(b" \t\n\v\f\r")
        if not s:
            continue
        i = 0
        while i < len(s) and s[i : i + 1] not in (b" ", b"=", b"\t"):
            i += 1
        name, value = s[:i], s[i:].lstrip(b" =\t")
        if value.startswith(b'"'):
            value = value[1:].rstrip(b"\n\r \t")
            if value.endswith(b'"'):
                value = value[:-1]
        if name == b"static-auth-secret":
            found.append(value.decode("utf-8"))
    return found


# -- the rule: what coturn's config file holds as written -----------------------------

OK = [
    "plain",
    "two words",
    "runs   of    spaces",
    "glob*?[x]",
    "$HOME and $(id) and `id`",
    "it's",
    "#not-a-comment-inside",
    "trailing#",
    "semi;colon inside",
    "in=side=",
    "ünïcödé",
    "x" * 1004,
    "é" * 502,
]
REFUSED = {  # value: (what the line says, coturn itself would read another value)
    " leading space": ("starts with a space", True),
    "=leading equals": ("starts with =", True),
    '"leading quote': ('starts with "', True),
    "trailing space ": ("ends with a space", True),
    "trailing semicolon;": ("ends with ';'", False),  # kept, but logged whole
    "tab\tinside": ("control character", False),
    "trailing tab\t": ("control character", True),
    "nul\x00inside": ("control character", True),
    "del\x7finside": ("control character", False),
    "x" * 1005: ("is 1005 bytes, more than the 1004", True),
    "é" * 503: ("is 1006 bytes", True),
}


@pytest.mark.parametrize("value", OK)
def test_a_value_coturn_keeps_is_accepted_and_read_back_as_written(value):
    assert coturn_value_problem(value) is None
    assert coturn_reads(f"use-auth-secret\nstatic-auth-secret={value}\nrealm=x\n") == [value]


@pytest.mark.parametrize("value", list(REFUSED), ids=list(range(len(REFUSED))))
def test_a_value_coturn_would_change_or_print_is_refused_without_quoting_it(value):
    fragment, changed = REFUSED[value]
    problem = coturn_value_problem(value)
    assert problem is not None and fragment in problem
    assert value.strip() not in problem
    read = (
        coturn_reads(f"static-auth-secret={value}\n".replace("\x00", ""))
        if "\x00" not in value
        else []
    )
    assert (read != [value]) is changed


def test_generated_secrets_always_pass():
    for _ in range(2000):
        value = secrets.generate("TURN_CREDENTIALS")
        assert coturn_value_problem(value) is None
        assert value.isalnum() and value.isascii()


# -- settings: the rule applies to the bundled server only ----------------------------


def _load(root: Path, text: str):
    write_settings(root, text)
    return project.load(root, environ={})


def test_the_rule_refuses_a_bundled_secret_in_one_line_without_the_value(root):
    with pytest.raises(SettingsError) as err:
        _load(root, "turn: {enabled: true, secret: 'Top-Secret-4711;'}\n")
    assert err.value.problems == [
        "turn.secret: ends with ';', which makes coturn log the line (and the secret): "
        "choose another secret (or leave it empty)"
    ]
    assert "Top-Secret-4711" not in str(err.value.problems)


def test_an_external_server_secret_is_not_coturns_business(root):
    s = _load(
        root,
        "turn: {enabled: true, server: external, host: turn.example.net, "
        "secret: 'ends with a space; '}\n",
    )
    assert s["turn.secret"] == "ends with a space; "


# -- turn.tls follows the certificate, and says so ------------------------------------

CERTS = REPO / "tests/golden/certs"
WITH_CERT = (
    "public_url: https://meet.example.com\n"
    "https: {enabled: true, certificate: {cert: certs/meet.example.com.crt, "
    "key: certs/meet.example.com.key}}\n"
)


def _source(s, key):
    return next(src for k, _, _, src in config_view.rows(s) if k == key)


@pytest.mark.parametrize(
    ("text", "tls", "source"),
    [
        ("turn: {enabled: true}\n", False, "auto: no https.certificate"),
        (WITH_CERT + "turn: {enabled: true}\n", True, "auto: https.certificate is set"),
        (WITH_CERT + "turn: {enabled: true, tls: false}\n", False, "file:jitsi-stack.yml"),
        ("turn: {enabled: true, tls: false}\n", False, "file:jitsi-stack.yml"),
        (
            "turn: {enabled: true, server: external, host: t.example.net, secret: s3cr3t}\n",
            True,
            "auto: turn.server: external serves its own certificate",
        ),
        ("{}\n", False, "auto: no https.certificate"),
    ],
)
def test_turn_tls_follows_the_certificate_with_its_reason(root, text, tls, source):
    shutil.copytree(CERTS, root / "certs")
    s = _load(root, text)
    assert s["turn.tls"] is tls
    assert _source(s, "turn.tls") == source
    assert config_view.as_json(s).count(f'"source": "{source}"') >= 1


def test_turn_tls_true_without_a_certificate_is_one_line(root):
    with pytest.raises(SettingsError) as err:
        _load(root, "turn: {enabled: true, tls: true}\n")
    assert err.value.problems == [
        "turn.tls: true needs the site's own certificate, which the bundled TURN server "
        "serves: set https.certificate, or remove turn.tls (it then follows the certificate)"
    ]


def test_turn_on_the_defaults_renders_plain_turn(root):
    d = _render(root, "turn: {enabled: true}\n")
    conf = (root / COTURN_CONF).read_text()
    assert "no-tls\n" in conf and "tls-listening-port" not in conf
    assert "TURNS_HOST" not in (root / "jitsi-meet/.env").read_text()
    assert d.turn.tls is False


# -- the render: the secret in a 0600 file of coturn's user, on no command line -------

HOSTILE = [
    "two  spaces",
    "  ",  # refused: see below
    "star * glob",
    "question?mark",
    "[bracket]",
    "dollar $HOME $(id) ${X}",
    "single ' quote",
    "tab-free run   of   spaces *?[ab]",
]
GIVEN = [h for h in HOSTILE if coturn_value_problem(h) is None]


def _render(root: Path, text: str):
    write_settings(root, text)
    seed_secrets(root)
    d = build(project.load(root, environ={}))
    apply.apply(d)
    return d


def _coturn_service(root: Path) -> dict:
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    return compose["services"]["jitsi-coturn"]


@pytest.mark.parametrize("secret", GIVEN)
def test_the_render_puts_a_given_secret_in_coturns_file_only(root, secret):
    d = _render(root, f"turn: {{enabled: true, secret: {yaml_str(secret)}}}\n")
    assert d.secret("TURN_CREDENTIALS", {}) == secret
    conf = root / COTURN_CONF
    assert coturn_reads(conf.read_text()) == [secret]
    st = conf.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    svc = _coturn_service(root)
    assert svc["command"] == ["-c", "/etc/coturn/turnserver.conf"]
    assert "environment" not in svc  # not even TURN_CREDENTIALS: docker inspect shows it
    assert secret not in (root / "docker-compose.yml").read_text()


def test_a_new_secret_changes_coturns_label_so_compose_recreates_it(root):
    _render(root, "turn: {enabled: true, secret: first-secret}\n")
    first = _coturn_service(root)["labels"]["io.jitsi-stack.config"]
    _render(root, "turn: {enabled: true, secret: second-secret}\n")
    second = _coturn_service(root)["labels"]["io.jitsi-stack.config"]
    assert len(first) == 16 and first != second
    assert "second-secret" not in second


def test_the_generated_secret_lands_in_coturns_file(root):
    _render(root, "turn: {enabled: true}\n")
    stored = secrets.read(root)["TURN_CREDENTIALS"]
    assert coturn_reads((root / COTURN_CONF).read_text()) == [stored]


def test_only_options_coturn_4_17_knows_are_rendered(root):
    """Every option of the rendered file is in coturn 4.17.1's long_options (coturn/coturn
    8024aa63 src/apps/relay/mainrelay.c lines 1695-1850); no-tlsv1 and no-tlsv1_1 went in
    4.7.0 (cc5e18fc) and no-dtls is deprecated since 4.17.0 (ce26268d: DTLS is opt-in)."""
    known = {  # the long_options entries we use, with their line at 8024aa63
        "listening-port": 1697,
        "tls-listening-port": 1698,
        "external-ip": 1705,
        "min-port": 1707,
        "max-port": 1708,
        "use-auth-secret": 1739,
        "static-auth-secret": 1740,
        "realm": 1744,
        "fingerprint": 1756,
        "no-tls": 1760,
        "no-tcp-relay": 1764,
        "cert": 1771,
        "pkey": 1773,
        "log-file": 1775,
        "simple-log": 1778,
        "no-multicast-peers": 1791,
        "denied-peer-ip": 1794,
        "no-cli": 1803,
    }
    shutil.copytree(CERTS, root / "certs")
    for text in (
        WITH_CERT + "jvb: {advertise_ips: [203.0.113.10]}\nturn: {enabled: true}\n",
        "turn: {enabled: true}\n",
    ):
        _render(root, text)
        for line in (root / COTURN_CONF).read_text().splitlines():
            if line and not line.startswith("#"):
                assert line.split("=")[0] in known, line


# -- the entrypoint, run for real -------------------------------------------------------


def _entrypoint(tmp_path: Path, command: list[str], environ: dict[str, str]) -> list[str]:
    """The argv turnserver gets from the test-bed entrypoint (a stub turnserver records
    it), run in a folder whose files a glob can match."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    out = tmp_path / "argv"
    stub = bin_dir / "turnserver"
    stub.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {out}\n")
    stub.chmod(0o755)
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    for name in ("a", "b", "question1", "glob-file"):
        (cwd / name).touch()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": "/home/x", **environ}
    subprocess.run(["bash", str(ENTRYPOINT), *command], cwd=cwd, env=env, check=True)
    return out.read_bytes().decode().split("\0")[:-1]


# What the old render made of these: the entrypoint splits the expanded argument into
# words and joins them with one space, and globs each word (a word of its own after a
# blank matches files of the current folder; the first is prefixed and matches none).
MANGLED = [
    "two  spaces",
    "trailing ",
    "star *",
    "question ?",
    "bracket [ab]",
    "tab\tinside",
]
KEPT = [
    "one space",
    " leading",
    "question?",
    "dollar $HOME $(id)",
    "single ' quote",
    'double " quote',
    "back\\slash",
]


@pytest.mark.parametrize("secret", MANGLED)
def test_the_old_command_line_mangled_a_hostile_secret(tmp_path, secret):
    argv = _entrypoint(tmp_path, OLD_COMMAND, {"TURN_CREDENTIALS": secret})
    assert argv[:2] == ["-c", "/etc/coturn/turnserver.conf"]
    assert argv[2].startswith("--static-auth-secret=")
    assert argv[2] != f"--static-auth-secret={secret}"


@pytest.mark.parametrize("secret", KEPT)
def test_the_old_command_line_kept_these_but_showed_them_to_ps(tmp_path, secret):
    argv = _entrypoint(tmp_path, OLD_COMMAND, {"TURN_CREDENTIALS": secret})
    assert argv[2] == f"--static-auth-secret={secret}"  # in /proc/PID/cmdline for anyone


@pytest.mark.parametrize("secret", [*GIVEN, None])
def test_the_new_render_gives_the_entrypoint_nothing_to_change(tmp_path, root, secret):
    if secret is None:
        _render(root, "turn: {enabled: true}\n")
        secret = secrets.read(root)["TURN_CREDENTIALS"]
    else:
        _render(root, f"turn: {{enabled: true, secret: {yaml_str(secret)}}}\n")
    svc = _coturn_service(root)
    command = [arg.replace("$$", "$") for arg in svc["command"]]
    environ = dict(line.split("=", 1) for line in svc.get("environment", []))
    argv = _entrypoint(tmp_path, command, environ)
    assert argv == ["-c", "/etc/coturn/turnserver.conf"]
    assert not any(secret in arg for arg in argv)
    assert coturn_reads((root / COTURN_CONF).read_text()) == [secret]


def test_not_as_root_the_secret_file_is_refused_before_anything_is_written(root, monkeypatch):
    write_settings(root, "turn: {enabled: true}\n")
    seed_secrets(root)
    d = build(project.load(root, environ={}))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StackError) as err:
        apply.apply(d)
    assert str(err.value) == (
        "turn.enabled: the bundled TURN server reads its secret from "
        "jitsi-meet/coturn/turnserver.conf, which must belong to its user (uid 65534) and no "
        "one else: run inv as root (e.g. sudo inv start), or use turn.server: external"
    )
    assert not (root / "jitsi-meet").exists() and not (root / "docker-compose.yml").exists()
    assert apply.apply(d, check=True).stale  # --check still compares, as anyone


def test_a_link_planted_for_coturns_file_or_folder_is_never_written_through(tmp_path):
    from tests.support.project import run_cli, tree_snapshot

    root, outside = tmp_path / "project", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim").write_text("precious\n")
    write_settings(root, "turn: {enabled: true, secret: Link-Test-Secret-4711}\n")
    seed_secrets(root)
    assert run_cli(root, "render").returncode == 0
    conf = root / COTURN_CONF
    conf.unlink()
    conf.symlink_to(outside / "victim")
    before = tree_snapshot(outside)
    refused = run_cli(root, "render")
    assert refused.returncode == 1 and f"hand edits in {COTURN_CONF}" in refused.stderr
    forced = run_cli(root, "render", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not conf.is_symlink() and stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert tree_snapshot(outside) == before

    shutil.rmtree(conf.parent)
    conf.parent.symlink_to(outside)  # the whole folder
    write_settings(root, "turn: {enabled: true, secret: Another-Secret-4712}\n")
    proc = run_cli(root, "render")
    assert proc.returncode == 1, proc.stdout
    assert tree_snapshot(outside) == before
    for text in (proc.stdout + proc.stderr, forced.stdout + forced.stderr):
        assert "Secret-471" not in text
