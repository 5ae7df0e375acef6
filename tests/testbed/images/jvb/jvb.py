"""Stand-in for ghcr.io/jitsi/jvb: logs in to prosody as the bridge account,
joins the brewery room and answers the private HTTP API on 8080.

No media: the UDP port is bound so the port mapping has a listener, nothing
more. The "broken" image tag answers /about/health with 500 whatever the
XMPP state, to exercise a rollback.

Conferences, drain and graceful shutdown, as the bridge does them (read at
jitsi/jitsi-videobridge a29d97d1, the snapshot of the operations anchors):

- endpoints: a colibri2 <conference-modify xmlns='jitsi:colibri2'> IQ (what
  jicofo sends the bridge it selected) creates the conference (create='true')
  and its <endpoint id=... create='true'/>, and expires an endpoint
  (expire='true') or the whole conference (expire='true' on conference-modify).
  The stand-in takes it from any XMPP sender (a test plays jicofo's colibri part
  for its guest); its session's resource is its brewery nickname, so a sender
  can address jvb@<auth domain>/<JVB_MUC_NICKNAME>. An endpoint lives until it is
  expired: no ICE, no media, so no inactivity timeout.
- drain (rest/root/colibri/drain/Drain.java): POST /colibri/drain/enable and
  /disable answer 200 with no body, GET /colibri/drain {"drain": bool};
  enabled by videobridge.rest.drain.enabled, true in reference.conf and not
  overridden by docker-jitsi-meet's jvb.conf (738058b4), so always on here.
  Drain only sets a flag (Videobridge.setDrainMode, and the drain_mode metric):
  the bridge still takes new conferences; jicofo prefers other bridges.
- graceful shutdown (rest/root/colibri/shutdown/Shutdown.java,
  shutdown/ShutdownManager.kt): POST /colibri/shutdown, Content-Type
  application/json (415 otherwise), {"graceful-shutdown": bool} required (400
  without it); the resource exists only when the COLIBRI API and the shutdown API
  are both enabled (RestConfig.kt; COLIBRI_REST_ENABLED and SHUTDOWN_REST_ENABLED,
  both false by default in docker-jitsi-meet 738058b4 jvb/rootfs/defaults/jvb.conf:
  1,21,78-85), else 404. Graceful: RUNNING -> GRACEFUL_SHUTDOWN (metric
  graceful_shutdown), new conferences are refused (colibri2 service-unavailable,
  "In graceful shutdown", Colibri2Error reason graceful-shutdown), existing ones
  go on and take new endpoints; when the local endpoints fall to
  graceful-shutdown-min-participants (0), or graceful-shutdown-max-duration (24 h)
  passes, SHUTTING_DOWN (metric shutting_down), and the process exits after
  shutting-down-delay (1 min; JVB_TESTBED_SHUTTING_DOWN_DELAY overrides it here)
  with code 0, which the image's s6 finish script turns into a container stop
  (jvb/rootfs/etc/s6-overlay/scripts/jvb-finish). Not graceful: SHUTTING_DOWN at once.
- /metrics (metrics/VideobridgeMetrics.kt, namespace jitsi_jvb): local_endpoints,
  conferences, and the boolean gauges drain_mode, graceful_shutdown,
  shutting_down (1.0 or 0.0).
"""

import json
import os
import socket
import threading
import xml.etree.ElementTree as ET

from slixmpp.exceptions import XMPPError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from xmpp_standin import BreweryClient, env, fatal, hostname, serve_http, setup_logging, truthy

BROKEN = os.path.exists("/usr/local/share/testbed/broken")
VERSION = "2.3.0-testbed-broken" if BROKEN else "2.3.0-testbed"
COLIBRI2 = "jitsi:colibri2"
MIN_PARTICIPANTS = 0  # graceful-shutdown-min-participants (reference.conf)
MAX_DURATION = 24 * 3600  # graceful-shutdown-max-duration


