"""jvb.count: several bridges on one host, derived once in the Deployment: ports, names,
nicknames and folders per bridge; targets; validation with one line per problem."""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import pytest

from jitsi_stack.ops.stack import Stack, resolve_targets
from tests.support.project import deployment, run_cli, seed_secrets, tree_snapshot, write_settings


def bridges_of(root, text: str):
    write_settings(root, text)
    return deployment(root, environ={})


def test_each_bridge_has_its_own_ports_nickname_and_name(root):
    d = bridges_of(root, "jvb: {count: 3}\nports: {jvb_media: 10000, jvb_colibri: 8080}\n")
    assert [b.name for b in d.bridges] == ["jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"]
    assert [b.container for b in d.bridges] == [
        "callcenter-jitsi-jvb",
        "callcenter-jitsi-jvb2",
        "callcenter-jitsi-jvb3",
    ]
    assert [b.ports[0].compose() for b in d.bridges] == [
        "10000:10000/udp",
        "10001:10001/udp",
        "10002:10002/udp",
    ]
    assert [b.ports[1].compose() for b in d.bridges] == [
        "127.0.0.1:8080:8080",
        "127.0.0.1:8081:8080",
        "127.0.0.1:8082:8080",
    ]
    assert d.bridges[0].env_literals == ("JVB_MUC_NICKNAME=jvb",)
    assert d.bridges[2].env_literals == ("JVB_PORT=10002", "JVB_MUC_NICKNAME=jvb3")
    assert "JVB_PORT" in d.bridges[0].env_names and "JVB_PORT" not in d.bridges[1].env_names
    assert {b.kind for b in d.bridges} == {"jvb"}
    assert {b.image for b in d.bridges} == {"ghcr.io/jitsi/jvb:stable-11146-2"}
    # one account for all of them (upstream registers a single jvb account)
    assert all("JVB_AUTH_PASSWORD" in b.env_names for b in d.bridges)
    assert d.service("jvb1") is d.bridges[0]


def test_one_bridge_stays_as_it_was(root):
    d = bridges_of(root, "")
    assert [b.name for b in d.bridges] == ["jitsi-jvb"]
    assert d.bridges[0].ports[0].compose() == "10000:10000/udp"


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (["jvb"], ["jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"]),
        (["jvb2"], ["jitsi-jvb2"]),
        (["jitsi-jvb3"], ["jitsi-jvb3"]),
        (["jvb1"], ["jitsi-jvb"]),
        (["web", "jvb"], ["jitsi-web", "jitsi-jvb", "jitsi-jvb2", "jitsi-jvb3"]),
    ],
)
def test_jvb_targets_every_bridge_and_jvbN_one(root, targets, expected):
    d = bridges_of(root, "jvb: {count: 3}\n")
    assert resolve_targets(Stack(d), targets) == expected


def test_an_unknown_bridge_is_named_with_the_ones_there_are(root):
    from jitsi_stack.errors import UsageError

    d = bridges_of(root, "jvb: {count: 2}\n")
    with pytest.raises(
        UsageError,
        match=r"unknown target 'jvb4' \(did you mean jvb\?\): use one of jitsi, web, prosody, jicofo, jvb, jvb2,",
    ):
        resolve_targets(Stack(d), ["jvb4"])


CASES = [
    ("jvb: {count: 0}\n", "error: jvb.count: 0 must be greater than 0"),
    ("jvb: {count: 17}\n", "error: jvb.count: 17 bridges: use 1 to 16 on one host"),
    ("jvb: {count: two}\n", "error: jvb.count: 'two' is not a whole number: write a number like 1"),
    (
        "jvb: {count: 3}\nports: {jvb_media: 65534}\n",
        "error: ports.jvb_media: 65534 + 2 (jvb.count) passes 65535: lower ports.jvb_media",
    ),
    (
        "jvb: {count: 2}\nports: {jvb_colibri: 8080, jicofo_rest: 8081}\n",
        "error: ports.jicofo_rest: port 8081/tcp is also used by ports.jvb_colibri (bridge 2): choose another port",
    ),
    (
        "jvb: {count: 3}\nports: {jvb_media: 10000, jvb_colibri: 10001}\nservices: {}\n",
        None,
    ),  # tcp vs udp: no clash
    (
        "jvb: {count: 2, advertise_ips: ['203.0.113.10#30000']}\n",
        "error: jvb.advertise_ips: '203.0.113.10#30000' maps one public port, but jvb.count is 2: list plain IPs (each bridge publishes its own port)",
    ),
    (
        "jvb: {count: 3}\nservices: {jigasi: true}\nports: {jigasi_min: 10002, jigasi_max: 10010}\nsip: {uri: a@sip.example.com, password: Sip-pass-123, server: sip.example.com}\n",
        "error: ports.jigasi_min: the range 10002-10010/udp contains a bridge's media port (10002): move one of them",
    ),
    (
        "jvb: {count: 2}\nturn: {enabled: true, tls: false, port: 3478, relay_min: 10001, relay_max: 10005}\n",
        "error: turn.relay_min: the relay range 10001-10005/udp contains port 10001/udp of ports.jvb_media (bridge 2): move one of them",
    ),
]


@pytest.mark.parametrize(("settings", "line"), CASES, ids=range(len(CASES)))
def test_bad_bridge_settings_are_one_line_and_change_nothing(root, settings, line):
    write_settings(root, settings)
    seed_secrets(root)
    before = tree_snapshot(root)
    out = run_cli(root, "render")
    if line is None:
        assert out.returncode == 0, out.stderr
        return
    assert (out.returncode, out.lines) == (2, [line])
    assert tree_snapshot(root) == before
