"""Hostile and careless input to the call-center features, through the CLI: advertised
addresses (jvb.advertise_ips, swarm.nodes, turn.host), agent import files (users.import),
the Swarm and Helm output settings, special files wherever the tool reads a file the
operator names, and `inv token` (mint and --check).

Each case runs one command on a project that rendered fine and asserts: the exact error
line(s), the exit code, no traceback, no hang (an alarm), no secret in any output (the
operator's SECRET, the generated ones, every password of the CSV), and not one change
under the root (content, mode, owner and link target of every file).
"""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.project import FIXED_SECRETS, run_cli, tree_snapshot, write_settings
from tests.unit.cli.test_bad_input import SECRET, _copy

PUBLIC = "public_url: https://meet.example.com\n"
LOCAL = "public_url: http://localhost:8443\n"
INTERNAL = PUBLIC + "auth: {enabled: true, type: internal}\n"
JWT = PUBLIC + "auth: {enabled: true, type: jwt, jwt: {app_id: cc}}\n"
HANG_SECONDS = 20


@dataclass(frozen=True)
class Case:
    id: str
    feature: str
    settings: str | None = None
    argv: tuple[str, ...] = ("render",)
    lines: tuple[str, ...] = ()  # the exact error lines ({root}, {csv}, {outside} filled in)
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # damage under the root or beside it
    secrets: tuple[str, ...] = ()  # strings that must never be printed
    stdin: str = ""


# -- addresses ---------------------------------------------------------------------------
# (address, its kind as the error names it, refused even with a local public_url)
UNUSABLE = (
    ("127.0.0.1", "loopback", False),
    ("127.255.255.254", "loopback", False),
    ("::1", "loopback", False),
    ("::ffff:127.0.0.1", "loopback", False),
    ("0.0.0.0", "unspecified", True),  # noqa: S104 - an address to refuse
    ("0.1.2.3", "unspecified", True),
    ("::", "unspecified", True),
    ("169.254.10.20", "link-local", False),
    ("fe80::1", "link-local", False),
    ("224.0.0.1", "multicast", True),
    ("239.255.255.250", "multicast", True),
    ("ff02::1", "multicast", True),
    ("ff0e::10", "multicast", True),
    ("::ffff:224.0.0.251", "multicast", True),
    ("255.255.255.255", "broadcast", True),
    ("240.0.0.1", "reserved", True),
)
CARRY = "which cannot carry media to browsers"


def _address_cases() -> list[Case]:
    cases = []
    for ip, kind, always in UNUSABLE:
        tag = ip.replace(":", "-").replace(".", "-") or "x"
        line = f"error: jvb.advertise_ips: {ip} is a {kind} address, {CARRY}: list the host's public or LAN IP (or auto)"
        cases += [
            Case(
                f"adv-{tag}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: ['{ip}']}}\n",
                lines=(line,),
            ),
            Case(
                f"adv-with-public-{tag}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: [203.0.113.10, '{ip}']}}\n",
                lines=(line,),
            ),
            Case(
                f"adv-port-{tag}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: ['{ip}#10000']}}\n",
                lines=(line.replace(f" {ip} is", f" {ip}#10000 is"),),
            ),
            Case(
                f"adv-env-{tag}",
                "addresses",
                PUBLIC,
                env={"JITSI_STACK_JVB__ADVERTISE_IPS": f"['{ip}']"},
                lines=(line,),
            ),
            Case(
                f"swarm-node-{tag}",
                "addresses",
                PUBLIC + f"swarm: {{nodes: {{media1: ['{ip}']}}}}\n",
                argv=("swarm.render",),
                lines=(
                    f"error: swarm.nodes.media1: {ip} is a {kind} address, {CARRY}: list the node's public or LAN IP",
                ),
            ),
            Case(
                f"turn-host-{tag}",
                "addresses",
                PUBLIC
                + f"turn: {{enabled: true, server: external, host: '{ip}', secret: {SECRET}}}\n",
                lines=(
                    f"error: turn.host: {ip} is a {kind} address, which browsers cannot reach: name the TURN server's public address",
                ),
            ),
        ]
        if always:
            cases.append(
                Case(
                    f"adv-local-url-{tag}",
                    "addresses",
                    LOCAL + f"jvb: {{advertise_ips: ['{ip}']}}\n",
                    lines=(line,),
                )
            )
    list_line = "error: jvb.advertise_ips: must be a list of text values, e.g. [a, b]"
    for name, value in (
        ("auto", "auto"),
        ("auto-quoted", "'auto'"),
        ("auto-upper", "AUTO"),
        ("auto-comma", "'auto, 203.0.113.10'"),
        ("auto-mapping", "{auto: true}"),
        ("auto-number", "42"),
        ("auto-true", "true"),
    ):
        cases.append(
            Case(
                f"adv-scalar-{name}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: {value}}}\n",
                lines=(list_line,),
            )
        )
        cases.append(
            Case(
                f"adv-scalar-stun-{name}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: {value}, stun_server: '127.0.0.1:9'}}\n",
                argv=("addresses", "--refresh"),
                lines=(list_line,),
            )
        )
    cases.append(
        Case(
            "adv-scalar-env-auto",
            "addresses",
            PUBLIC,
            env={
                "JITSI_STACK_JVB__ADVERTISE_IPS": "auto",
                "JITSI_STACK_JVB__STUN_SERVER": "127.0.0.1:9",
            },
            lines=(list_line,),
        )
    )
    bad_item = "error: jvb.advertise_ips: {v} is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)"
    for name, value, shown in (
        ("auto-upper-item", "[AUTO]", "'AUTO'"),
        ("auto-space", "[' auto']", "' auto'"),
        ("ip-space", "[' 203.0.113.10']", "' 203.0.113.10'"),
        ("cidr", "[203.0.113.0/24]", "'203.0.113.0/24'"),
        ("port-text", "['203.0.113.10#http']", "'203.0.113.10#http'"),
        ("two-hashes", "['203.0.113.10#1#2']", "'203.0.113.10#1#2'"),
        ("octal", "['010.1.1.1']", "'010.1.1.1'"),
    ):
        cases.append(
            Case(
                f"adv-item-{name}",
                "addresses",
                PUBLIC + f"jvb: {{advertise_ips: {value}}}\n",
                lines=(bad_item.format(v=shown),),
            )
        )
    cases += [
        Case(
            "adv-item-nested-auto",
            "addresses",
            PUBLIC + "jvb: {advertise_ips: [[auto]]}\n",
            lines=(list_line,),
        ),
        Case(
            "adv-item-zone",
            "addresses",
            PUBLIC + "jvb: {advertise_ips: ['fe80::1%eth0']}\n",
            lines=(
                f"error: jvb.advertise_ips: fe80::1%eth0 is a link-local address, {CARRY}: list the host's public or LAN IP (or auto)",
            ),
        ),
    ]
    return cases


