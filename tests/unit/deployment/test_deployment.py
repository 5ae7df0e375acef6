"""The Deployment: facts derived once, read by every consumer; `env:` values flow in or are
refused; public/private address answers are the same everywhere."""

from __future__ import annotations

import ipaddress

import pytest

from jitsi_stack import render
from jitsi_stack.deployment import build
from jitsi_stack.docker import Runner
from jitsi_stack.errors import SettingsError
from jitsi_stack.ops.stack import Stack
from jitsi_stack.settings import project
from jitsi_stack.smoke.target import from_deployment
from jitsi_stack.store import secrets
from jitsi_stack.validators import is_public_ip, parse_advertise_ip
from tests.support.project import write_settings


def deployment(root, text=""):
    write_settings(root, text)
    return build(project.load(root, environ={}))


def test_names_images_ports_and_owners(root):
    d = deployment(root, "services: {jigasi: true}\nsip: {uri: a@b.c, password: p, server: b.c}\n")
    assert d.names == ["jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb", "jitsi-jigasi"]
    assert d.service("jvb") is d.service("jitsi-jvb")
    assert d.service("jvb").container == "callcenter-jitsi-jvb"
    assert d.service("jvb").image == "ghcr.io/jitsi/jvb:stable-11146-2"
    assert d.port("ports.jvb_media").compose() == "10000:10000/udp"
    assert d.port("ports.jicofo_rest").compose() == "127.0.0.1:8888:8888"
    assert d.owner(20007)[1].setting == "ports.jigasi_min"
    assert d.owner(8443)[0].key == "web"
    assert d.owner(1) is None
    assert d.service("jvb").secrets == ("JVB_AUTH_PASSWORD",)
    assert d.service("web").secrets == ()


def test_the_transcriber_runs_the_jigasi_image(root):
    d = deployment(root, "services: {transcriber: true}\nfeatures: {transcriptions: true}\n")
    assert d.service("transcriber").image == "ghcr.io/jitsi/jigasi:stable-11146-2"


def test_derived_domains_follow_env_and_smoke_expects_them(root):
    d = deployment(
        root, "env:\n  XMPP_MUC_DOMAIN: conference.meet.jitsi\n  XMPP_SERVER: xmpp.internal\n"
    )
    assert d.domains.muc == "conference.meet.jitsi"
    assert d.service("prosody").aliases == ("xmpp.internal",)
    assert d.env["XMPP_BOSH_URL_BASE"] == "http://xmpp.internal:5280"
    target = from_deployment(d, None)
    assert target.muc_domain == "conference.meet.jitsi"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("env:\n  JICOFO_ENABLE_REST: 0\n", "env.JICOFO_ENABLE_REST: set by jitsi-stack"),
        (
            "env:\n  JICOFO_ENABLE_HEALTH_CHECKS: 0\n",
            "env.JICOFO_ENABLE_HEALTH_CHECKS: set by jitsi-stack",
        ),
        ("env:\n  XMPP_BOSH_URL_BASE: http://x:5280\n", "derived from XMPP_SERVER"),
        (
            "env:\n  XMPP_MUC_DOMAIN: not a domain\n",
            "env.XMPP_MUC_DOMAIN: 'not a domain' is not a domain",
        ),
    ],
)
def test_env_that_would_contradict_a_derived_fact_is_refused(root, text, words):
    write_settings(root, text)
    with pytest.raises(SettingsError, match=words):
        project.load(root, environ={})


def test_websocket_off_flows_into_config_js_and_smoke(root):
    d = deployment(root, "env:\n  ENABLE_XMPP_WEBSOCKET: 'false'\n")
    assert d.urls.websocket == "" and from_deployment(d, None).websocket_enabled is False


def test_smoke_target_is_remote_for_another_url(root):
    d = deployment(root)
    local = from_deployment(d, Stack(d, Runner()).compose)
    assert local.jicofo_url == "http://127.0.0.1:8888" and local.compose is not None
    remote = from_deployment(d, Stack(d, Runner()).compose, url="https://meet.example.com")
    assert remote.jicofo_url is None and remote.compose is None
    assert remote.public_url == "https://meet.example.com"


def test_secrets_are_not_in_the_deployment(root):
    d = deployment(root)
    assert all(d.env[name] is None for name in secrets.SECRET_NAMES)
    values = secrets.complete({})[0]
    text = render.plan(d, values).output("jitsi-meet/.env").text
    assert all(f"{n}={v}" in text for n, v in values.items())


def test_hidden_values_include_secret_settings_and_secret_passthrough(root):
    d = deployment(
        root,
        "auth: {enabled: true, type: jwt, guests: false,"
        " jwt: {app_id: a, app_secret: s3cret-s3cret}}\n"
        "env: {TURN_PASSWORD: turn-pass}\n",
    )
    assert {"s3cret-s3cret", "turn-pass"} <= d.hidden({})


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("203.0.113.10", True),
        ("198.18.0.1", True),
        ("2001:db8::1", True),
        ("8.8.8.8", True),
        ("10.0.0.5", False),
        ("192.168.1.10", False),
        ("100.64.0.1", False),
        ("127.0.0.1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_one_answer_for_public_addresses(address, public):
    assert is_public_ip(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "entry", ["[2001:db8::1]", " 1.2.3.4", "1.2.3.4#0", "1.2.3.4#x", "300.1.1.1"]
)
def test_bad_advertise_entries(entry):
    with pytest.raises(ValueError):
        parse_advertise_ip(entry)


def test_advertise_entries_with_ports():
    assert parse_advertise_ip("2001:db8::1#10000")[1] == 10000
    assert parse_advertise_ip("203.0.113.10")[1] is None
