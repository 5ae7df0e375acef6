"""Settings sources and masking, without Docker."""

from __future__ import annotations

from jitsi_stack import secrets, settings, update
from jitsi_stack.errors import StackError

from .conftest import write_settings

STATE = {"overrides": {"images.tag": {"value": "stable-11200", "over": "stable-11146-2"}}}


def test_update_override_applies_while_the_settings_say_what_it_overrode(root):
    s = settings.load(root, environ={}, state=STATE)
    assert s["images.tag"] == "stable-11200"
    assert s.sources["images.tag"] == "state:inv update"
    assert s.warnings == []


def test_a_later_settings_change_wins_over_the_update_override(root):
    write_settings(root, "images:\n  tag: stable-11300\n")
    s = settings.load(root, environ={}, state=STATE)
    assert s["images.tag"] == "stable-11300"
    assert s.sources["images.tag"] == "file:jitsi-stack.yml"
    assert any("using 'stable-11300'" in w for w in s.warnings)


def test_settings_that_caught_up_need_no_override_and_no_warning(root):
    write_settings(root, "images:\n  tag: stable-11200\n")
    s = settings.load(root, environ={}, state=STATE)
    assert s["images.tag"] == "stable-11200"
    assert s.sources["images.tag"] == "file:jitsi-stack.yml"
    assert s.warnings == []


def test_update_refuses_bad_tags_before_recording_anything(root):
    for tag in ("latest", "bad tag", "unstable"):
        try:
            update.check_tag(tag)
        except StackError as err:
            assert "--tag" in str(err)
        else:
            raise AssertionError(f"{tag} accepted")
    assert not (root / ".jitsi-stack").exists()


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
    s = settings.load(
        root,
        environ={
            "JITSI_STACK_AUTH__ENABLED": "true",
            "JITSI_STACK_AUTH__JWT__APP_ID": "123",
            "JITSI_STACK_AUTH__TYPE": "jwt",
            "JITSI_STACK_AUTH__JWT__APP_SECRET": "s" * 20,
        },
    )
    assert s["auth.enabled"] is True
    assert s["auth.jwt.app_id"] == "123"  # text field stays text