# -- users.import ------------------------------------------------------------------------
PW = ("Tr0ub4dor&3x", "correct-Horse-9", "Sup3r-S3cret-Value-4711", "p@ss w0rd!", '=HYPERLINK("x")')


def _csv(data: bytes | str, name: str = "agents.csv") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root.parent / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def _import(case_id: str, data, lines, secrets=PW, name="agents.csv", code=2) -> Case:
    return Case(
        case_id,
        "users",
        INTERNAL,
        argv=("users.import", "{outside}/" + name),
        lines=tuple(lines),
        setup=_csv(data, name),
        secrets=tuple(secrets),
        code=code,
    )


def _bad_row(row: int, column: str, why: str, total: int = 1) -> tuple[str, str]:
    return (
        f"error: {{csv}}:{row}: column {column}: {why}",
        f"error: {{csv}}: {total} bad line(s): nothing was imported",
    )


OTHER_DOMAIN = "names an account on another domain: accounts live on meet.jitsi: give the name without @ and what follows"
NOT_A_NAME = "not a login name: use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (are the columns swapped? the header is name,password)"
UPPER = "has upper-case letters, and prosody stores names in lower case: write it in lower case"
HEADER = (
    "error: {csv}:1: the first line must be the header name,password (it has {n} other field(s))"
)


def _why_name(cell: str) -> str:
    """What users.import says about a cell in the name column (never the cell itself)."""
    if "@" in cell:
        return OTHER_DOMAIN
    if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", cell.lower()):
        return UPPER
    return NOT_A_NAME


