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


FRONT = (
    b"# the platform's own\r\nAPI_URL=http://backend:3000\r\nexport VITE_JITSI_DOMAIN=old\r\nX=\xe9"
)


@pytest.mark.parametrize(
    ("names", "settings", "expected"),
    [
        (
            "next",
            "",
            b"# the platform's own\r\nAPI_URL=http://backend:3000\r\nexport VITE_JITSI_DOMAIN=old"
            b"\r\nX=\xe9\r\nNEXT_PUBLIC_JITSI_DOMAIN=localhost:8444\r\n"
            b"NEXT_PUBLIC_JITSI_URL=https://localhost:8444\r\n",
        ),
        (
            "vite",
            "",
            b"# the platform's own\r\nAPI_URL=http://backend:3000\r\nVITE_JITSI_DOMAIN=localhost:8444"
            b"\r\nX=\xe9\r\nVITE_JITSI_URL=https://localhost:8444\r\n",
        ),
        (
            "plain",
            "auth: {enabled: true, type: jwt, jwt: {app_id: callcenter}}\n",
            b"# the platform's own\r\nAPI_URL=http://backend:3000\r\nexport VITE_JITSI_DOMAIN=old"
            b"\r\nX=\xe9\r\nJITSI_DOMAIN=localhost:8444\r\nJITSI_URL=https://localhost:8444\r\n"
            b"JITSI_TOKEN_URL=/api/jitsi-token\r\n",
        ),
    ],
)
def test_the_frontend_file_gets_every_value_and_keeps_its_other_bytes(
    root, names, settings, expected
):
    from jitsi_stack.render import apply

    (root / "front").mkdir()
    target = root / "front" / ".env.local"
    target.write_bytes(FRONT)
    write_settings(
        root,
        settings + f"frontend: {{env_file: front/.env.local, env_names: {names}, "
        "token_url: /api/jitsi-token}\n",
    )
    apply.apply(deployment(root))
    assert target.read_bytes() == expected
    apply.apply(deployment(root))  # a second render changes nothing
    assert target.read_bytes() == expected


def test_without_https_the_frontend_gets_the_plain_endpoint(root):
    from jitsi_stack.render import apply

    (root / "front").mkdir()
    write_settings(root, "frontend: {env_file: front/.env.local, dev_https: false}\n")
    apply.apply(deployment(root))
    assert (root / "front/.env.local").read_bytes() == (
        b"NEXT_PUBLIC_JITSI_DOMAIN=localhost:8443\nNEXT_PUBLIC_JITSI_URL=http://localhost:8443\n"
    )


def _warnings(root):
    """What `inv config` and `inv start` print about the frontend: the settings' warnings
    and the development CA's trust (read there only, not on every settings load)."""
    from jitsi_stack.settings import project
    from jitsi_stack.settings.rules.frontend import ca_warnings

    s = project.load(root, environ={})
    return [w for w in s.warnings if "frontend" in w] + ca_warnings(s)


def test_warns_when_the_stack_has_no_https_endpoint(root):
    write_settings(root, "frontend: {dev_https: false}\n")
    (line,) = _warnings(root)
    assert line.startswith("frontend: the stack has no https endpoint (http://localhost:8443")


def test_warns_when_this_machine_does_not_trust_the_dev_ca(root, monkeypatch):
    from jitsi_stack.render import apply
    from jitsi_stack.store import devca

    assert _warnings(root) == []  # no CA yet: nothing to trust
    apply.apply(deployment(root))
    monkeypatch.setattr(devca, "SYSTEM_BUNDLES", (str(root / "none.pem"),))
    monkeypatch.setattr(devca.trusted, "__defaults__", ((str(root / "none.pem"),),))
    (line,) = _warnings(root)
    assert line.startswith("frontend.dev_https: this machine does not trust the development CA")
    (root / "bundle.pem").write_bytes(b"other\n" + (root / devca.CA_CERT).read_bytes())
    monkeypatch.setattr(devca.trusted, "__defaults__", ((str(root / "bundle.pem"),),))
    assert _warnings(root) == []


def test_warns_when_production_lets_no_frontend_frame(root):
    (root / "front").mkdir()
    base = (
        "public_url: https://meet.example.com\nhttps: {enabled: true}\n"
        "jvb: {advertise_ips: [203.0.113.10]}\n"
    )
    write_settings(root, base + "frontend: {env_file: front/.env.local}\n")
    (line,) = _warnings(root)
    assert line.startswith("frontend.origins: empty in production")
    write_settings(
        root,
        base + "frontend: {env_file: front/.env.local, origins: [https://agents.example.com]}\n",
    )
    assert _warnings(root) == []


def test_warns_on_a_plain_http_url_beyond_localhost(root):
    from jitsi_stack.settings import project

    write_settings(
        root, "public_url: http://meet.example.com\njvb: {advertise_ips: [203.0.113.10]}\n"
    )
    found = project.load(root, environ={}).warnings
    assert any("browsers block camera and microphone" in w for w in found)
