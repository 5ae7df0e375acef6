"""Who becomes moderator with JWT: what jicofo and prosody read, in Compose, Swarm and Helm.

Upstream, read at docker-jitsi-meet stable-11146-2 (738058b4) and jicofo 7ebb13dc:
- jicofo/rootfs/defaults/jicofo.conf:1 `$ENABLE_AUTH := .Env.ENABLE_AUTH | default "0"`,
  :3 `$JICOFO_ENABLE_AUTH := .Env.JICOFO_ENABLE_AUTH | default $ENABLE_AUTH | toBool`,
  :49-61 `{{ if $JICOFO_ENABLE_AUTH }} authentication { enabled = true, type = JWT (when
  JICOFO_AUTH_TYPE, default AUTH_TYPE, is jwt), login-url = XMPP_DOMAIN }`;
  :166-168 `enable-auto-owner = {{ .Env.ENABLE_AUTO_OWNER | toBool }}` only when set;
  docker-compose.yml:373-377,395 pass AUTH_TYPE, ENABLE_AUTH, ENABLE_AUTO_OWNER and
  JICOFO_ENABLE_AUTH to jicofo.
- jicofo conference/JitsiMeetConferenceImpl.java:623-634: with an authentication authority,
  AuthenticationRoleManager (owner to every authenticated occupant,
  xmpp/muc/ChatRoomRoleManager.kt:116-164; authenticated = a conference request from a JID
  on login-url's domain, auth/XMPPDomainAuthAuthority.java:63-101); else, with
  enable-auto-owner (default true, jicofo/src/main/resources/reference.conf:21),
  AutoOwnerRoleManager (ChatRoomRoleManager.kt:62-107).
"""

from __future__ import annotations

import pytest
import yaml

from jitsi_stack import helm, swarm
from jitsi_stack.deployment import build
from jitsi_stack.deployment.dotenv import tpl_bool
from jitsi_stack.settings import project
from tests.support.project import run_cli, seed_secrets, write_settings

JWT = "auth: {{enabled: true, type: jwt, guests: {guests}, jwt: {{app_id: cc{extra}}}}}\n"


def jicofo_roles(env: dict[str, str | None]) -> str:
    """Which role manager jicofo runs, from the variables it receives, as upstream reads
    them (jicofo.conf:1,3-5,49-61,166-168; JitsiMeetConferenceImpl.java:623-634)."""
    enable_auth = env.get("ENABLE_AUTH") or "0"
    jicofo_auth = env.get("JICOFO_ENABLE_AUTH") or enable_auth  # sprig `default`
    if tpl_bool(jicofo_auth, False):
        kind = env.get("JICOFO_AUTH_TYPE") or env.get("AUTH_TYPE") or "internal"
        return f"authentication:{'JWT' if kind == 'jwt' else 'XMPP'}"
    auto_owner = env.get("ENABLE_AUTO_OWNER")
    return "auto-owner" if auto_owner is None or tpl_bool(auto_owner, True) else "none"


def jicofo_env(root, text: str) -> dict[str, str | None]:
    write_settings(root, text)
    d = build(project.load(root, environ={}))
    return {name: d.env[name] for name in d.service("jicofo").env_names}


def test_with_moderator_from_token_jicofo_grants_no_roles_and_prosody_loads_token_affiliation(
    root,
):
    write_settings(root, JWT.format(guests="false", extra=""))
    d = build(project.load(root, environ={}))
    env = {name: d.env[name] for name in d.service("jicofo").env_names}
    assert env["JICOFO_ENABLE_AUTH"] == "0"
    assert env["ENABLE_AUTO_OWNER"] == "0"
    assert env["ENABLE_AUTH"] == "1" and env["AUTH_TYPE"] == "jwt"  # prosody still needs them
    assert jicofo_roles(env) == "none"
    prosody = d.service("prosody").env_names
    assert "XMPP_MUC_MODULES" in prosody and "JICOFO_ENABLE_AUTH" not in prosody
    assert d.env["XMPP_MUC_MODULES"] == "token_affiliation"


def test_without_moderator_from_token_upstream_makes_every_token_holder_owner(root):
    """moderator_from_token: false keeps upstream's default: JICOFO_ENABLE_AUTH unset, so
    jicofo's JWT authentication is on and every token holder becomes owner."""
    env = jicofo_env(root, JWT.format(guests="true", extra=", moderator_from_token: false"))
    assert "JICOFO_ENABLE_AUTH" not in env and "ENABLE_AUTO_OWNER" not in env
    assert jicofo_roles(env) == "authentication:JWT"


