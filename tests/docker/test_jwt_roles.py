"""JWT roles on a rendered stack: with moderator_from_token, only the token decides who is
moderator, also after jicofo has had its say.

Real parts: the compose file and .env jitsi-stack renders, Debian's prosody with the
test bed's token authentication and token_affiliation, the jicofo stand-in that grants
roles as upstream's jicofo does (tests/testbed/images/jicofo/jicofo.py: with its
authentication on, owner to every token holder, jicofo 7ebb13dc ChatRoomRoleManager.kt
116-164; otherwise auto-owner unless ENABLE_AUTO_OWNER=0, :62-107; chosen in
JitsiMeetConferenceImpl.java:623-634; JICOFO_ENABLE_AUTH defaults to ENABLE_AUTH,
docker-jitsi-meet stable-11146-2 jicofo/rootfs/defaults/jicofo.conf:1,3,49-61). Clients
log in over BOSH through the web container with a token from `inv token`, send the
conference request lib-jitsi-meet sends, join, and watch their own presence for a while:
jicofo grants owner with a muc#admin IQ after the join, so a role it gives shows up as a
later presence, not in the join's answer.

Before the fix (main 90aac1b renders ENABLE_AUTO_OWNER=0 but no JICOFO_ENABLE_AUTH), the
customer without the moderator claim became owner a moment after joining.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from tests.support.clients.bosh import MUC_USER, BoshClient, StanzaFailure, q
from tests.support.project import inv, stand_in_settings, started_stack

pytestmark = pytest.mark.docker

PROJECT = "jsjwtroles"
HTTP_PORT = 21080
BOSH = f"http://localhost:{HTTP_PORT}/http-bind"
DOMAIN = "meet.jitsi"
MUC = "muc.meet.jitsi"
FOCUS = "focus.meet.jitsi"
SETTLE_SECONDS = 5  # the stand-in grants within a second of the join
SETTINGS = stand_in_settings(PROJECT, HTTP_PORT, 21010, 21081, 21088) + (
    "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: callcenter}}\n"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("jwtroles") / "project"
    with started_stack(folder, PROJECT, SETTINGS) as (base, _):
        yield base


def mint(base: Path, room: str, name: str, moderator: bool) -> str:
    args = ["token", "--room", room, "--name", name, "--json"]
    proc = inv(base, *args, *(["--moderator"] if moderator else []))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["token"]


class Participant:
    """A browser's signalling: token login, conference request, join; then it keeps
    reading its own presence in the room."""

    def __init__(self, base: Path, room: str, name: str, moderator: bool, bosh: str = BOSH):
        self.room = f"{room}@{MUC}"
        self.nick = name.lower()
        self.client = BoshClient(bosh, DOMAIN, token=mint(base, room, name, moderator))
        self.client.login()
        conference = self.client.conference(self.room, focus=FOCUS)
        assert conference.get("ready") == "true", conference.attrib
        item = BoshClient.item(self.client.join(self.room, self.nick))
        self.seen = [(item.get("affiliation"), item.get("role"))]

    def _own(self, el) -> bool:
        return el.tag == q("jabber:client", "presence") and el.get("from") == (
            f"{self.room}/{self.nick}"
        )

    def settle(self, seconds: float = SETTLE_SECONDS) -> tuple[str | None, str | None]:
        """Read our presence updates for `seconds`; the last affiliation and role."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                presence = self.client.wait_for(self._own, timeout=left)
            except TimeoutError:
                break
            item = presence.find(f"{q(MUC_USER, 'x')}/{q(MUC_USER, 'item')}")
            if item is not None:
                self.seen.append((item.get("affiliation"), item.get("role")))
        return self.seen[-1]

    def close(self) -> None:
        self.client.close()


def test_the_rendered_jicofo_env_leaves_roles_to_the_token(stack):
    env = (stack / "jitsi-meet" / ".env").read_text().splitlines()
    assert "JICOFO_ENABLE_AUTH=0" in env and "ENABLE_AUTO_OWNER=0" in env
    assert "XMPP_MUC_MODULES=token_affiliation" in env


def test_a_token_without_the_moderator_claim_never_becomes_owner(stack):
    """The customer opens the room alone: neither jicofo's authentication (every token
    holder) nor its auto-owner (the first to join) may make it owner."""
    room = f"ticket-{secrets.token_hex(3)}"
    customer = Participant(stack, room, "Customer", moderator=False)
    try:
        assert customer.seen[0] == ("member", "participant")
        assert customer.settle() == ("member", "participant"), customer.seen
        assert all(aff != "owner" for aff, _ in customer.seen), customer.seen
    finally:
        customer.close()