class Bridge:
    """The bridge's conferences, drain flag and shutdown state (thread-safe)."""

    def __init__(self, log, shutting_down_delay):
        self.log = log
        self.lock = threading.Lock()
        self.conferences = {}  # meeting-id -> set of endpoint ids
        self.drain = False  # videobridge.initial-drain-mode: false
        self.state = "RUNNING"
        self.shutting_down_delay = shutting_down_delay

    def endpoints(self):
        with self.lock:
            return sum(len(e) for e in self.conferences.values())

    def set_drain(self, enable):
        self.log.info("Received drain request. enable=%s", enable)
        with self.lock:
            self.drain = enable

    # -- ShutdownManager ------------------------------------------------------------
    def shutdown(self, graceful):
        self.log.info("Received shutdown request, graceful=%s", graceful)
        with self.lock:
            if not graceful:
                self._shutting_down()
            elif self.state == "RUNNING":
                self.state = "GRACEFUL_SHUTDOWN"
                self.log.info(
                    "Entered graceful shutdown mode, will stay in this mode for up to %ss",
                    MAX_DURATION,
                )
                timer = threading.Timer(MAX_DURATION, self._expired)
                timer.daemon = True
                timer.start()
        self.maybe_shutdown()

    def _expired(self):
        with self.lock:
            if self.state == "GRACEFUL_SHUTDOWN":
                self.log.info("Graceful shutdown period expired, changing to SHUTTING_DOWN.")
                self._shutting_down()

    def maybe_shutdown(self):
        count = self.endpoints()
        with self.lock:
            if self.state == "GRACEFUL_SHUTDOWN" and count <= MIN_PARTICIPANTS:
                self.log.info("Entering SHUTTING_DOWN with %s participants.", count)
                self._shutting_down()

    def _shutting_down(self):  # with the lock held
        if self.state == "SHUTTING_DOWN":
            return
        self.state = "SHUTTING_DOWN"
        self.log.info("Will shut down in %ss", self.shutting_down_delay)
        timer = threading.Timer(self.shutting_down_delay, self._exit)
        timer.daemon = True
        timer.start()

    def _exit(self):
        self.log.info("Videobridge is shutting down NOW")
        os._exit(0)  # exit code 0: jvb-finish stops the container

    # -- colibri2 -------------------------------------------------------------------
    def modify(self, meeting, create, expire, endpoints):
        """Apply one conference-modify; returns the endpoints created."""
        with self.lock:
            if meeting not in self.conferences:
                if expire:
                    return []
                if not create:
                    raise XMPPError(
                        "item-not-found",
                        text=f"Conference not found for ID: {meeting}",
                        etype="cancel",
                    )
                if self.state != "RUNNING":  # createGracefulShutdownErrorResponse
                    raise XMPPError(
                        "service-unavailable",
                        text="In graceful shutdown",
                        etype="cancel",
                        extension="error",
                        extension_ns=COLIBRI2,
                        extension_args={"reason": "graceful-shutdown"},
                    )
                self.conferences[meeting] = set()
                self.log.info("Created conference %s", meeting)
            conference = self.conferences[meeting]
            created = []
            for endpoint, ep_create, ep_expire in endpoints:
                if ep_expire:
                    conference.discard(endpoint)
                    self.log.info("Expired endpoint %s in %s", endpoint, meeting)
                elif ep_create:
                    conference.add(endpoint)
                    created.append(endpoint)
                    self.log.info("Created endpoint %s in %s", endpoint, meeting)
            if expire:
                self.conferences.pop(meeting, None)
                self.log.info("Expired conference %s", meeting)
            elif not conference and not created:
                self.conferences.pop(meeting, None)  # the last endpoint expired
        self.maybe_shutdown()
        return created


