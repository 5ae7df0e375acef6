"""What the platform's frontend embeds with and who may frame it (deployment/frontend.py,
settings/rules/frontend.py; issue 22)."""

from __future__ import annotations

import pytest

from jitsi_stack.deployment.frontend import DEV_ORIGINS
from jitsi_stack.settings.rules.frontend import normal, origin_problem
from tests.support.project import deployment, write_settings


@pytest.mark.parametrize(
    "origin",
    [
        "https://agents.example.com",
        "http://localhost:3000",
        "https://*.example.com",
        "http://127.0.0.1:*",
        "https://[2001:db8::1]:8443",
        "HTTPS://Agents.Example.com",
    ],
)
def test_origins_a_csp_host_source_takes(origin):
    assert origin_problem(origin) == ""


def test_the_same_origin_compares_as_a_browser_does():
    assert normal("HTTPS://Agents.example.com:443") == normal("https://agents.example.com")
    assert normal("http://localhost:80") != normal("https://localhost")


def test_development_lets_the_loopback_frontends_frame(root):
    d = deployment(root)
    assert d.frontend.development and d.frontend.dev_https
    assert d.frontend.frame_ancestors == ("'self'", *DEV_ORIGINS)
    assert d.frontend.csp.startswith("frame-ancestors 'self' http://localhost:* ")
    # the SDK's domain is the https endpoint beside the seed's plain http
    assert d.frontend.domain == "localhost:8444"
    assert d.frontend.https_url == "https://localhost:8444"
    assert [p.host for p in d.service("web").ports] == [8443, 8444]


def test_production_frames_only_itself_and_the_named_origins(root):
    settings = (
        "public_url: https://meet.example.com\nhttps: {enabled: true}\n"
        "jvb: {advertise_ips: [203.0.113.10]}\n"
        "frontend: {origins: ['https://agents.example.com']}\n"
    )
    write_settings(root, settings)
    d = deployment(root)
    assert not d.frontend.development and not d.frontend.dev_https
    assert d.frontend.frame_ancestors == ("'self'", "https://agents.example.com")
    assert d.frontend.domain == "meet.example.com"


def test_production_without_origins_frames_only_itself(root):
    settings = (
        "public_url: https://meet.example.com\nhttps: {enabled: true}\n"
        "jvb: {advertise_ips: [203.0.113.10]}\n"
    )
    write_settings(root, settings)
    d = deployment(root)
    assert d.frontend.frame_ancestors == ("'self'",)


def test_dev_https_can_be_turned_off(root):
    write_settings(root, "frontend: {dev_https: false}\n")
    d = deployment(root)
    assert not d.frontend.dev_https and d.frontend.domain == ""
    assert [p.host for p in d.service("web").ports] == [8443]
    assert d.env["DISABLE_HTTPS"] == "1"