def test_a_token_with_the_moderator_claim_is_owner_and_the_customer_stays_member(stack):
    room = f"ticket-{secrets.token_hex(3)}"
    agent = Participant(stack, room, "Agent", moderator=True)
    customer = None
    try:
        assert agent.seen[0] == ("owner", "moderator")  # token_affiliation, at the join
        customer = Participant(stack, room, "Customer", moderator=False)
        assert customer.settle() == ("member", "participant"), customer.seen
        assert agent.settle(1) == ("owner", "moderator"), agent.seen
        agent.close()  # the owner leaves: auto-owner would now elect the customer
        agent = None
        assert customer.settle() == ("member", "participant"), customer.seen
    finally:
        for who in (agent, customer):
            if who is not None:
                who.close()


def test_smoke_passes_with_jicofo_authentication_off(stack):
    """jicofo's authentication off: the REST conference request is answered (no 403) and
    the token login opens a room."""
    proc = inv(stack, "smoke", "--json")
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results["focus"]["status"] == "pass", results["focus"]
    assert results["auth"]["status"] == "pass", results["auth"]
    assert "token login" in results["auth"]["detail"]


# -- moderator_from_token: false: upstream's default, as docs/tokens.md describes it --------

OPEN_PROJECT = "jsjwtopen"
OPEN_PORT = 21180
OPEN_SETTINGS = stand_in_settings(OPEN_PROJECT, OPEN_PORT, 21110, 21181, 21188) + (
    "auth: {enabled: true, type: jwt, guests: true,"
    " jwt: {app_id: callcenter, moderator_from_token: false}}\n"
)


@pytest.fixture(scope="module")
def open_stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("jwtopen") / "project"
    with started_stack(folder, OPEN_PROJECT, OPEN_SETTINGS) as (base, _):
        yield base


def test_without_moderator_from_token_every_token_holder_becomes_owner(open_stack):
    """jicofo's JWT authentication stays on (JICOFO_ENABLE_AUTH unset, ENABLE_AUTH=1):
    a customer token is made owner by jicofo after the join; a guest may not open a room."""
    env = (open_stack / "jitsi-meet" / ".env").read_text()
    assert "JICOFO_ENABLE_AUTH" not in env and "token_affiliation" not in env
    bosh = f"http://localhost:{OPEN_PORT}/http-bind"
    room = f"ticket-{secrets.token_hex(3)}"
    customer = Participant(open_stack, room, "Customer", moderator=False, bosh=bosh)
    try:
        assert customer.settle() == ("owner", "moderator"), customer.seen
        guest = BoshClient(bosh, "guest.meet.jitsi")
        guest.login()
        with pytest.raises(StanzaFailure) as refused:
            guest.conference(f"other-{secrets.token_hex(3)}@{MUC}", focus=FOCUS)
        assert refused.value.condition == "not-authorized"
        assert guest.conference(customer.room, focus=FOCUS).get("ready") == "true"
        guest.close()
    finally:
        customer.close()


AUTO_PROJECT = "jsjwtauto"
AUTO_PORT = 21380
AUTO_SETTINGS = stand_in_settings(AUTO_PROJECT, AUTO_PORT, 21310, 21381, 21388) + (
    "auth: {enabled: true, type: jwt, guests: false,"
    " jwt: {app_id: callcenter, moderator_from_token: false}}\n"
    "env: {JICOFO_ENABLE_AUTH: false}\n"
)


@pytest.fixture(scope="module")
def auto_stack(tmp_path_factory, testbed_images):
    folder = tmp_path_factory.mktemp("jwtauto") / "project"
    with started_stack(folder, AUTO_PROJECT, AUTO_SETTINGS) as (base, _):
        yield base


def test_with_jicofo_authentication_off_auto_owner_picks_the_first_and_then_the_next(auto_stack):
    """JICOFO_ENABLE_AUTH=0 alone (ENABLE_AUTO_OWNER unset: jicofo's default, on): the
    first to join becomes owner, and when that one leaves, the next. This is why
    moderator_from_token renders ENABLE_AUTO_OWNER=0 as well."""
    bosh = f"http://localhost:{AUTO_PORT}/http-bind"
    room = f"ticket-{secrets.token_hex(3)}"
    first = Participant(auto_stack, room, "First", moderator=False, bosh=bosh)
    second = None
    try:
        assert first.settle() == ("owner", "moderator"), first.seen
        second = Participant(auto_stack, room, "Second", moderator=False, bosh=bosh)
        assert second.settle() == ("none", "participant"), second.seen
        first.close()
        first = None
        assert second.settle() == ("owner", "moderator"), second.seen
    finally:
        for who in (first, second):
            if who is not None:
                who.close()
