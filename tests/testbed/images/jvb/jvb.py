"""Stand-in for ghcr.io/jitsi/jvb: logs in to prosody as the bridge account,
joins the brewery room and answers the private HTTP API on 8080.

No media: the UDP port is bound so the port mapping has a listener, nothing
more. The "broken" image tag answers /about/health with 500 whatever the
XMPP state, to exercise a rollback.
"""

import os
import socket

from xmpp_standin import BreweryClient, env, fatal, hostname, serve_http, setup_logging

BROKEN = os.path.exists("/usr/local/share/testbed/broken")
VERSION = "2.3.0-testbed-broken" if BROKEN else "2.3.0-testbed"


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

    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind(("0.0.0.0", media_port))  # noqa: S104 - the published media port
    log.info(
        "media UDP port %s bound (no media in the test bed); advertise IPs: %s",
        media_port,
        env("JVB_ADVERTISE_IPS", "(none)"),
    )

    xmpp = BreweryClient(
        log, f"{user}@{auth_domain}", password, server, port, f"{brewery}@{internal_muc}", nick
    )

    def health(_http):
        if BROKEN:
            return 500, "text/plain", "simulated broken release\n"
        if not xmpp.logged_in:
            return 500, "text/plain", f"XMPP not connected: {xmpp.last_error}\n"
        if not xmpp.joined:
            return 500, "text/plain", f"not in the brewery {xmpp.room}\n"
        return 200, "text/plain", ""

    def version(_http):
        return 200, "application/json", {"name": "JVB", "version": VERSION, "os": "Linux"}

    def metrics(_http):
        # Prometheus text as jvb's MetricsContainer(namespace="jitsi_jvb") writes it
        # (jvb VideobridgeMetrics.kt: stress, conferences, local_endpoints gauges). The
        # stand-in relays no media: it hosts no conference, its stress is 0.
        # VideobridgePeriodicMetrics.kt: loss fractions and bitrates, 0 with no media.
        gauges = (
            ("stress", "Current stress (between 0 and 1)."),
            ("conferences", "Current number of conferences."),
            ("local_endpoints", "Number of local endpoints that exist currently."),
            ("incoming_loss_fraction", "Fraction of incoming RTP packets that are lost."),
            ("outgoing_loss_fraction", "Fraction of outgoing RTP packets that are lost."),
            ("loss_fraction", "Fraction of RTP packets that are lost (incoming and outgoing)."),
            ("incoming_bitrate", "Incoming RTP/RTCP bitrate in bps."),
            ("outgoing_bitrate", "Outgoing RTP/RTCP bitrate in bps."),
        )
        lines = []
        for name, text in gauges:
            lines += [
                f"# HELP jitsi_jvb_{name} {text}",
                f"# TYPE jitsi_jvb_{name} gauge",
                f"jitsi_jvb_{name} 0.0",
            ]
        return 200, "text/plain; version=0.0.4; charset=utf-8", "\n".join(lines) + "\n"

    serve_http(
        log,
        "0.0.0.0",  # noqa: S104 - jvb's private API binds all interfaces
        8080,
        {
            ("GET", "/about/health"): health,
            ("GET", "/about/version"): version,
            ("GET", "/metrics"): metrics,
        },
    )
    xmpp.run_forever()


if __name__ == "__main__":
    main()