def _user_cases() -> list[Case]:
    cases = []
    # the columns swapped under a right header: the "name" is a password, never shown
    for i, pw in enumerate(PW):
        cases.append(
            _import(
                f"swapped-{i}",
                f"name,password\n{pw},agent{i}\n",
                _bad_row(2, "name", _why_name(pw)),
            )
        )
    cases.append(
        _import(
            "swapped-many",
            "name,password\n" + "".join(f"{pw},agent{i}\n" for i, pw in enumerate(PW)),
            [f"error: {{csv}}:{2 + i}: column name: " + _why_name(pw) for i, pw in enumerate(PW)]
            + [f"error: {{csv}}: {len(PW)} bad line(s): nothing was imported"],
        )
    )
    cases.append(
        _import("swapped-header", f"password,name\n{PW[0]},agent1\n", [HEADER.replace("{n}", "2")])
    )
    cases.append(
        _import("no-header", f"agent1,{PW[0]}\nagent2,{PW[1]}\n", [HEADER.replace("{n}", "2")])
    )
    cases.append(_import("no-header-one-field", f"{PW[2]}\n", [HEADER.replace("{n}", "1")]))
    cases.append(
        _import(
            "header-extra-column",
            f"name,password,email\nagent1,{PW[0]},a@b.c\n",
            [HEADER.replace("{n}", "3")],
        )
    )
    cases.append(
        _import(
            "header-semicolon", f"name;password\nagent1;{PW[0]}\n", [HEADER.replace("{n}", "1")]
        )
    )
    cases.append(
        _import("header-tab", f"name\tpassword\nagent1\t{PW[0]}\n", [HEADER.replace("{n}", "1")])
    )
    cases.append(
        _import(
            "name-at-other-domain",
            f"name,password\nagent1@evil.example,{PW[0]}\n",
            _bad_row(
                2,
                "name",
                "names an account on another domain: accounts live on meet.jitsi: give the name without @ and what follows",
            ),
        )
    )
    cases.append(
        _import("name-upper", f"name,password\nAgent1,{PW[0]}\n", _bad_row(2, "name", UPPER))
    )
    cases.append(
        _import(
            "name-space", f"name,password\nagent one,{PW[0]}\n", _bad_row(2, "name", NOT_A_NAME)
        )
    )
    cases.append(
        _import(
            "name-formula",
            f"name,password\n=cmd|'/C calc'!A0,{PW[0]}\n",
            _bad_row(2, "name", NOT_A_NAME),
        )
    )
    cases.append(
        _import(
            "name-formula-plus", f"name,password\n+1+1,{PW[0]}\n", _bad_row(2, "name", NOT_A_NAME)
        )
    )
    cases.append(
        _import(
            "name-long", f"name,password\n{'a' * 65},{PW[0]}\n", _bad_row(2, "name", NOT_A_NAME)
        )
    )
    cases.append(
        _import(
            "name-huge",
            f"name,password\n{'a' * 100_000},{PW[0]}\n",
            _bad_row(2, "name", NOT_A_NAME),
        )
    )
    cases.append(
        _import(
            "name-empty",
            f"name,password\n,{PW[0]}\n",
            _bad_row(2, "name", "empty: give the agent's login name, e.g. agent042"),
        )
    )
    cases.append(
        _import(
            "name-reserved",
            f"name,password\nfocus,{PW[0]}\n",
            _bad_row(
                2,
                "name",
                "is the name of a Jitsi service account (focus, jibri, jigasi, jvb, recorder, transcriber): pick another",
            ),
        )
    )
    cases.append(
        _import(
            "name-control",
            f"name,password\nagent\x1b[31m1,{PW[0]}\n",
            _bad_row(2, "name", NOT_A_NAME),
        )
    )
    cases.append(
        _import("name-unicode", f"name,password\nagént1,{PW[0]}\n", _bad_row(2, "name", NOT_A_NAME))
    )
    cases.append(
        _import(
            "name-rtl", f"name,password\nagent\u202e1,{PW[0]}\n", _bad_row(2, "name", NOT_A_NAME)
        )
    )
    cases.append(
        _import(
            "duplicate",
            f"name,password\nagent1,{PW[0]}\nagent1,{PW[1]}\n",
            _bad_row(3, "name", "the same user as line 2: list each user once"),
        )
    )
    cases.append(
        _import(
            "duplicate-domain",
            f"name,password\nagent1,{PW[0]}\nagent1@meet.jitsi,{PW[1]}\n",
            _bad_row(3, "name", "the same user as line 2: list each user once"),
        )
    )
    cases.append(
        _import(
            "duplicate-spaces",
            f"name,password\nagent1,{PW[0]}\n agent1 ,{PW[1]}\n",
            _bad_row(3, "name", "the same user as line 2: list each user once"),
        )
    )
    cases.append(
        _import(
            "password-short",
            "name,password\nagent1,Sh0rt!\n",
            _bad_row(2, "password", "shorter than 8 characters: use a longer one"),
            secrets=("Sh0rt!",),
        )
    )
    cases.append(
        _import(
            "password-empty",
            "name,password\nagent1,\n",
            _bad_row(2, "password", "shorter than 8 characters: use a longer one"),
        )
    )
    cases.append(
        _import(
            "password-huge",
            "name,password\nagent1," + "P" * 5000 + "\n",
            _bad_row(2, "password", "longer than 1024 characters"),
            secrets=("P" * 100,),
        )
    )
    cases.append(
        _import(
            "password-tab",
            f"name,password\nagent1,{PW[0]}\tx\n",
            _bad_row(2, "password", "has a control character (newline, tab, ...): remove it"),
        )
    )
    cases.append(
        _import(
            "password-escape",
            f"name,password\nagent1,{PW[0]}\x1b[2J\n",
            _bad_row(2, "password", "has a control character (newline, tab, ...): remove it"),
        )
    )
    cases.append(
        _import(
            "password-newline-quoted",
            f'name,password\nagent1,"{PW[0]}\nx"\n',
            _bad_row(3, "password", "has a control character (newline, tab, ...): remove it"),
        )
    )
    cases.append(
        _import(
            "password-space",
            f"name,password\nagent1, {PW[0]}\n",
            _bad_row(2, "password", "starts or ends with a space (a copy-paste slip?): remove it"),
        )
    )
    cases.append(
        _import(
            "password-is-name",
            "name,password\nagent0001,AGENT0001\n",
            _bad_row(2, "password", "is the user name: pick another"),
            secrets=(),
        )
    )
    cases.append(
        _import(
            "fields-three",
            f"name,password\nagent1,{PW[0]},x\n",
            _bad_row(
                2,
                "name",
                "3 fields, expected 2 (name,password): quote a password with a comma in double quotes",
            ),
        )
    )
    cases.append(
        _import(
            "fields-one",
            f"name,password\n{PW[2]}\n",
            _bad_row(
                2,
                "name",
                "1 fields, expected 2 (name,password): quote a password with a comma in double quotes",
            ),
        )
    )
    cases.append(
        _import(
            "unquoted-comma",
            "name,password\nagent1,Passw0rd,with-comma\n",
            _bad_row(
                2,
                "name",
                "3 fields, expected 2 (name,password): quote a password with a comma in double quotes",
            ),
            secrets=("Passw0rd,with-comma",),
        )
    )
    cases.append(
        _import(
            "quote-unbalanced",
            f'name,password\nagent1,"{PW[0]}\n',
            [
                "error: {csv}:2: not valid CSV (unexpected end of data): check the quotes on that line"
            ],
        )
    )
    cases.append(
        _import(
            "quote-stray",
            f'name,password\nagent1,"{PW[0]}"x\n',
            [
                "error: {csv}:2: not valid CSV (',' expected after '\"'): check the quotes on that line"
            ],
        )
    )
    cases.append(
        _import(
            "empty-file", "", ["error: {csv}: is empty: the first line is the header name,password"]
        )
    )
    cases.append(
        _import(
            "blank-lines",
            "\n\n \n",
            ["error: {csv}: is empty: the first line is the header name,password"],
        )
    )
    cases.append(
        _import("header-only", "name,password\n", ["error: {csv}: has a header but no accounts"])
    )
    cases.append(
        _import(
            "header-only-bom",
            "\ufeffname,password\n\n",
            ["error: {csv}: has a header but no accounts"],
        )
    )
    cases.append(
        _import(
            "utf16-bom",
            ("name,password\nagent1," + PW[0] + "\n").encode("utf-16"),
            ["error: {csv}: is not UTF-8 text: save it as UTF-8 CSV"],
        )
    )
    cases.append(
        _import(
            "utf16-le",
            ("name,password\nagent1," + PW[0] + "\n").encode("utf-16-le"),
            ["error: {csv}: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV"],
        )
    )
    cases.append(
        _import(
            "latin1",
            ("name,password\nagent1,Pässwörter-9\n").encode("latin-1"),
            ["error: {csv}: is not UTF-8 text: save it as UTF-8 CSV"],
            secrets=("Pässwörter-9", "P\xe4ssw"),
        )
    )
    cases.append(
        _import(
            "xlsx",
            b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40,
            ["error: {csv}: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV"],
            secrets=(),
        )
    )
    cases.append(
        _import(
            "nul",
            f"name,password\nagent1,{PW[0]}\0\n",
            ["error: {csv}: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV"],
        )
    )
    cases.append(
        _import(
            "huge-file",
            "name,password\n" + f"agent1,{PW[0]}\n" + "#" * (3 << 20) + "\n",
            ["error: {csv}: is more than 1 MiB, the most an import file may have: split it"],
        )
    )
    cases.append(
        _import(
            "huge-row",
            "name,password\nagent1," + "x" * 200_000 + "\n",
            [
                "error: {csv}:2: not valid CSV (field larger than field limit (131072)): check the quotes on that line"
            ],
            secrets=("x" * 100,),
        )
    )
    many = "name,password\n" + "".join(f"{PW[i % len(PW)]},agent{i}\n" for i in range(25))
    problems = [
        f"error: {{csv}}:{i + 2}: column name: " + _why_name(PW[i % len(PW)]) for i in range(20)
    ]
    cases.append(
        _import(
            "many-bad",
            many,
            [
                *problems,
                "error: ... and 5 more",
                "error: {csv}: 25 bad line(s): nothing was imported",
            ],
        )
    )
    # the file itself: only a regular file, never waited on
    cases += [
        Case(
            "csv-missing",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}/nowhere.csv"),
            lines=(
                "error: {outside}/nowhere.csv: no such file: give the CSV of agents (name,password)",
            ),
        ),
        Case(
            "csv-directory",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}"),
            lines=("error: {outside}: is a directory, not a regular file: give the CSV file",),
        ),
        Case(
            "csv-fifo",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}/agents.csv"),
            setup=lambda r: os.mkfifo(r.parent / "agents.csv"),
            lines=(
                "error: {outside}/agents.csv: is a named pipe (FIFO), not a regular file: give the CSV file",
            ),
        ),
        Case(
            "csv-dev-zero",
            "users",
            INTERNAL,
            argv=("users.import", "/dev/zero"),
            lines=("error: /dev/zero: is a device, not a regular file: give the CSV file",),
        ),
        Case(
            "csv-dev-urandom",
            "users",
            INTERNAL,
            argv=("users.import", "/dev/urandom"),
            lines=("error: /dev/urandom: is a device, not a regular file: give the CSV file",),
        ),
        Case(
            "csv-link",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}/agents.csv"),
            setup=lambda r: (r.parent / "agents.csv").symlink_to("/etc/passwd"),
            lines=(
                "error: {outside}/agents.csv: is a symbolic link, not a regular file: give the CSV file",
            ),
        ),
        Case(
            "csv-link-to-fifo",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}/agents.csv"),
            setup=lambda r: (
                os.mkfifo(r.parent / "fifo"),
                (r.parent / "agents.csv").symlink_to(r.parent / "fifo"),
            ),
            lines=(
                "error: {outside}/agents.csv: is a symbolic link, not a regular file: give the CSV file",
            ),
        ),
        Case(
            "csv-link-to-zero",
            "users",
            INTERNAL,
            argv=("users.import", "{outside}/agents.csv"),
            setup=lambda r: (r.parent / "agents.csv").symlink_to("/dev/zero"),
            lines=(
                "error: {outside}/agents.csv: is a symbolic link, not a regular file: give the CSV file",
            ),
        ),
        Case(
            "csv-proc",
            "users",
            INTERNAL,
            argv=("users.import", "/proc/self/environ"),
            lines=(
                "error: /proc/self/environ: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV",
            ),
        ),
    ]
    return cases


