"""Stand-in for ghcr.io/jitsi/jicofo: logs in to prosody as focus, sits in
the bridge brewery room, answers conference requests over XMPP and jicofo's
REST API on 8888.

Semantics copied from jicofo:
- the REST server binds 127.0.0.1 unless JICOFO_ENABLE_REST is true;
- /about/health exists only with JICOFO_ENABLE_HEALTH_CHECKS, and fails
  while focus is not logged in or no bridge is in the brewery;
- the conference IQ (<conference xmlns='http://jitsi.org/protocol/focus'
  room=...> set to focus.<XMPP_DOMAIN>, which prosody's client_proxy
  component forwards to this session): focus joins the room and answers
  <conference ready='true' focusjid='focus@<XMPP_AUTH_DOMAIN>' room=...>
  with the 'authentication' property, ready='false' when it could not join
  (the client retries). Bridges are not looked at there, as in jicofo. An
  invalid room is bad-request; with jicofo's authentication on (below) a user
  outside XMPP_DOMAIN (a guest) asking for a room that is not running gets
  not-authorized. The requester is the original sender the proxy put in the
  resource.
- conference lifetime: jicofo ends a conference (focus leaves the room,
  which prosody then destroys) when its last participant leaves, and when
  nobody joins within conference.initial-timeout (15 s by default). The
  stand-in does the same: it leaves as soon as the room holds nobody but
  focus after someone was in it (the smoke probe: join, leave, gone at
  once), and after INITIAL_TIMEOUT_SECONDS if nobody came. No room outlives
  its users by more than that, and none survives a reconnect.
- POST /conference-request/v1 takes only Content-Type application/json
  (415 otherwise, like jicofo's JAX-RS resource) and answers ready=true once
  focus could join the room (jicofo does not look at bridges there); with
  jicofo's authentication on an unauthenticated HTTP request for a new room
  is refused with 403. Unlike jicofo, the stand-in leaves a room it joined for a REST
  request at once (a room already running for an XMPP request is left
  alone and reported ready).
- roles (who becomes MUC owner), as jicofo decides them where that decides the outcome;
  read at docker-jitsi-meet stable-11146-2 (738058b4) and jicofo 7ebb13dc:
  * jicofo's authentication is on when JICOFO_ENABLE_AUTH, which defaults to ENABLE_AUTH,
    is true (jicofo/rootfs/defaults/jicofo.conf:1,3,49-61); its type is JWT when
    JICOFO_AUTH_TYPE (default AUTH_TYPE, default internal) is jwt, else XMPP (:4-5,53-57);
    login-url is XMPP_DOMAIN (:58). Either type is an XMPPDomainAuthAuthority
    (auth/ExternalJWTAuthority.java:37-56): a conference request from a JID on XMPP_DOMAIN
    opens a session and authenticates that full JID; without machine-uid it is
    not-acceptable "Missing mandatory attribute 'machine-uid'"
    (auth/XMPPDomainAuthAuthority.java:63-101). A requester without a session may not
    create a room: not-authorized "not authorized user domain"
    (xmpp/ConferenceIqHandler.kt:226-242).
  * with authentication on, each room runs AuthenticationRoleManager
    (conference/JitsiMeetConferenceImpl.java:623-628): once focus is in, every occupant
    whose real JID is authenticated and is not owner gets owner; so does each one who joins
    later, and an occupant whose JID authenticates while in the room
    (xmpp/muc/ChatRoomRoleManager.kt:116-164).
  * otherwise, with enable-auto-owner (ENABLE_AUTO_OWNER, jicofo.conf:166-168; unset: true,
    jicofo/src/main/resources/reference.conf:21), AutoOwnerRoleManager
    (JitsiMeetConferenceImpl.java:630-634; ChatRoomRoleManager.kt:62-107): when no occupant
    is owner, the first occupant who is not a visitor gets owner; when that owner leaves, the
    next one. ENABLE_AUTO_OWNER false: no role manager, jicofo grants nothing.
  * owner is granted as jicofo does, a muc#admin IQ with affiliation owner for the
    occupant's bare real JID (jicofo-common xmpp/muc/ChatRoomImpl.kt:457-482).
  Not modelled: session lifetime and auto-login (a session lasts as long as focus's
  connection here), Jibri/Jigasi occupants (the test bed has none), breakout rooms.
- GET /stats (always routed, like jicofo's) reports the bridge selector's counts
  (bridge_selector.bridge_count / operational_bridge_count): the bridges in the brewery,
  and the conferences running (conferences, participants).
"""

