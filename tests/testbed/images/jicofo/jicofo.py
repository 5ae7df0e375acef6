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
  invalid room is bad-request; with ENABLE_AUTH a user outside XMPP_DOMAIN
  (a guest) asking for a room that is not running gets not-authorized
  (jicofo's XMPP domain authentication, login-url = XMPP_DOMAIN). The
  requester is the original sender the proxy put in the resource.
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
  ENABLE_AUTH an unauthenticated HTTP request for a new room is refused
  with 403. Unlike jicofo, the stand-in leaves a room it joined for a REST
  request at once (a room already running for an XMPP request is left
  alone and reported ready).
- GET /stats (always routed, like jicofo's) reports the bridge selector's counts
  (bridge_selector.bridge_count / operational_bridge_count): the bridges in the brewery,
  and the conferences running (conferences, participants).
"""

import asyncio
import contextlib
import json

from slixmpp import JID, Iq
from slixmpp.exceptions import XMPPError
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ElementBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath
from xmpp_standin import BreweryClient, env, fatal, serve_http, setup_logging, truthy

VERSION = "1.0-testbed"
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


class Hosted:
    """A room focus is in (or joining) for a conference request."""

    def __init__(self):
        self.join = None  # the join task: True once focus is in the room, False if it failed
        self.joined = False
        self.participants = set()  # occupant nicks other than focus
        self.timer = None


class Conferences:
    """Conference requests over XMPP and the rooms they open (on the XMPP loop)."""

    def __init__(self, log, xmpp, focus_jid, xmpp_domain, auth_enabled):
        self.log = log
        self.xmpp = xmpp
        self.focus_jid = focus_jid
        self.xmpp_domain = xmpp_domain.lower()
        self.proxy = f"focus.{self.xmpp_domain}"
        self.auth_enabled = auth_enabled
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
        guest = requester.domain.lower() != self.xmpp_domain
        if self.auth_enabled and guest and room not in self.rooms:
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
            hosted.participants.add(frm.resource)
            if hosted.timer:
                hosted.timer.cancel()
                hosted.timer = None
            return
        hosted.participants.discard(frm.resource)
        if hosted.joined and not hosted.participants:
            self.stop(frm.bare, "the last participant left")

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
    auth_enabled = truthy(env("ENABLE_AUTH", "0"))
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
    conferences = Conferences(log, xmpp, focus_jid, xmpp_domain, auth_enabled)
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