def main():
    log = setup_logging("JVB")
    password = env("JVB_AUTH_PASSWORD")
    if not password:
        fatal("JVB auth password must be set")
    user = env("JVB_AUTH_USER", "jvb")
    auth_domain = env("XMPP_AUTH_DOMAIN", "auth.meet.jitsi")
    server = env("XMPP_SERVER", "xmpp.meet.jitsi").split(",")[0].strip()
    port = int(env("XMPP_PORT", "5222"))
    brewery = env("JVB_BREWERY_MUC", "jvbbrewery")
    internal_muc = env("XMPP_INTERNAL_MUC_DOMAIN", "internal-muc.meet.jitsi")
    nick = env("JVB_MUC_NICKNAME", hostname())
    media_port = int(env("JVB_PORT", "10000"))
    colibri_rest = truthy(env("COLIBRI_REST_ENABLED", "false"))
    shutdown_rest = truthy(env("SHUTDOWN_REST_ENABLED", "false"))
    bridge = Bridge(log, float(env("JVB_TESTBED_SHUTTING_DOWN_DELAY", "60")))

    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind(("0.0.0.0", media_port))  # noqa: S104 - the published media port
    log.info(
        "media UDP port %s bound (no media in the test bed); advertise IPs: %s",
        media_port,
        env("JVB_ADVERTISE_IPS", "(none)"),
    )

    xmpp = BreweryClient(
        log,
        f"{user}@{auth_domain}/{nick}",  # the resource: where a colibri2 sender finds it
        password,
        server,
        port,
        f"{brewery}@{internal_muc}",
        nick,
    )

    def on_client(client):
        def conference_modify(iq):
            el = iq.xml.find(f"{{{COLIBRI2}}}conference-modify")
            meeting = el.get("meeting-id", "")
            if not meeting:
                raise XMPPError("bad-request", text="meeting-id is missing", etype="modify")
            endpoints = [
                (
                    ep.get("id", ""),
                    ep.get("create") == "true",
                    ep.get("expire") == "true",
                )
                for ep in el.findall(f"{{{COLIBRI2}}}endpoint")
            ]
            created = bridge.modify(
                meeting, el.get("create") == "true", el.get("expire") == "true", endpoints
            )
            reply = iq.reply(clear=True)
            answer = ET.SubElement(reply.xml, f"{{{COLIBRI2}}}conference-modified")
            answer.set("meeting-id", meeting)
            for endpoint in created:
                ET.SubElement(answer, f"{{{COLIBRI2}}}endpoint", id=endpoint)
            reply.send()

        client.register_handler(
            Callback(
                "colibri2 conference-modify",
                MatchXPath(f"{{jabber:client}}iq/{{{COLIBRI2}}}conference-modify"),
                conference_modify,
            )
        )

    xmpp.on_client.append(on_client)

    def health(_http):
        # jvb's health asks the ICE harvesters only, never the XMPP connection
        # (jitsi-videobridge @37e8d7c8 jvb/src/main/kotlin/org/jitsi/videobridge/health/
        # JvbHealthChecker.kt check(): "TODO: check if XmppConnection is configured and
        # connected", the same since the Kotlin rewrite): a bridge with a wrong password or
        # no prosody is healthy, and only jicofo's health ("No operational bridges") shows it.
        if BROKEN:
            return 500, "text/plain", "simulated broken release\n"
        return 200, "text/plain", ""

    def version(_http):
        return 200, "application/json", {"name": "JVB", "version": VERSION, "os": "Linux"}

    def metrics(_http):
        # Prometheus text as jvb's MetricsContainer(namespace="jitsi_jvb") writes it
        # (jvb VideobridgeMetrics.kt: stress, conferences, local_endpoints gauges; the
        # boolean drain_mode, graceful_shutdown, shutting_down). The stand-in relays no
        # media: its stress is 0. VideobridgePeriodicMetrics.kt: loss fractions and
        # bitrates, 0 with no media.
        with bridge.lock:
            conferences = len(bridge.conferences)
            endpoints = sum(len(e) for e in bridge.conferences.values())
            drain, state = bridge.drain, bridge.state
        gauges = (
            ("stress", "Current stress (between 0 and 1).", 0),
            ("conferences", "Current number of conferences.", conferences),
            ("local_endpoints", "Number of local endpoints that exist currently.", endpoints),
            ("drain_mode", "Whether the bridge is in drain shutdown mode.", drain),
            (
                "graceful_shutdown",
                "Whether the bridge is in graceful shutdown mode (not accepting new conferences).",
                state != "RUNNING",
            ),
            ("shutting_down", "Whether the bridge is shutting down.", state == "SHUTTING_DOWN"),
            ("incoming_loss_fraction", "Fraction of incoming RTP packets that are lost.", 0),
            ("outgoing_loss_fraction", "Fraction of outgoing RTP packets that are lost.", 0),
            ("loss_fraction", "Fraction of RTP packets that are lost (incoming and outgoing).", 0),
            ("incoming_bitrate", "Incoming RTP/RTCP bitrate in bps.", 0),
            ("outgoing_bitrate", "Outgoing RTP/RTCP bitrate in bps.", 0),
        )
        lines = []
        for name, text, value in gauges:
            lines += [
                f"# HELP jitsi_jvb_{name} {text}",
                f"# TYPE jitsi_jvb_{name} gauge",
                f"jitsi_jvb_{name} {float(value)}",
            ]
        return 200, "text/plain; version=0.0.4; charset=utf-8", "\n".join(lines) + "\n"

    def drain_state(_http):
        with bridge.lock:
            return 200, "application/json", {"drain": bridge.drain}

    def drain_on(_http):
        bridge.set_drain(True)
        return 200, "text/plain", ""

    def drain_off(_http):
        bridge.set_drain(False)
        return 200, "text/plain", ""

    def shutdown(http):
        ctype = (http.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return 415, "text/plain", "Unsupported Media Type\n"
        try:
            body = json.loads(http.body or b"null")
            graceful = body["graceful-shutdown"]
            if not isinstance(graceful, bool):
                raise TypeError(graceful)
        except (ValueError, KeyError, TypeError):
            return 400, "text/plain", "graceful-shutdown is required\n"
        bridge.shutdown(graceful)
        return 200, "text/plain", ""

    routes = {
        ("GET", "/about/health"): health,
        ("GET", "/about/version"): version,
        ("GET", "/metrics"): metrics,
        ("GET", "/colibri/drain"): drain_state,
        ("POST", "/colibri/drain/enable"): drain_on,
        ("POST", "/colibri/drain/disable"): drain_off,
    }
    if colibri_rest and shutdown_rest:
        routes[("POST", "/colibri/shutdown")] = shutdown
    serve_http(log, "0.0.0.0", 8080, routes)  # noqa: S104 - jvb's private API binds all interfaces
    xmpp.run_forever()


if __name__ == "__main__":
    main()