# -- Swarm and Helm output settings ---------------------------------------------------------
K8S = "is not a Kubernetes name: use up to 53 lowercase letters, digits and '-', starting and ending with a letter or digit"


def _output_cases() -> list[Case]:
    cases = []
    for name, value, shown in (
        ("upper", "Jitsi", "'Jitsi'"),
        ("underscore", "jitsi_meet", "'jitsi_meet'"),
        ("dash-start", "-jitsi", "'-jitsi'"),
        ("dash-end", "jitsi-", "'jitsi-'"),
        ("long", "a" * 54, "'" + "a" * 54 + "'"),
        ("dot", "jitsi.meet", "'jitsi.meet'"),
        ("space", "'jit si'", "'jit si'"),
        ("empty", "''", "''"),
        ("unicode", "jitsí", "'jitsí'"),
        ("shell", "'x; rm -rf /'", "'x; rm -rf /'"),
    ):
        for key in ("release", "namespace"):
            cases.append(
                Case(
                    f"helm-{key}-{name}",
                    "output",
                    PUBLIC + f"helm: {{{key}: {value}}}\n",
                    argv=("helm.values",),
                    lines=(f"error: helm.{key}: {shown} {K8S}",),
                )
            )
    for key in ("release", "namespace", "chart_version"):
        cases.append(
            Case(
                f"helm-{key}-newline",
                "output",
                PUBLIC + f'helm: {{{key}: "jit\\nsi"}}\n',
                argv=("helm.values",),
                lines=(f"error: helm.{key}: must be a single line: remove the line break",),
            )
        )
    version = "is outside the supported range 3.4.x (the values are checked against chart 3.4.0): set helm.chart_version: 3.4.0"
    for name, value, shown in (
        ("text", "latest", "latest"),
        ("major", "2.0.0", "2.0.0"),
        ("old", "1.4.9", "1.4.9"),
        ("shell", "'1.5.1; rm -rf /'", "1.5.1; rm -rf /"),
        ("empty", "''", ""),
        ("v-prefix", "v1.5.1", "v1.5.1"),
    ):
        cases.append(
            Case(
                f"helm-version-{name}",
                "output",
                PUBLIC + f"helm: {{chart_version: {value}}}\n",
                argv=("helm.values",),
                lines=(f"error: helm.chart_version: {shown} {version}",),
            )
        )
    for name, value, shown in (("number", "1.5", "1.5"), ("list", "[1.5.1]", "['1.5.1']")):
        cases.append(
            Case(
                f"helm-version-{name}",
                "output",
                PUBLIC + f"helm: {{chart_version: {value}}}\n",
                argv=("helm.values",),
                lines=(f"error: helm.chart_version: {shown} must be text: quote it",),
            )
        )
    outside = "is outside the project {root}: give a path inside it, e.g. --to helm/values.yaml"
    managed = (
        "is a file jitsi-stack manages or reads: give another file, e.g. --to helm/values.yaml"
    )
    cases += [
        Case(
            "helm-to-outside",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "/tmp/values.yaml"),
            lines=("error: --to: /tmp/values.yaml " + outside,),
        ),
        Case(
            "helm-to-dotdot",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/../values.yaml"),
            lines=("error: --to: {root}/../values.yaml " + outside,),
        ),
        Case(
            "helm-to-settings",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/jitsi-stack.yml"),
            lines=("error: --to: jitsi-stack.yml " + managed,),
        ),
        Case(
            "helm-to-secrets",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/.jitsi-stack/secrets.env"),
            lines=("error: --to: .jitsi-stack/secrets.env " + managed,),
        ),
        Case(
            "helm-to-env",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/jitsi-meet/.env"),
            lines=("error: --to: jitsi-meet/.env " + managed,),
        ),
        Case(
            "helm-to-link",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/values.yaml"),
            setup=lambda r: (r / "values.yaml").symlink_to("/etc/hostname"),
            lines=(
                "error: values.yaml: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
            ),
            code=1,
        ),
        Case(
            "helm-to-fifo",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/values.yaml"),
            setup=lambda r: os.mkfifo(r / "values.yaml"),
            lines=(
                "error: values.yaml: is a named pipe (FIFO), not a regular file: move it away and re-run",
            ),
            code=1,
        ),
        Case(
            "helm-to-dir",
            "output",
            PUBLIC,
            argv=("helm.values", "--to", "{root}/jitsi-meet/web"),
            lines=("error: --to: jitsi-meet/web " + managed,),
        ),
        Case(
            "helm-ldap",
            "output",
            PUBLIC
            + "auth: {enabled: true, type: ldap, ldap: {url: 'ldaps://ldap.example.com', base: 'dc=example,dc=com'}}\n",
            argv=("helm.values",),
            lines=(
                "error: auth.type: ldap: inv helm.values supports internal and jwt authentication: use one of them, or configure the chart by hand",
            ),
            code=1,
        ),
    ]
    docker_host = "is not a Docker host: use ssh://user@host, tcp://host:2376 or unix:///path, or leave it empty"
    for name, value, shown in (
        ("http", "'http://manager'", "'http://manager'"),
        ("bare", "manager1", "'manager1'"),
        ("space", "'ssh://a b'", "'ssh://a b'"),
        ("option", "'--tlsverify=false'", "'--tlsverify=false'"),
    ):
        cases.append(
            Case(
                f"swarm-host-{name}",
                "output",
                PUBLIC + f"swarm: {{docker_host: {value}, nodes: {{m1: [203.0.113.11]}}}}\n",
                argv=("swarm.render",),
                lines=(f"error: swarm.docker_host: {shown} {docker_host}",),
            )
        )
    for name, value, shown in (
        ("no-value", "jitsi.core", "'jitsi.core'"),
        ("space", "'a = b'", "'a = b'"),
        ("two", "'a=b=c'", "'a=b=c'"),
        ("quote", "'a=\"b\"'", "'a=\"b\"'"),
    ):
        for key in ("core_label", "bridge_label"):
            cases.append(
                Case(
                    f"swarm-{key}-{name}",
                    "output",
                    PUBLIC + f"swarm: {{{key}: {value}, nodes: {{m1: [203.0.113.11]}}}}\n",
                    argv=("swarm.render",),
                    lines=(
                        f"error: swarm.{key}: {shown} is not a node label: write KEY=VALUE, e.g. jitsi.jvb=true",
                    ),
                )
            )
    for name, value, line in (
        (
            "not-ip",
            "{m1: [not-an-ip]}",
            "error: swarm.nodes.m1: 'not-an-ip' is not an IP address: write one like 203.0.113.11",
        ),
        (
            "number",
            "{m1: [42]}",
            "error: swarm.nodes.m1: 42 is not an IP address: write one like 203.0.113.11",
        ),
        (
            "empty",
            "{m1: []}",
            "error: swarm.nodes.m1: must be a list of the node's IP addresses, e.g. [203.0.113.11]",
        ),
        (
            "mapping",
            "{m1: {ip: 203.0.113.11}}",
            "error: swarm.nodes.m1: must be a list of the node's IP addresses, e.g. [203.0.113.11]",
        ),
        (
            "null",
            "{m1: null}",
            "error: swarm.nodes.m1: must be a list of the node's IP addresses, e.g. [203.0.113.11]",
        ),
        (
            "host",
            "{'bad host!': [203.0.113.11]}",
            "error: swarm.nodes: 'bad host!' is not a node hostname: use the name `docker node ls` shows",
        ),
        (
            "host-long",
            "{" + "a" * 64 + ": [203.0.113.11]}",
            "error: swarm.nodes: '"
            + "a" * 54
            + "...' is not a node hostname: use the name `docker node ls` shows",
        ),
        (
            "cidr",
            "{m1: [203.0.113.0/24]}",
            "error: swarm.nodes.m1: '203.0.113.0/24' is not an IP address: write one like 203.0.113.11",
        ),
        (
            "list",
            "[m1, m2]",
            "error: swarm.nodes: must be a mapping NAME: value",
        ),
    ):
        cases.append(
            Case(
                f"swarm-nodes-{name}",
                "output",
                PUBLIC + f"swarm: {{nodes: {value}}}\n",
                argv=("swarm.render",),
                lines=(line,),
            )
        )
    agents = "auth: {enabled: true}\nswarm: {nodes: {m1: [203.0.113.11]}, prosody_node: %s}\n"
    host_fix = "is not a node hostname: use the name `docker node ls` shows"
    for name, value, line in (
        ("host", "'bad host!'", f"error: swarm.prosody_node: 'bad host!' {host_fix}"),
        ("number", "42", "error: swarm.prosody_node: 42 must be text: quote it"),
        ("list", "[n1]", "error: swarm.prosody_node: ['n1'] must be text: quote it"),
        (
            "long",
            "b" * 64,
            "error: swarm.prosody_node: '" + "b" * 54 + f"...' {host_fix}",
        ),
        (
            "empty",
            "''",
            "error: swarm.prosody_node: empty with auth.type internal: prosody keeps the "
            "agents' accounts in a volume of one node: name that node (`docker node ls`), "
            "or use auth.type: jwt",
        ),
    ):
        cases.append(
            Case(
                f"swarm-prosody-node-{name}",
                "output",
                PUBLIC + agents % value,
                argv=("swarm.render",),
                lines=(line,),
            )
        )
    return cases