import asyncio
import contextlib
import json
import xml.etree.ElementTree as ET

from slixmpp import JID, Iq
from slixmpp.exceptions import XMPPError
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ElementBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath
from xmpp_standin import BreweryClient, env, fatal, serve_http, setup_logging, truthy

VERSION = "1.0-testbed"
MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
FOCUS_NS = "http://jitsi.org/protocol/focus"
FOCUS_NICK = "focus"
JOIN_TIMEOUT_SECONDS = 5
INITIAL_TIMEOUT_SECONDS = 15  # jicofo's conference.initial-timeout default


class ConferenceElement(ElementBase):
    """<conference xmlns='http://jitsi.org/protocol/focus'/> (jicofo's ConferenceIq)."""

    name = "conference"
    namespace = FOCUS_NS
    plugin_attrib = "focus_conference"
    interfaces = {"room", "ready", "focusjid", "machine-uid", "vnode"}


class ConferenceProperty(ElementBase):
    name = "property"
    namespace = FOCUS_NS
    plugin_attrib = "focus_property"
    plugin_multi_attrib = "focus_properties"
    interfaces = {"name", "value"}


register_stanza_plugin(ConferenceElement, ConferenceProperty, iterable=True)
register_stanza_plugin(Iq, ConferenceElement)


def tpl_bool(value, default):
    """A variable as the image's templates read it: tpl's toBool (Go's ParseBool; any
    other non-empty text is true), `default` when unset or empty."""
    if value is None or value == "":
        return default
    return value not in ("0", "f", "F", "false", "False", "FALSE")


class Member:
    """An occupant other than focus, as jicofo's ChatRoomMember sees it."""

    def __init__(self, jid):
        self.jid = jid  # the real full JID (rooms are public-jids for focus, an admin)
        self.affiliation = "none"
        self.role = "none"

    @property
    def is_owner(self):  # MemberRole.hasOwnerRights: affiliation owner (MemberRole.kt:39-53)
        return self.affiliation == "owner"


class Hosted:
    """A room focus is in (or joining) for a conference request."""

    def __init__(self):
        self.join = None  # the join task: True once focus is in the room, False if it failed
        self.joined = False
        self.members = {}  # occupant nick other than focus -> Member, in join order
        self.owner = None  # AutoOwnerRoleManager's elected owner (a nick)
        self.timer = None

    @property
    def participants(self):
        return set(self.members)