def test_the_render_before_the_fix_was_jicofo_jwt_authentication():
    """What main rendered (ENABLE_AUTO_OWNER=0 alone) still ran AuthenticationRoleManager:
    the reader above tells the two apart."""
    old = {"ENABLE_AUTH": "1", "AUTH_TYPE": "jwt", "ENABLE_AUTO_OWNER": "0"}
    assert jicofo_roles(old) == "authentication:JWT"
    assert jicofo_roles({**old, "JICOFO_ENABLE_AUTH": "0"}) == "none"
    assert jicofo_roles({"ENABLE_AUTH": "1", "JICOFO_ENABLE_AUTH": "0"}) == "auto-owner"


def test_helm_values_carry_the_jicofo_and_prosody_variables(root):
    write_settings(root, JWT.format(guests="false", extra=""))
    s = project.load(root, environ={})
    values = helm.build(build(s), s).values
    jicofo = values["jicofo"]["extraEnvs"]
    assert (jicofo["JICOFO_ENABLE_AUTH"], jicofo["ENABLE_AUTO_OWNER"]) == ("0", "0")
    assert values["prosody"]["extraEnvs"]["XMPP_MUC_MODULES"] == "token_affiliation"
    # chart v3.4.0 sets ENABLE_AUTH for every component (templates/configmap.yaml:10, read by
    # jicofo/deployment.yaml:105) and passes extraEnvs (jicofo/configmap.yaml:34); it sets
    # neither JICOFO_ENABLE_AUTH nor ENABLE_AUTO_OWNER itself
    assert values["enableAuth"] is True and values["enableGuests"] is False
    assert jicofo_roles({"ENABLE_AUTH": "1", "AUTH_TYPE": "jwt", **jicofo}) == "none"


def test_the_swarm_stack_gives_jicofo_the_same_variables(root):
    write_settings(
        root,
        JWT.format(guests="false", extra="")
        + "swarm: {nodes: {n1: [203.0.113.11]}, bridge_label: jitsi.jvb=true}\n",
    )
    seed_secrets(root)
    *_, v = swarm.load(root, environ={})
    stack = yaml.safe_load(swarm.render(v)[swarm.STACK_FILE])
    env = dict(item.split("=", 1) for item in stack["services"]["jitsi-jicofo"]["environment"])
    assert env["JICOFO_ENABLE_AUTH"] == "0" and env["ENABLE_AUTO_OWNER"] == "0"
    assert jicofo_roles(env) == "none"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            JWT.format(guests="true", extra=""),
            "error: auth.guests: with auth.type jwt and moderator_from_token, guests without a "
            "token could open rooms themselves: remove auth.guests (it then defaults to "
            "false; customers get tokens without --moderator), or set moderator_from_token: "
            "false",
        ),
        (
            JWT.format(guests="false", extra="") + "env: {JICOFO_ENABLE_AUTH: true}\n",
            "error: env.JICOFO_ENABLE_AUTH: set by auth.jwt.moderator_from_token (moderators "
            "come from the token): remove it, or set moderator_from_token: false",
        ),
    ],
)
def test_what_would_undo_the_token_roles_is_refused_in_one_line(root, text, line):
    write_settings(root, text)
    proc = run_cli(root, "render")
    assert proc.returncode == 2  # bad settings
    assert proc.stderr.strip() == line
    assert not (root / "docker-compose.yml").exists()


def test_jicofo_enable_auth_stays_a_passthrough_without_moderator_from_token(root):
    env = jicofo_env(
        root,
        JWT.format(guests="false", extra=", moderator_from_token: false")
        + "env: {JICOFO_ENABLE_AUTH: false}\n",
    )
    assert env["JICOFO_ENABLE_AUTH"] == "0"
    assert jicofo_roles(env) == "auto-owner"  # upstream: the first to join becomes owner


def test_left_out_guests_follow_the_token_roles_and_config_says_why(root):
    """A minimal JWT file (no auth.guests) is accepted: guests default to off where the
    token decides, and on again with moderator_from_token: false."""
    write_settings(root, "auth: {enabled: true, type: jwt, jwt: {app_id: cc}}\n")
    s = project.load(root, environ={})
    assert s["auth.guests"] is False
    assert s.sources["auth.guests"] == (
        "auto: auth.type jwt with moderator_from_token: only token holders join"
    )
    assert build(s).env["ENABLE_GUESTS"] == "0"
    shown = run_cli(root, "config")
    assert shown.returncode == 0, shown.stderr
    assert "auto: auth.type jwt with moderator_from_token" in shown.stdout
    write_settings(
        root, "auth: {enabled: true, type: jwt, jwt: {app_id: cc, moderator_from_token: false}}\n"
    )
    s = project.load(root, environ={})
    assert s["auth.guests"] is True and s.sources["auth.guests"] == "default"
