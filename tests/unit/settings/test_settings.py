"""Settings: layers and their sources, the update override, strict reading, masking."""

from __future__ import annotations

import pytest

from jitsi_stack.errors import SettingsError
from jitsi_stack.settings import project
from jitsi_stack.store import secrets, state
from tests.support.project import write_settings


def choose(root, value="stable-11200", over="stable-11146-2"):
    state.write(root, state.State(tag=state.TagChoice(value, over)))


def test_update_override_applies_while_the_settings_say_what_it_overrode(root):
    choose(root)
    s = project.load(root, environ={})
    assert s["images.tag"] == "stable-11200"
    assert s.sources["images.tag"] == "state:inv update"
    assert s.warnings == []


def test_a_later_settings_change_wins_over_the_update_override(root):
    choose(root)
    write_settings(root, "images:\n  tag: stable-11300\n")
    s = project.load(root, environ={})
    assert s["images.tag"] == "stable-11300"
    assert s.sources["images.tag"] == "file:jitsi-stack.yml"
    assert any("using 'stable-11300'" in w for w in s.warnings)


def test_strict_load_keeps_the_update_warning(root):
    choose(root)
    write_settings(root, "images:\n  tag: stable-11300\n")
    assert any(
        "using 'stable-11300'" in w for w in project.load(root, environ={}, strict=True).warnings
    )


def test_settings_that_caught_up_need_no_override_and_no_warning(root):
    choose(root)
    write_settings(root, "images:\n  tag: stable-11200\n")
    s = project.load(root, environ={})
    assert s["images.tag"] == "stable-11200"
    assert s.sources["images.tag"] == "file:jitsi-stack.yml"
    assert s.warnings == []


def test_mask_hides_known_values_and_secret_looking_assignments():
    text = (
        "JVB_AUTH_PASSWORD=legacy-clear-text\n"
        "-export LDAP_BINDPW=hunter2\n"
        "+TURN_CREDENTIALS=abc\n"
        "PUBLIC_URL=https://meet.example.com\n"
        "note: 0123456789abcdef appears here\n"
    )
    masked = secrets.mask(text, {"0123456789abcdef"})
    assert "legacy-clear-text" not in masked and "hunter2" not in masked
    assert "abc" not in masked.split("TURN_CREDENTIALS=")[1].splitlines()[0]
    assert "0123456789abcdef" not in masked
    assert "PUBLIC_URL=https://meet.example.com" in masked


def test_environment_override_parses_yaml_types(root):
    s = project.load(
        root,
        environ={
            "JITSI_STACK_AUTH__ENABLED": "true",
            "JITSI_STACK_AUTH__JWT__APP_ID": "123",
            "JITSI_STACK_AUTH__TYPE": "jwt",
            "JITSI_STACK_AUTH__GUESTS": "false",
            "JITSI_STACK_AUTH__JWT__APP_SECRET": "s" * 20,
        },
    )
    assert s["auth.enabled"] is True
    assert s["auth.jwt.app_id"] == "123"  # text field stays text


def test_test_knobs_are_not_settings(root):
    """The test suite's own variables do not start with JITSI_STACK_: exporting one breaks
    nothing."""
    s = project.load(root, environ={"JSTEST_REQUIRE_PROSODY": "1", "JSTEST_REQUIRE_DOCKER": "1"})
    assert s["public_url"] == "http://localhost:8443"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("auth: {enabled: true, type: internal}\nauth: {guests: false}\n", "duplicate key 'auth'"),
        ("ports:\n  http: 1\n  http: 2\n", "duplicate key 'http'"),
        ("a: &x [1]\nenv: {X: *x}\n", "aliases"),
        ("auth: true\n", "auth: must be a section"),
    ],
)
def test_strict_yaml(root, text, words):
    write_settings(root, text)
    with pytest.raises(SettingsError, match=words):
        project.load(root, environ={})