class Conferences:
    """Conference requests over XMPP and the rooms they open (on the XMPP loop)."""

    def __init__(self, log, xmpp, focus_jid, xmpp_domain, auth_enabled, auto_owner):
        self.log = log
        self.xmpp = xmpp
        self.focus_jid = focus_jid
        self.xmpp_domain = xmpp_domain.lower()
        self.proxy = f"focus.{self.xmpp_domain}"
        self.auth_enabled = auth_enabled  # jicofo's authentication (JICOFO_ENABLE_AUTH)
        self.auto_owner = auto_owner  # enable-auto-owner (ENABLE_AUTO_OWNER)
        self.authenticated = set()  # full JIDs with an authentication session
        self.rooms = {}  # room bare JID -> Hosted

    # -- per connection ---------------------------------------------------------------

    def attach(self, client):
        """BreweryClient hook: a new connection starts with no conference."""
        for hosted in self.rooms.values():
            if hosted.timer:
                hosted.timer.cancel()
        self.rooms = {}
        client.register_handler(
            CoroutineCallback(
                "focus conference request",
                StanzaPath("iq@type=set/focus_conference"),
                self._on_conference_iq,
            )
        )
        client.add_event_handler("groupchat_presence", self._on_room_presence)

    def _muc(self):
        return self.xmpp.client.plugin["xep_0045"]

    # -- the conference IQ --------------------------------------------------------------

    async def _on_conference_iq(self, iq):
        room_attr = iq["focus_conference"]["room"]
        try:
            room_jid = JID(room_attr)
        except InvalidJID:
            room_jid = None
        if room_jid is None or not room_jid.user or room_jid.resource:
            raise XMPPError("bad-request", text=f"Invalid room name: {room_attr}", etype="modify")
        room = room_jid.bare
        requester = iq["from"]
        if requester.bare == self.proxy and requester.resource:
            with contextlib.suppress(InvalidJID):  # client_proxy put the sender here
                requester = JID(requester.resource)
        self.log.info("Focus request for room: %s, from %s", room, requester)
        if self.auth_enabled:
            # XMPPDomainAuthAuthority.processAuthLocked: a session for a JID on login-url
            # (XMPP_DOMAIN), which needs machine-uid; ConferenceIqHandler.processExtensions:
            # no session, no new room
            if requester.domain.lower() == self.xmpp_domain:
                if not iq["focus_conference"]["machine-uid"]:
                    raise XMPPError(
                        "not-acceptable",
                        text="Missing mandatory attribute 'machine-uid'",
                        etype="modify",
                    )
                self._authenticated(requester)
            elif room not in self.rooms:
                raise XMPPError("not-authorized", text="not authorized user domain", etype="auth")
        ready = await self.start(room)
        reply = iq.reply(clear=True)
        conference = reply["focus_conference"]
        conference["room"] = room
        conference["ready"] = "true" if ready else "false"
        conference["focusjid"] = self.focus_jid
        prop = ConferenceProperty()
        prop["name"], prop["value"] = "authentication", "true" if self.auth_enabled else "false"
        conference.append(prop)
        reply.send()

    # -- roles (ChatRoomRoleManager.kt) -------------------------------------------------

    def _authenticated(self, jid):
        """authenticateJidWithSession, then AuthenticationRoleManager's listener: an
        occupant with that JID in a room focus runs gets owner."""
        self.authenticated.add(str(jid))
        for room, hosted in self.rooms.items():
            for member in list(hosted.members.values()):
                if member.jid == str(jid) and hosted.joined:
                    self._grant(room, member)

    def _grant(self, room, member):
        """ChatRoomImpl.grantOwnership: muc#admin, affiliation owner, the bare real JID."""
        if not member.jid:
            self.log.warning("Can not grant ownership in %s, real JID unknown", room)
            return
        self.log.info("Granting ownership to %s in %s.", member.jid, room)
        iq = self.xmpp.client.make_iq_set(ito=JID(room))
        query = ET.SubElement(iq.xml, f"{{{MUC_ADMIN}}}query")
        ET.SubElement(query, f"{{{MUC_ADMIN}}}item", affiliation="owner", jid=JID(member.jid).bare)

        async def send():
            try:
                await iq.send(timeout=JOIN_TIMEOUT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - jicofo logs and goes on
                self.log.warning("Failed to grant ownership: %r", exc)

        asyncio.ensure_future(send())

    def _roles(self, room, hosted, joined=None, left=None):
        """The room's role manager after a change: focus in (joined=left=None), an occupant
        joined, or left."""
        if not hosted.joined:
            return
        if self.auth_enabled:  # AuthenticationRoleManager
            candidates = [joined] if joined else ([] if left else hosted.members.values())
            for member in candidates:
                if not member.is_owner and member.jid in self.authenticated:
                    self._grant(room, member)
            return
        if not self.auto_owner:
            return
        if left is not None and left == hosted.owner:  # AutoOwnerRoleManager
            hosted.owner = None
        if hosted.owner is not None and hosted.owner in hosted.members:
            return
        hosted.owner = next((n for n, m in hosted.members.items() if m.is_owner), None)
        if hosted.owner is not None:
            return
        chosen = next((n for n, m in hosted.members.items() if m.role != "visitor"), None)
        if chosen is not None:
            self.log.info("Electing new owner: %s", hosted.members[chosen].jid)
            hosted.owner = chosen
            self._grant(room, hosted.members[chosen])

    # -- rooms --------------------------------------------------------------------------

    async def start(self, room):
        """Have focus in ``room``; True once it is, False if joining failed."""
        hosted = self.rooms.get(room)
        if hosted is None:
            hosted = self.rooms[room] = Hosted()
            hosted.join = asyncio.ensure_future(self._join(room, hosted))
        return await asyncio.shield(hosted.join)

    async def _join(self, room, hosted):
        try:
            await self._muc().join_muc_wait(
                room, FOCUS_NICK, maxstanzas=0, timeout=JOIN_TIMEOUT_SECONDS
            )
        except Exception as exc:  # noqa: BLE001 - a refused or timed-out join: ready=false
            self.log.warning("could not join %s: %r", room, exc)
            if self.rooms.get(room) is hosted:
                del self.rooms[room]
            self._muc().rooms.pop(room, None)
            return False
        if self.rooms.get(room) is not hosted:  # reconnected meanwhile
            return False
        hosted.joined = True
        self.log.info("Joined %s", room)
        self._roles(room, hosted)  # chatRoomRoleManager.grantOwnership() after the join
        if not hosted.participants:
            hosted.timer = asyncio.get_running_loop().call_later(
                INITIAL_TIMEOUT_SECONDS,
                self.stop,
                room,
                f"nobody joined within {INITIAL_TIMEOUT_SECONDS} s",
            )
        return True

    def stop(self, room, why):
        hosted = self.rooms.pop(room, None)
        if hosted is None:
            return
        if hosted.timer:
            hosted.timer.cancel()
        self.log.info("Conference %s stopped: %s", room, why)
        with contextlib.suppress(KeyError):  # slixmpp already forgot the room
            self._muc().leave_muc(room, FOCUS_NICK)

    def _on_room_presence(self, presence):
        frm = presence["from"]
        hosted = self.rooms.get(frm.bare)
        if hosted is None or presence["type"] == "error":
            return
        gone = presence["type"] == "unavailable"
        if frm.resource == FOCUS_NICK or 110 in presence["muc"]["status_codes"]:
            if gone and hosted.joined:  # kicked, or the room was destroyed
                if hosted.timer:
                    hosted.timer.cancel()
                del self.rooms[frm.bare]
                self._muc().rooms.pop(frm.bare, None)
                self.log.info("Conference %s ended: focus is out of the room", frm.bare)
            return
        if not gone:
            member = hosted.members.get(frm.resource)
            new = member is None
            if new:
                member = hosted.members[frm.resource] = Member(str(presence["muc"]["jid"] or ""))
            member.affiliation = presence["muc"]["affiliation"] or "none"
            member.role = presence["muc"]["role"] or "none"
            if hosted.timer:
                hosted.timer.cancel()
                hosted.timer = None
            if new:
                self._roles(frm.bare, hosted, joined=member)
            return
        hosted.members.pop(frm.resource, None)
        if hosted.joined and not hosted.members:
            self.stop(frm.bare, "the last participant left")
        else:
            self._roles(frm.bare, hosted, left=frm.resource)

    async def probe_join(self, room):
        """The REST request: join and leave at once, unless the room is running."""
        with contextlib.suppress(InvalidJID):  # else the join fails: ready=false
            room = JID(room).bare
        if room in self.rooms:
            return await self.start(room)
        muc = self._muc()
        try:
            await muc.join_muc_wait(room, FOCUS_NICK, maxstanzas=0, timeout=JOIN_TIMEOUT_SECONDS)
        except Exception:
            muc.rooms.pop(room, None)
            raise
        muc.leave_muc(room, FOCUS_NICK)
        return True

    def counts(self):
        rooms = list(self.rooms.values())  # read from an HTTP thread
        return len(rooms), sum(len(h.participants) for h in rooms)


def main():
    log = setup_logging("Jicofo")
    password = env("JICOFO_AUTH_PASSWORD")
    if not password:
        fatal("Jicofo auth password must be set")
    xmpp_domain = env("XMPP_DOMAIN", "meet.jitsi")
    auth_domain = env("XMPP_AUTH_DOMAIN", "auth.meet.jitsi")
    server = env("XMPP_SERVER", "xmpp.meet.jitsi")
    port = int(env("XMPP_PORT", "5222"))
    brewery = env("JVB_BREWERY_MUC", "jvbbrewery")
    internal_muc = env("XMPP_INTERNAL_MUC_DOMAIN", "internal-muc.meet.jitsi")
    health_enabled = truthy(env("JICOFO_ENABLE_HEALTH_CHECKS", "0"))
    rest_host = "0.0.0.0" if truthy(env("JICOFO_ENABLE_REST", "0")) else "127.0.0.1"  # noqa: S104
    # jicofo.conf:1,3: JICOFO_ENABLE_AUTH | default ENABLE_AUTH (| default "0") | toBool
    auth_enabled = tpl_bool(env("JICOFO_ENABLE_AUTH") or env("ENABLE_AUTH") or "0", False)
    # jicofo.conf:166-168 writes enable-auto-owner only when set; reference.conf:21: true
    auto_owner = tpl_bool(env("ENABLE_AUTO_OWNER"), True)
    focus_jid = f"focus@{auth_domain}"

    xmpp = BreweryClient(
        log,
        focus_jid,
        password,
        server,
        port,
        f"{brewery}@{internal_muc}",
        "focus",
        accept_subscriptions=True,  # jicofo's roster: SubscriptionMode.accept_all
    )
    conferences = Conferences(log, xmpp, focus_jid, xmpp_domain, auth_enabled, auto_owner)
    xmpp.on_client.append(conferences.attach)

    def health(_http):
        if not xmpp.logged_in:
            return 500, "text/plain", f"XMPP not connected: {xmpp.last_error}\n"
        if not xmpp.occupants:
            return 500, "text/plain", "No operational bridges available\n"
        return 200, "text/plain", ""

    def stats(_http):
        bridges = len(xmpp.occupants) if xmpp.logged_in else 0
        running, participants = conferences.counts()
        return (
            200,
            "application/json",
            {
                "bridge_selector": {
                    "bridge_count": bridges,
                    "operational_bridge_count": bridges,
                    "in_shutdown_bridge_count": 0,
                },
                "conferences": running,
                "participants": participants,
            },
        )

    def metrics(_http):
        # Prometheus text as JicofoMetricsContainer (namespace "jitsi_jicofo") writes it:
        # ConferenceMetrics.kt (conferences, participants_current, largest_conference) and
        # BridgeSelector.kt (bridge_selector_bridge_count[_operational]) at jicofo@7ebb13dc.
        # The values are the rooms focus is in and their occupants in prosody.
        bridges = len(xmpp.occupants) if xmpp.logged_in else 0
        rooms = list(conferences.rooms.values())
        sizes = [len(h.participants) for h in rooms]
        gauges = (
            ("conferences", "Running count of conferences.", len(rooms)),
            ("participants_current", "The current number of participants.", sum(sizes)),
            ("largest_conference", "The current largest conference.", max(sizes, default=0)),
            ("bridge_selector_bridge_count", "The current number of bridges", bridges),
            (
                "bridge_selector_bridge_count_operational",
                "The current number of operational bridges",
                bridges,
            ),
        )
        lines = []
        for name, text, value in gauges:
            lines += [
                f"# HELP jitsi_jicofo_{name} {text}",
                f"# TYPE jitsi_jicofo_{name} gauge",
                f"jitsi_jicofo_{name} {value}",
            ]
        return 200, "text/plain; version=0.0.4; charset=utf-8", "\n".join(lines) + "\n"

    def version(_http):
        return 200, "application/json", {"name": "Jicofo", "version": VERSION, "os": "Linux"}

    def conference_request(http):
        # a JAX-RS resource that @Consumes(APPLICATION_JSON)
        ctype = (http.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return 415, "text/plain", "Unsupported Media Type\n"
        try:
            request = json.loads(http.body or b"{}")
            if not isinstance(request, dict) or not request.get("room"):
                raise ValueError("No 'room' specified.")
            room = str(request["room"])
            local, _, domain = room.partition("@")
            if not local or not domain:
                raise ValueError(f"Invalid room name: {room}")
        except ValueError as exc:
            return 400, "text/plain", f"{exc}\n"
        log.info("Conference request for room %s, from None", room)
        if auth_enabled:
            return 403, "text/plain", ""
        if not xmpp.logged_in:
            return 400, "text/plain", f"XMPP not connected: {xmpp.last_error}\n"
        try:
            ready = xmpp.call(conferences.probe_join(room))
        except Exception as exc:  # noqa: BLE001 - report any failure to the caller
            log.warning("could not join %s: %r", room, exc)
            ready = False
        return (
            200,
            "application/json",
            {
                "room": room,
                "ready": ready,
                "focusJid": focus_jid,
                "vnode": None,
                "properties": {"authentication": "false"},
            },
        )

    routes = {
        ("GET", "/about/version"): version,
        ("GET", "/stats"): stats,
        ("GET", "/metrics"): metrics,
        ("POST", "/conference-request/v1"): conference_request,
    }
    if health_enabled:
        routes[("GET", "/about/health")] = health
    serve_http(log, rest_host, 8888, routes)
    xmpp.run_forever()


if __name__ == "__main__":
    main()