# -- special files wherever the tool reads a file the operator names ---------------------------
def _fifo_at(rel: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
        os.mkfifo(path)

    return setup


def _link_at(rel: str, target: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
        path.symlink_to(target)

    return setup


def _big_at(rel: str, size: int, head: bytes = b"") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.unlink(missing_ok=True)
        with open(path, "wb") as handle:
            handle.write(head)
            handle.truncate(size)

    return setup


def _both(*steps):
    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


EXTRA = PUBLIC + "compose: {extra_files: [platform.yml]}\n"
FRONT = PUBLIC + "frontend: {env_file: front.env}\n"


def _file_cases() -> list[Case]:
    reg = "is {kind}, not a regular file"
    return [
        Case(
            "settings-link-dev-zero",
            "files",
            setup=_link_at("jitsi-stack.yml", "/dev/zero"),
            lines=("error: jitsi-stack.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "settings-link-fifo",
            "files",
            setup=_both(_fifo_at("real.yml"), _link_at("jitsi-stack.yml", "real.yml")),
            lines=("error: jitsi-stack.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "local-fifo",
            "files",
            PUBLIC,
            setup=_fifo_at("jitsi-stack.local.yml"),
            lines=("error: jitsi-stack.local.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "local-dev-zero",
            "files",
            PUBLIC,
            setup=_link_at("jitsi-stack.local.yml", "/dev/zero"),
            lines=("error: jitsi-stack.local.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "local-huge",
            "files",
            PUBLIC,
            setup=_big_at("jitsi-stack.local.yml", 2 << 20, b"# x\n"),
            lines=(
                "error: jitsi-stack.local.yml: is 2097152 bytes, more than the 1 MiB a settings file may have",
            ),
        ),
        Case(
            "settings-env-dev-zero",
            "files",
            PUBLIC,
            env={"JITSI_STACK_SETTINGS": "/dev/zero"},
            lines=("error: /dev/zero: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "settings-env-fifo",
            "files",
            PUBLIC,
            env={"JITSI_STACK_SETTINGS": "{root}/pipe.yml"},
            setup=_fifo_at("pipe.yml"),
            lines=("error: pipe.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "profile-fifo",
            "files",
            PUBLIC,
            env={"JITSI_STACK_PROFILE": "prod"},
            setup=_fifo_at("jitsi-stack.prod.yml"),
            lines=("error: jitsi-stack.prod.yml: is not a regular file: it must be a YAML file",),
        ),
        Case(
            "secrets-fifo",
            "files",
            PUBLIC,
            setup=_fifo_at(".jitsi-stack/secrets.env"),
            code=1,
            lines=(
                f"error: .jitsi-stack/secrets.env: {reg.format(kind='a named pipe (FIFO)')}: move it away and re-run",
            ),
        ),
        Case(
            "secrets-link-zero",
            "files",
            PUBLIC,
            setup=_link_at(".jitsi-stack/secrets.env", "/dev/zero"),
            code=1,
            lines=(
                "error: .jitsi-stack/secrets.env: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
            ),
        ),
        Case(
            "secrets-huge",
            "files",
            PUBLIC,
            setup=_big_at(".jitsi-stack/secrets.env", 3 << 20, b"A=1\n"),
            code=1,
            lines=(
                "error: .jitsi-stack/secrets.env: is more than 1 MiB, the most this file may have: restore it from a backup or move it away",
            ),
        ),
        Case(
            "state-fifo",
            "files",
            PUBLIC,
            setup=_fifo_at(".jitsi-stack/state.json"),
            code=1,
            lines=(
                f"error: .jitsi-stack/state.json: {reg.format(kind='a named pipe (FIFO)')}: move it away and re-run",
            ),
        ),
        Case(
            "state-huge",
            "files",
            PUBLIC,
            setup=_big_at(".jitsi-stack/state.json", 3 << 20, b"{}"),
            code=1,
            lines=(
                "error: .jitsi-stack/state.json: is more than 1 MiB, the most this file may have: restore it from a backup or move it away",
            ),
        ),
        Case(
            "extra-fifo",
            "files",
            EXTRA,
            setup=_fifo_at("platform.yml"),
            lines=(
                f"error: compose.extra_files: platform.yml: {reg.format(kind='a named pipe (FIFO)')}: name a compose file",
            ),
        ),
        Case(
            "extra-dir",
            "files",
            EXTRA,
            setup=lambda r: (r / "platform.yml").mkdir(),
            lines=(
                f"error: compose.extra_files: platform.yml: {reg.format(kind='a directory')}: name a compose file",
            ),
        ),
        Case(
            "extra-dev-zero",
            "files",
            EXTRA,
            setup=_link_at("platform.yml", "/dev/zero"),
            lines=(
                f"error: compose.extra_files: platform.yml: {reg.format(kind='a device')}: name a compose file",
            ),
        ),
        Case(
            "extra-link-fifo",
            "files",
            EXTRA,
            setup=_both(_fifo_at("pipe"), _link_at("platform.yml", "pipe")),
            lines=(
                f"error: compose.extra_files: platform.yml: {reg.format(kind='a named pipe (FIFO)')}: name a compose file",
            ),
        ),
        Case(
            "extra-huge",
            "files",
            EXTRA,
            setup=_big_at("platform.yml", 3 << 20, b"services: {}\n"),
            lines=(
                "error: compose.extra_files: platform.yml: is more than 1 MiB, the most a compose file may have: name a compose file",
            ),
        ),
        Case(
            "extra-missing",
            "files",
            EXTRA,
            lines=("error: compose.extra_files: platform.yml does not exist: fix the path",),
        ),
        Case(
            "front-fifo",
            "files",
            FRONT,
            setup=_fifo_at("front.env"),
            lines=("error: frontend.env_file: front.env is not a regular file: name a file",),
        ),
        Case(
            "front-dev-zero",
            "files",
            FRONT,
            setup=_link_at("front.env", "/dev/zero"),
            lines=("error: frontend.env_file: front.env is a symbolic link: name the real file",),
        ),
        Case(
            "front-huge",
            "files",
            FRONT,
            setup=_big_at("front.env", 3 << 20, b"A=1\n"),
            lines=(
                "error: frontend.env_file: front.env: is more than 1 MiB, the most a frontend env file may have: name the frontend's .env file",
            ),
        ),
        Case(
            "front-dir",
            "files",
            FRONT,
            setup=lambda r: (r / "front.env").mkdir(),
            lines=("error: frontend.env_file: front.env is not a regular file: name a file",),
        ),
        Case(
            "token-check-stdin-huge",
            "files",
            JWT,
            argv=("token", "--check", "-"),
            stdin="A" * (3 << 20),
            code=2,
            lines=("error: token --check: more than 1 MiB on stdin: pass one token",),
        ),
    ]


# -- inv token: mint and --check --------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(payload: str, header: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    secret = FIXED_SECRETS["JWT_APP_SECRET"]
    h, p = _b64(header.encode()), _b64(payload.encode())
    mac = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{_b64(mac)}"


def _token_cases() -> list[Case]:
    ttl = "error: --ttl: {v} is not a whole number of seconds between 1 and 31622400 (366 days): e.g. --ttl 3600"
    cases = [
        Case(
            f"mint-ttl-{name}",
            "tokens",
            JWT,
            argv=("token", "--room", "Sales", "--name", "Alice", "--ttl", value),
            lines=(ttl.format(v=repr(value)),),
        )
        for name, value in (
            ("zero", "0"),
            ("negative", "-5"),
            ("float", "1.5"),
            ("nan", "nan"),
            ("inf", "inf"),
            ("huge", "1e400"),
            ("big-int", "9" * 40),
            ("text", "an hour"),
            ("beyond", "31622401"),
            ("hex", "0x10"),
            ("space", " 60 "),
            ("underscore", "1_000"),
        )
    ]
    setting = "error: auth.jwt.token_ttl: {v} must be at most 31622400 (366 days): mint shorter-lived tokens"
    cases += [
        Case(
            "setting-ttl-huge",
            "tokens",
            JWT.replace("app_id: cc", "app_id: cc, token_ttl: 99999999999999999999"),
            argv=("token", "--room", "Sales", "--name", "Alice"),
            lines=(setting.format(v="99999999999999999999"),),
        ),
        Case(
            "setting-ttl-beyond",
            "tokens",
            JWT.replace("app_id: cc", "app_id: cc, token_ttl: 31622401"),
            argv=("token", "--room", "Sales", "--name", "Alice"),
            lines=(setting.format(v="31622401"),),
        ),
        Case(
            "setting-ttl-float",
            "tokens",
            JWT.replace("app_id: cc", "app_id: cc, token_ttl: 1.5"),
            lines=(
                "error: auth.jwt.token_ttl: 1.5 is not a whole number: write a number like 3600",
            ),
        ),
        Case(
            "setting-ttl-inf",
            "tokens",
            JWT.replace("app_id: cc", "app_id: cc, token_ttl: .inf"),
            lines=(
                "error: auth.jwt.token_ttl: inf is not a whole number: write a number like 3600",
            ),
        ),
        Case(
            "setting-ttl-negative",
            "tokens",
            JWT.replace("app_id: cc", "app_id: cc, token_ttl: -1"),
            lines=("error: auth.jwt.token_ttl: -1 must be greater than 0",),
        ),
    ]
    base = '"iss":"cc","aud":"cc","sub":"meet.jitsi","room":"*"'
    for name, exp, rule, message in (
        (
            "exp-nan",
            "NaN",
            "claims",
            "exp is nan, prosody requires a finite number: mint exp as seconds since the epoch",
        ),
        (
            "exp-inf",
            "Infinity",
            "claims",
            "exp is inf, prosody requires a finite number: mint exp as seconds since the epoch",
        ),
        (
            "exp-minus-inf",
            "-Infinity",
            "claims",
            "exp is -inf, prosody requires a finite number: mint exp as seconds since the epoch",
        ),
        (
            "exp-overflow",
            "1e400",
            "claims",
            "exp is inf, prosody requires a finite number: mint exp as seconds since the epoch",
        ),
        (
            "exp-text",
            '"soon"',
            "claims",
            "exp is 'soon', prosody requires a number: mint exp as seconds since the epoch",
        ),
        (
            "exp-bool",
            "true",
            "claims",
            "exp is True, prosody requires a number: mint exp as seconds since the epoch",
        ),
        (
            "exp-past",
            "-99999999999",
            "expired",
            "the token expired more than 100 years ago (exp -99999999999); prosody allows no leeway: mint a new one",
        ),
    ):
        cases.append(
            Case(
                f"check-{name}",
                "tokens",
                JWT,
                argv=("token", "--check", _token("{" + base + f',"exp":{exp}' + "}")),
                lines=(f"error: {rule}: {message}",),
                code=1,
            )
        )
    for name, token, line in (
        (
            "empty",
            " ",
            "error: malformed: the token has 0 part(s), a JWT has 3: pass the whole token as mint or a JWT library makes it (header.payload.signature)",
        ),
        (
            "garbage",
            "a.b",
            "error: malformed: the token has 2 part(s), a JWT has 3: pass the whole token as mint or a JWT library makes it (header.payload.signature)",
        ),
        (
            "alg-none",
            _token("{" + base + "}", '{"alg":"none","typ":"JWT"}'),
            "error: alg: the token is unsigned (alg 'none'), prosody refuses it: sign it with HS256 and the app secret",
        ),
        (
            "nested",
            _token("{" + base + ',"x":' + "[" * 100_000 + "]" * 100_000 + "}"),
            "error: malformed: the payload is not base64url JSON: pass the whole token as mint or a JWT library makes it (header.payload.signature)",
        ),
        (
            "other-secret",
            _token("{" + base + "}").rsplit(".", 1)[0] + "." + _b64(b"x" * 32),
            "error: signature: the signature does not match the app secret: sign with the auth.jwt.app_secret prosody uses (generated: .jitsi-stack/secrets.env)",
        ),
    ):
        cases.append(
            Case(
                f"check-{name}",
                "tokens",
                JWT,
                argv=("token", "--check", token),
                lines=(line,),
                code=1,
            )
        )
    return cases


CASES = _address_cases() + _user_cases() + _output_cases() + _file_cases() + _token_cases()


def _all_secrets(case: Case) -> tuple[str, ...]:
    return (SECRET, *FIXED_SECRETS.values(), *case.secrets)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer in {HANG_SECONDS}s")


def _fill(text: str, fill: dict[str, str]) -> str:
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text


def run_case(case: Case, good: Path, tmp: Path):
    """Set the case up on a copy of the good project, run it; (root, outcome, before, after)."""
    root = tmp / "project"
    _copy(good, root)
    if case.settings is not None:
        write_settings(root, case.settings)
    if case.setup is not None:
        case.setup(root)
    fill = {"root": str(root), "outside": str(tmp)}
    argv = tuple(_fill(a, fill) for a in case.argv)
    env = {k: _fill(v, fill) for k, v in case.env.items()}
    before = tree_snapshot(root)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        proc = run_cli(root, *argv, env=env, stdin=case.stdin)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return root, proc, before, tree_snapshot(root)


def expected_lines(case: Case, root: Path) -> list[str]:
    fill = {
        "{root}": str(root),
        "{outside}": str(root.parent),
        "{csv}": str(root.parent / "agents.csv"),
    }
    lines = []
    for line in case.lines:
        for key, value in fill.items():
            line = line.replace(key, value)
        lines.append(line)
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_in_one_line_and_changes_nothing(case, good_tree, tmp_path):
    root, proc, before, after = run_case(case, good_tree, tmp_path)
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    errors = [line for line in proc.lines if line.startswith("error: ")]
    assert (proc.returncode, errors) == (case.code, expected_lines(case, root)), proc.lines[:30]
    for secret in _all_secrets(case):
        assert secret not in text, f"{secret[:20]}... printed"
    assert after == before


def test_ids_are_unique_and_every_feature_has_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    counts = {}
    for case in CASES:
        counts[case.feature] = counts.get(case.feature, 0) + 1
    assert set(counts) == {"addresses", "users", "output", "files", "tokens"}
    assert sum(counts.values()) >= 250, counts


def test_special_files_are_never_waited_on(tmp_path):
    """The bounded reader itself: a FIFO with no writer answers at once, a device is not
    read at all, a regular file over the limit is refused before it is read."""
    from jitsi_stack.errors import StackError
    from jitsi_stack.store.files import read_regular

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 2049)
    (tmp_path / "ok").write_bytes(b"x" * 2048)
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    for name, kind in (("fifo", "a named pipe (FIFO)"), ("link", "a symbolic link")):
        with pytest.raises(StackError, match=re.escape(f"{name}: is {kind}, not a regular file")):
            read_regular(tmp_path / name, label=name, limit=2048, what="a test file")
    with pytest.raises(StackError, match="is a device, not a regular file"):
        read_regular(Path("/dev/zero"), label="zero", limit=2048, what="a test file")
    with pytest.raises(StackError, match="is more than 2 KiB, the most a test file may have"):
        read_regular(tmp_path / "big", label="big", limit=2048, what="a test file")
    assert read_regular(tmp_path / "ok", label="ok", limit=2048, what="a test file") == b"x" * 2048
    assert (
        read_regular(tmp_path / "link", label="link", limit=2048, what="a test file", follow=True)
        == b"x" * 2048
    )
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_metrics_do_not_break_helm_values_and_are_named_as_not_carried_over(good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, PUBLIC + "metrics: {enabled: true}\n")
    proc = run_cli(root, "helm.values", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    dropped = {row["setting"]: row["why"] for row in report["not_carried_over"]}
    assert "metrics" in dropped, report
    text = (root / "helm" / "values.yaml").read_text()
    assert "prometheus" not in text and "grafana" not in text


@pytest.mark.parametrize(("ip", "kind", "always"), UNUSABLE, ids=[u[0] for u in UNUSABLE])
def test_a_local_public_url_may_advertise_what_only_this_host_reaches(
    ip, kind, always, good_tree, tmp_path
):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, LOCAL + f"jvb: {{advertise_ips: ['{ip}']}}\n")
    proc = run_cli(root, "render")
    assert (proc.returncode == 2) == always, proc.lines


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "-Infinity", "1e400", "-" + "9" * 4000])
def test_token_check_json_is_strict_json_whatever_the_client_sent(exp, good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    write_settings(root, JWT)
    token = _token('{"iss":"cc","aud":"cc","sub":"meet.jitsi","room":"*","exp":' + exp + "}")
    before = tree_snapshot(root)
    proc = run_cli(root, "token", "--check", token, "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    verdict = json.loads(proc.stdout, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert verdict["ok"] is False and verdict["rule"] in ("claims", "expired"), verdict["message"]
    assert len(verdict["message"]) < 300
    assert tree_snapshot(root) == before
